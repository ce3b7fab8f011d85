"""``detbench show-tracks``: render a sequence's tracks, coloured by id, switches marked."""
from __future__ import annotations

import click


@click.command("show-tracks", epilog="Example: detbench show-tracks --tracks runs/tracks/epoch30/botsort "
               "--data runs/data/demo --seq synth-0011_CAM_FRONT")
@click.option("--tracks", "tracks_dir", type=click.Path(file_okay=False), default=None,
              help="Tracking results folder (<seq>.txt); default runs/tracks/DETECTOR/TRACKER.")
@click.option("--detector", default=None, help="With --tracker: use runs/tracks/DETECTOR/TRACKER.")
@click.option("--tracker", default=None)
@click.option("--data", "data_dir", required=True, type=click.Path(file_okay=False), help="Prepared dataset.")
@click.option("--split", default="val", show_default=True)
@click.option("--seq", required=True, help="Sequence name, <scene>_<CAM>.")
@click.option("--out", default=None, type=click.Path(file_okay=False), help="Output folder (default: next to the tracks).")
@click.option("--scale", default=0.5, show_default=True, help="Resize factor of the written frames.")
@click.option("--max-frames", default=None, type=int)
def command(tracks_dir, detector, tracker, data_dir, split, seq, out, scale, max_frames):
    """Draw every track box coloured by its id over the sequence's images, mark each ID switch (red,
    with its likely cause), and write PNG frames plus an animated GIF."""
    from pathlib import Path

    from detbench import paths
    from detbench.data.layout import PreparedDataset
    from detbench.errors import InputError
    from detbench.render.tracks import render_tracks

    if tracks_dir is None:
        if not (detector and tracker):
            raise InputError("give --tracks DIR, or --detector and --tracker")
        tracks_dir = paths.tracks_dir(detector, tracker)
    tracks_dir, data_dir = Path(tracks_dir), Path(data_dir)
    results = tracks_dir / f"{seq}.txt"
    if not results.is_file():
        raise InputError(f"{results}: no tracking results for sequence {seq!r}")
    data = PreparedDataset(data_dir)
    seq_dir = data.seq_dir(split, seq)
    if not seq_dir.is_dir():
        raise InputError(f"{seq_dir}: sequence not found in split {split!r}")
    meta = data.meta if data.exists() else {}
    image_root = Path(meta["dataroot"]) if "dataroot" in meta else None
    out_dir = Path(out) if out else tracks_dir / "render" / seq
    r = render_tracks(seq_dir, results, out_dir, image_root=image_root, scale=scale, max_frames=max_frames)
    click.echo(f"wrote {len(r['frames'])} frames and {r['gif']} ({r['switches']} ID switches marked) to {out_dir}")
