"""``detbench prepare``: nuScenes (real or synthetic) -> COCO json + MOT ground truth."""
from __future__ import annotations

import click

from detbench.cliopts import FiniteFloat
from detbench.core.classes import CLASSES


@click.command("prepare")
@click.option("--dataroot", required=True, type=click.Path(file_okay=False, path_type=str),
              help="Folder holding <version>/*.json tables (and samples/, sweeps/, maps/).")
@click.option("--version", "version", required=True,
              help="Table folder under the dataroot: v1.0-mini, v1.0-trainval, v1.0-synth, ...")
@click.option("--cameras", default="all", show_default=True,
              help="Comma list of camera channels (CAM_FRONT,CAM_BACK,...) or 'all'.")
@click.option("--splits", default=None,
              help="Comma list of splits to write (default: each of train,val,tune that has scenes). "
                   "Real nuScenes: official splits (tune held out of train); synthetic: <dataroot>/splits.json.")
@click.option("--min-visibility", type=click.IntRange(0, 4), default=0, show_default=True,
              help="Consider annotations with visibility level >= N (1: 0-40%, 2: 40-60%, 3: 60-80%, "
                   "4: 80-100%); the others become ignore rows.")
@click.option("--min-size", type=FiniteFloat(min=0), default=5.0, show_default=True,
              help="2D boxes narrower or lower than this many pixels become ignore rows.")
@click.option("--out", type=click.Path(file_okay=False, path_type=str), default=None,
              help="Output folder (default: <runs>/data/<name>).")
@click.option("--name", default=None, help="Dataset name under <runs>/data (default: the dataroot's folder name).")
def command(dataroot, version, cameras, splits, min_visibility, min_size, out, name):
    """Project nuScenes 3D annotations into each camera keyframe and write detector training
    data (COCO json per split) and tracking ground truth (one MOT sequence per scene x camera).

    Boxes the filters leave out (too small, too occluded, no lidar and no radar points, or of a
    look-alike category such as ambulances, construction vehicles, strollers) are written as
    ignore rows (gt.txt consider flag 0, COCO iscrowd 1): eval and eval-det neither miss them
    nor count a result on them. The table counts them in 'ignored'.

    \b
    Example:
      detbench synth runs/synth/mini --scenes 4 --cameras CAM_FRONT,CAM_BACK
      detbench prepare --dataroot runs/synth/mini --version v1.0-synth --cameras CAM_FRONT
      detbench prepare --dataroot /data/nuscenes --version v1.0-mini --name nuscenes-mini
    """
    from rich.console import Console
    from rich.table import Table

    from detbench.data.prepare import prepare

    split_list = None if splits is None else [s.strip() for s in splits.split(",") if s.strip()]
    from detbench.commands.progress import lazy_bar

    with lazy_bar() as bar:
        out_dir, summary = prepare(dataroot, version, cameras=cameras, splits=split_list,
                                   min_visibility=min_visibility, min_size=min_size, out=out, name=name,
                                   progress=lambda done, total: bar(done, total, f"prepare {version}"))
    table = Table(title=f"prepared {out_dir}")
    for col in ("split", "sequences", "frames", *CLASSES, "boxes", "ignored"):
        table.add_column(col, justify="left" if col == "split" else "right")
    for split, s in summary.items():
        table.add_row(split, str(s["sequences"]), str(s["frames"]), *(str(s["boxes"][c]) for c in CLASSES),
                      str(sum(s["boxes"].values())), str(sum(s["ignored"].values())))
    console = Console()
    console.width = max(console.width, 120)  # the per-class table is wide; never squash it
    console.print(table)
    _warn_missing_images(out_dir)
    from detbench.compare.readiness import compare_notes

    for note in compare_notes(out_dir):
        click.echo(f"note: {note}")


def _warn_missing_images(out_dir) -> None:
    """The tables name keyframe images the dataroot lacks: say so now, not in `train`/`detect`."""
    import json
    from pathlib import Path

    from detbench.data.layout import PreparedDataset

    data = PreparedDataset(out_dir)
    root = Path(data.meta["dataroot"])
    images = [f["image"] for split, seqs in data.meta["sequences"].items() for s in seqs
              for f in json.loads(data.frames_file(split, s).read_text())]
    missing = [p for p in images if not (root / p).is_file()]
    if missing:
        click.echo(f"warning: {root}: {len(missing)} of {len(images)} keyframe images are missing "
                   f"(e.g. {', '.join(missing[:3])}); `detbench train` and `detect` need them", err=True)
