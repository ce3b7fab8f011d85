"""``detbench synth``: write a synthetic dataset in the exact nuScenes format."""
from __future__ import annotations

import click

from detbench.cliopts import Seed
from detbench.core.fileio import ensure_writable
from detbench.demo import DemoConfig

# the help's example is the demo's own dataset, read from the demo's config so the two cannot drift apart
_DEMO = DemoConfig()
_LOOK = "" if _DEMO.style == "default" else _DEMO.style
_DEMO_DATA = f"{_DEMO.scenes} scenes x {_DEMO.keyframes} keyframes x {_DEMO.camera}" + (f", {_LOOK}" if _LOOK else "")
_DEMO_COMMAND = (f"detbench synth runs/synth --scenes {_DEMO.scenes} --keyframes {_DEMO.keyframes} "
                 f"--cameras {_DEMO.camera}" + (f" --style {_LOOK}" if _LOOK else "") + f" --seed {_DEMO.data_seed}")
HELP = f"""Write a nuScenes database (13 tables, map, splits.json) with rendered 1600x900 images to OUT.

    \b
    Example (the dataset `detbench demo` writes: {_DEMO_DATA}):
      {_DEMO_COMMAND}
      python -c "from nuscenes.nuscenes import NuScenes; NuScenes('v1.0-synth', 'runs/synth')"
    """


@click.command("synth", help=HELP)
@click.argument("out", type=click.Path(file_okay=False))
@click.option("--scenes", type=int, default=2, show_default=True, help="Number of scenes (about 20 s each at 40 keyframes).")
@click.option("--keyframes", type=int, default=6, show_default=True, help="Keyframes (samples, 2 Hz) per scene.")
@click.option("--cameras", default="all", show_default=True,
              help="Comma-separated cameras to render, among CAM_FRONT, CAM_FRONT_RIGHT, CAM_BACK_RIGHT, "
                   "CAM_BACK, CAM_BACK_LEFT, CAM_FRONT_LEFT, or 'all' (the six of nuScenes' rig).")
@click.option("--sweeps", is_flag=True, help="Also render the 12 Hz camera sweeps between keyframes.")
@click.option("--seed", type=Seed, default=0, show_default=True, help="Same seed, byte-identical output.")
@click.option("--version", "version", default="v1.0-synth", show_default=True, help="Table folder name (NuScenes version).")
@click.option("--style", default="default", show_default=True, type=click.Choice(["default", "dusk"]),
              help="Appearance of the images: default, or dusk (dim warm light, low contrast, more grain; "
                   "the same scenes and annotations).")
@click.option("--force", is_flag=True, help="Replace OUT if it exists and is not empty.")
def command(out, scenes, keyframes, cameras, sweeps, seed, version, style, force):
    import json
    from pathlib import Path

    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn

    from detbench.commands.progress import lazy_bar
    from detbench.data.synthetic import CAMERAS, write_dataset

    ensure_writable(out, "synthetic dataset")
    cams = (CAMERAS if cameras.strip().lower() == "all"
            else tuple(c.strip() for c in cameras.split(",") if c.strip()))
    per_scene = keyframes + (5 * (keyframes - 1) if sweeps else 0)
    total = max(scenes, 0) * max(per_scene, 0) * len(cams)
    done = [0]
    with lazy_bar(TextColumn("synth"), BarColumn(), MofNCompleteColumn(), TextColumn("images"),
                  TimeElapsedColumn(), transient=True,
                  line=lambda c, t, d: f"synth: {c}/{t} images") as bar:
        def rendered(n: int) -> None:
            done[0] += n
            bar(done[0], total)

        bar(0, total)
        write_dataset(out, scenes=scenes, keyframes=keyframes, cameras=cams, sweeps=sweeps, seed=seed,
                      version=version, style=style, force=force, progress=rendered)
    s = json.loads((Path(out) / "synth.json").read_text())
    splits = json.loads((Path(out) / "splits.json").read_text())
    con = Console(soft_wrap=True)
    con.print(f"wrote {out}: {s['scenes']} scenes, {s['images']} images ({', '.join(s['cameras'])}"
              f"{', with 12 Hz sweeps' if s['sweeps'] else ''}), {s['annotations']} annotations of "
              f"{s['instances']} instances")
    con.print("per class: " + ", ".join(f"{k} {v}" for k, v in s["annotations_per_class"].items())
              + f"; other categories {s['annotations'] - sum(s['annotations_per_class'].values())}")
    con.print("splits: " + ", ".join(f"{k} {len(v)}" for k, v in splits.items()))

