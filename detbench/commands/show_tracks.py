"""``detbench show-tracks``: render a sequence's tracks, coloured by id, switches marked."""
from __future__ import annotations

import click

from detbench.cliopts import FiniteFloat


@click.command("show-tracks", epilog="Example: detbench show-tracks --tracks "
               "runs/tracks/stable_v3-epoch30/botsort --data runs/data/demo --seq synth-0011_CAM_FRONT")
@click.option("--tracks", "tracks_dir", type=click.Path(file_okay=False), default=None,
              help="Tracking results folder (<seq>.txt); default where `detbench track` wrote --detector "
                   "with --tracker (runs/tracks/RUN-epochN/TRACKER).")
@click.option("--detector", default=None, help="With --tracker: the tracks `detbench track --detector` wrote.")
@click.option("--run", default=None, help="Training run of --detector (default: the most recent).")
@click.option("--tracker", default=None)
@click.option("--data", "data_dir", required=True, type=click.Path(file_okay=False), help="Prepared dataset.")
@click.option("--split", default="val", show_default=True)
@click.option("--seq", required=True, help="Sequence name, <scene>_<CAM>.")
@click.option("--out", default=None, type=click.Path(file_okay=False), help="Output folder (default: next to the tracks).")
@click.option("--scale", default=0.5, show_default=True, type=FiniteFloat(0, 4, min_open=True),
              help="Resize factor of the written frames.")
@click.option("--max-frames", default=None, type=click.IntRange(1), help="Only the first N frames.")
def command(tracks_dir, detector, run, tracker, data_dir, split, seq, out, scale, max_frames):
    """Draw every track box coloured by its id over the sequence's images, mark each ID switch (red,
    with its likely cause), and write PNG frames plus an animated GIF."""
    from detbench.render.tracks import show_tracks

    r = show_tracks(data_dir, seq, split, tracks_dir=tracks_dir, detector=detector, tracker=tracker, out=out,
                    scale=scale, max_frames=max_frames, run=run)
    click.echo(f"wrote {len(r['frames'])} frames and {r['gif']} ({r['switches']} ID switches marked) to "
               f"{r['out_dir']}")
