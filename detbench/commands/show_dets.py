"""``detbench show-dets``: draw cached detections over a sequence's images."""
from __future__ import annotations

import click

from detbench.cliopts import FiniteFloat
from detbench.core import paths
from detbench.core.errors import InputError
from detbench.core.fileio import ensure_writable

EPILOG = """\b
Example:
  detbench show-dets --detector epoch6 --data runs/data/demo --seq scene-0001_CAM_FRONT --out dets_png
  detbench show-dets --cache runs/detections/3f9c0a1b --data runs/data/demo --seq scene-0001_CAM_FRONT \\
      --video --out scene1.mp4
"""


@click.command("show-dets", epilog=EPILOG)
@click.option("--detector", default=None, help="Checkpoint name or .pth (its cache is computed if missing).")
@click.option("--cache", type=click.Path(file_okay=False, exists=True), default=None,
              help="Or an existing detection cache directory.")
@click.option("--run", default=None)
@click.option("--data", required=True, help="Prepared dataset: a folder or a name under runs/data.")
@click.option("--split", default="val", show_default=True)
@click.option("--seq", required=True, help="Sequence name <scene>_<CAM>.")
@click.option("--score-thr", default=0.3, show_default=True, type=FiniteFloat(0, 1), help="Draw boxes with score >= this.")
@click.option("--max-frames", default=0, type=click.IntRange(0), help="Only the first N frames (0: all).")
@click.option("--video", is_flag=True, help="Write one MP4 (at the sequence frame rate) instead of PNGs.")
@click.option("--out", required=True, type=click.Path(), help="Output folder for PNGs, or the .mp4 path.")
@click.option("--device", default="auto", show_default=True)
def command(detector, cache, run, data, split, seq, score_thr, max_frames, video, out, device):
    """Draw detections (coloured by class, labelled with score) over a sequence's keyframes."""
    from pathlib import Path

    from detbench.data.layout import find_dataset
    from detbench.detect.api import detect, split_frames
    from detbench.detect.cache import read_sequence_detections
    from detbench.detect.options import resolve_device
    from detbench.detect.render import render_detections

    data_dir = find_dataset(data)
    if (detector is None) == (cache is None):
        raise InputError("show-dets: give exactly one of --detector or --cache")
    from detbench.data.layout import PreparedDataset

    ensure_writable(out, "video" if video else "images", inputs={
        "--data": data_dir, "--cache": cache, "images": PreparedDataset(data_dir).meta.get("dataroot"),
        "detection caches": paths.detections_root()})
    if cache:
        cache_dir = Path(cache)
    else:
        from detbench.commands.progress import detect_bar

        with detect_bar() as progress:
            cache_dir = detect(detector, data_dir, split, run=run, device=resolve_device(device),
                               progress=progress).cache_dir
    frames = split_frames(data_dir, split)
    if seq not in frames:
        raise InputError(f"{data_dir}: split {split!r} has no sequence {seq!r} "
                         f"(e.g. {', '.join(list(frames)[:3])})")
    dets = read_sequence_detections(cache_dir, seq)
    images = [f.image for f in frames[seq]]
    if len(images) != len(dets):
        raise InputError(f"{cache_dir}: {seq} has {len(dets)} cached keyframes, the dataset {len(images)}")
    if max_frames > 0:
        images, dets = images[:max_frames], dets[:max_frames]
    written = render_detections(images, dets, Path(out), score_thr, video=video)
    click.echo(f"wrote {len(written) if not video else 1} {'video' if video else 'PNG file(s)'} to {out}")
