"""``detbench track``: run a tracker over every sequence of a split and write MOT results."""
from __future__ import annotations

import os

import click

from detbench.cliopts import TrackerHelpOption

EPILOG = """\b
Examples:
  detbench track --detector epoch30 --tracker botsort --data runs/data/mini --split val
  detbench track --tracker iou --dets my_dets/ --sequences runs/data/mini/sequences/val \\
      --out runs/tracks/mydet/iou --tracker-opt max_age_s=2
"""


@click.command("track", epilog=EPILOG)
@click.option("--tracker", required=True, cls=TrackerHelpOption, help="Tracker to run.")
@click.option("--detector", default=None, help="Checkpoint name (epoch<N>, last) or .pth path; "
              "detections come from its cache, computed when missing.")
@click.option("--run", "run_name", default=None, help="Training run of --detector (default: most recent).")
@click.option("--data", "data_dir", default=None, type=click.Path(file_okay=False),
              help="Prepared dataset (default: the only one under runs/data).")
@click.option("--split", default="val", show_default=True)
@click.option("--dets", "dets_dir", default=None, type=click.Path(file_okay=False),
              help="External detections: <seq>.txt rows frame,-1,x,y,w,h,score[,class] (needs --sequences).")
@click.option("--sequences", "seq_dir", default=None, type=click.Path(file_okay=False),
              help="MOTChallenge-layout sequences for --dets: <seq>/seqinfo.ini [+ frames.json].")
@click.option("--tracker-opt", "tracker_opts", multiple=True, metavar="KEY=VALUE",
              help="Tracker parameter override (repeatable); unknown keys are an error. Every tracker also "
                   "takes the detection clean-up options (trackers/cleanup.py, all off by default): "
                   "nms_iou=0.5 (class-agnostic NMS), nms_fuse=max|noisy_or, nms_merge=top|wbf, "
                   "min_box_px=8, recal_band=0.2.")
@click.option("--jobs", type=int, default=min(4, os.cpu_count() or 1), show_default=True,
              help="Worker processes (results do not depend on it).")
@click.option("--device", default="cpu", show_default=True, help="Device for computing missing detections.")
@click.option("--out", "out_dir", default=None, type=click.Path(file_okay=False),
              help="Output folder (default runs/tracks/<detector>/<tracker>/).")
@click.option("--force", is_flag=True, help="Recompute even when the output holds the same inputs.")
def command(tracker, detector, run_name, data_dir, split, dets_dir, seq_dir, tracker_opts, jobs, device,
            out_dir, force):
    """Run TRACKER over every sequence of a split (from the detection cache of --detector, or from
    external --dets/--sequences files) and write <seq>.txt MOT results plus meta.json."""
    from pathlib import Path

    from rich.progress import Progress

    from detbench import paths
    from detbench.data.layout import find_dataset
    from detbench.errors import InputError
    from detbench.tracking.run import track_split
    from detbench.tracking.sources import from_cache, from_external
    from trackers.base import parse_option_strings

    from detbench.devices import check_device

    options = parse_option_strings(tracker_opts)
    check_device(device)
    if dets_dir or seq_dir:
        if not (dets_dir and seq_dir):
            raise InputError("--dets and --sequences go together (detections + sequence info)")
        if detector:
            raise InputError("give either --detector or --dets/--sequences, not both")
        jobs_list = from_external(dets_dir, seq_dir)
        out = Path(out_dir) if out_dir else paths.tracks_dir(Path(dets_dir).resolve().name, tracker)
        extra = {"dets_dir": str(dets_dir), "sequences_dir": str(seq_dir)}
    else:
        if not detector:
            raise InputError("give --detector (detection cache) or --dets with --sequences")
        data = Path(data_dir) if data_dir else find_dataset()
        from detbench.detect.api import ensure_detections

        cache_dir = ensure_detections(detector, data, split, run=run_name, device=device)
        jobs_list = from_cache(cache_dir, data, split)
        out = Path(out_dir) if out_dir else paths.tracks_dir(Path(detector).stem, tracker)
        extra = {"detector": detector, "run": run_name, "cache_dir": str(cache_dir), "data_dir": str(data),
                 "split": split}
    from detbench.fileio import ensure_writable

    ensure_writable(out, "tracking results")
    with Progress(transient=True) as bar:
        task = bar.add_task(f"tracking ({tracker})", total=len(jobs_list))
        meta = track_split(jobs_list, tracker, out, options, n_jobs=jobs, extra_meta=extra, force=force,
                           progress=lambda _: bar.advance(task))
    rows = sum(s.get("rows", 0) for s in meta["sequences"].values())
    how = "reused (same inputs)" if meta.get("reused") else "wrote"
    click.echo(f"{how} {len(meta['sequences'])} sequences, {rows} track boxes -> {out}")
    if rows == 0:
        hint = _why_no_tracks(jobs_list, meta.get("params") or {}, tracker, detector)
        if hint:
            click.echo(f"warning: {hint}", err=True)


def _why_no_tracks(jobs_list, params: dict, tracker: str, detector) -> str | None:
    """No track box at all: count the detections under each score threshold of the tracker."""
    import numpy as np

    scores = np.concatenate([d[:, 4] for j in jobs_list for d in j.load_detections()] or [np.zeros(0)])
    if not len(scores):
        return "the detections are empty: there was nothing to track"
    skip = ("match", "iou", "proximity", "appearance")
    thresholds = {k: v for k, v in params.items() if isinstance(v, float) and not isinstance(v, bool)
                  and ("thresh" in k or k in ("min_score", "min_conf")) and not any(s in k for s in skip)}
    below = ", ".join(f"{int((scores < v).sum())} under {k}={v:g}" for k, v in sorted(thresholds.items(),
                                                                                   key=lambda kv: -kv[1]))
    tune = f"detbench tune --tracker {tracker}" + (f" --detector {detector}" if detector else "")
    return (f"0 track boxes from {len(scores)} detections scoring at most {scores.max():.3g}"
            + (f" ({below})" if below else "") + f": the tracker's score thresholds sit above this "
            f"detector's scores; lower them with --tracker-opt KEY=VALUE or run `{tune}`")
