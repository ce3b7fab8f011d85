"""``detbench track``: run a tracker over every sequence of a split and write MOT results."""
from __future__ import annotations

import click

from detbench.cliopts import TrackerHelpOption
from detbench.threads import available_cores

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
              help="External detections: <seq>.txt rows frame,-1,x,y,w,h,score[,class] or MOTChallenge's "
                   "frame,-1,x,y,w,h,score,-1,-1,-1 (no class: tracked as one class, tracks written with class "
                   "-1) (needs --sequences).")
@click.option("--sequences", "seq_dir", default=None, type=click.Path(file_okay=False),
              help="MOTChallenge-layout sequences for --dets: <seq>/seqinfo.ini [+ frames.json].")
@click.option("--tracker-opt", "tracker_opts", multiple=True, metavar="KEY=VALUE",
              help="Tracker parameter override (repeatable); unknown keys are an error. Every tracker also "
                   "takes the detection clean-up options (trackers/cleanup.py, all off by default): "
                   "nms_iou=0.5 (class-agnostic NMS), nms_fuse=max|noisy_or, nms_merge=top|wbf, "
                   "min_box_px=8, recal_band=0.2, box_buffer=0.3 (the tracker matches boxes widened by 0.3 x "
                   "their size on each side; reported boxes are narrowed back).")
@click.option("--jobs", type=click.IntRange(1, 64), default=min(4, available_cores()), show_default=True,
              help="Worker processes (results do not depend on it).")
@click.option("--device", default="cpu", show_default=True, help="Device for computing missing detections.")
@click.option("--out", "out_dir", default=None, type=click.Path(file_okay=False),
              help="Output folder (default runs/tracks/<run>-epoch<N>/<tracker>/ for a run's checkpoint, "
                   "runs/tracks/<dets folder>/<tracker>/ for --dets).")
@click.option("--force", is_flag=True, help="Recompute even when the output holds the same inputs.")
def command(tracker, detector, run_name, data_dir, split, dets_dir, seq_dir, tracker_opts, jobs, device,
            out_dir, force):
    """Run TRACKER over every sequence of a split (from the detection cache of --detector, or from
    external --dets/--sequences files) and write <seq>.txt MOT results plus meta.json."""
    from detbench.commands.progress import lazy_bar
    from detbench.core.devices import check_device
    from detbench.data.layout import find_dataset
    from detbench.detect.resolved import resolve
    from detbench.tracking.sources import check_source_options
    from detbench.tracking.track import track
    from trackers.base import parse_option_strings

    options = parse_option_strings(tracker_opts)
    check_source_options(detector, dets_dir, seq_dir)   # which source first, then the detector, resolved once
    device = check_device(device)
    resolved = resolve(detector, data_dir or find_dataset(), split, run_name, device=device) if detector else None
    with lazy_bar(transient=True) as bar:
        r = track(tracker, options, detector=resolved, dets_dir=dets_dir, seq_dir=seq_dir, out_dir=out_dir,
                  jobs=jobs, force=force, progress=lambda done, total: bar(done, total, f"tracking ({tracker})"),
                  tell=click.echo)
    how = "reused (same inputs)" if r.reused else "wrote"
    click.echo(f"{how} {len(r.meta['sequences'])} sequences, {r.rows} track boxes -> {r.out_dir}")
    if r.meta.get("class_agnostic"):
        click.echo(f"note: {dets_dir}: {len(r.meta['class_agnostic'])} of {len(r.meta['sequences'])} detection "
                   f"files have no class (class -1 or no class column): tracked as one class, tracks written "
                   f"with class -1 (eval scores them class-agnostically)", err=True)
    if r.hint:
        click.echo(f"warning: {r.hint}", err=True)
