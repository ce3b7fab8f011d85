"""``detbench sensitivity``: tracker metrics against detection recall, FP, localisation, scores, classes."""
from __future__ import annotations

from contextlib import contextmanager

import click

from detbench.cliopts import Seed, TrackerHelpOption, executor_options
from detbench.core import paths


@click.command("sensitivity", epilog="""\b
Examples:
  detbench sensitivity --gt tests/fixtures/nuscenes-mini-real/sequences --trackers botsort,trackssm,bytetrack,ocsort,iou
  detbench sensitivity --gt SEQS --grid recall,fp --values recall=1,0.8,0.6 --values fp=0,2,5
  detbench sensitivity --data runs/data/nuscenes --split val --detector epoch10,epoch30 --name nusc-val
  detbench sensitivity --gt SEQS --detector runs/detections/3f2a9c1d0e4b --axes recall,fp --seeds 3
  detbench sensitivity --gt SEQS --axes fp --cleanup nms_iou=0.5   # each tracker with and without clean-up

\b
Axes (default grids; the base point in brackets):
  recall     fraction of GT boxes detected, misses as single boxes and runs of 2-4 frames
             1, 0.9, 0.7, 0.5  [0.9]
  fp         false positives per frame, half at random places, half duplicates near objects
             0, 1, 4  [1]
  jitter     centre and log-size noise, fraction of box size     0, 0.05, 0.15  [0.05]
  score      ROC AUC of true-box vs false-box scores (binormal)   1, 0.9, 0.7  [0.9]
  confusion  fraction of boxes given a wrong class                0, 0.15  [0]
The zero-degradation point (every GT box, exact, score 1) is always run, and the report explains
each tracker's shortfall from HOTA 1 / IDSW 0 there.

\b
Writes results/sensitivity/NAME/sensitivity.{md,csv,json} and IDSW/HOTA/AssA/DetA/MOTA.png.
Every (point, seed, tracker) run is cached under runs/sensitivity/cache/, keyed by the content of
its inputs: a rerun recomputes only what changed.
""")
@click.option("--gt", "gt_dir", type=click.Path(file_okay=False), default=None,
              help="Ground-truth sequences folder (<seq>/gt/gt.txt + seqinfo.ini), e.g. a prepared split's "
                   "runs/data/NAME/sequences/val or the real fixture.")
@click.option("--data", "data_dir", type=click.Path(file_okay=False), default=None,
              help="Prepared dataset (runs/data/NAME): --gt defaults to its --split; needed for --detector epochN.")
@click.option("--split", default="val", show_default=True, help="Split of --data.")
@click.option("--trackers", default=None, cls=TrackerHelpOption,
              help="Comma-separated trackers [default: all registered].")
@click.option("--axes", "axes_text", default=None, help="Comma-separated axes to vary [default: all five].")
@click.option("--grid", "grid_text", default=None, metavar="A,B", help="A 2-D grid over two axes (e.g. recall,fp) "
              "instead of one axis at a time.")
@click.option("--values", "values", multiple=True, metavar="AXIS=V1,V2,...", help="Replace an axis's grid (repeatable).")
@click.option("--base", "base_opts", multiple=True, metavar="AXIS=V", help="Move the base point (repeatable).")
@click.option("--seeds", default=2, show_default=True, type=click.IntRange(1, 100),
              help="Seeds per point (the zero-degradation point is deterministic: one run).")
@click.option("--seed", "first_seed", default=0, show_default=True, type=Seed, help="First seed.")
@click.option("--detector", "detectors", multiple=True, help="Place a real detector on the curves: epoch<N> / .pth "
              "(with --data), a detection cache dir or a folder of MOT detection files (repeatable, or comma-separated).")
@click.option("--run", default=None, help="Training run that epoch<N> names refer to (default: the latest).")
@click.option("--device", default="cpu", show_default=True, help="Device for detecting with --detector epochN.")
@click.option("--name", default=None, help="Writes results/sensitivity/NAME/ [default: 'fixture' for a folder under "
              "a 'fixtures' directory, else the dataset (and split) folder name].")
@click.option("--tracker-opt", "tracker_opts", multiple=True, metavar="TRACKER:KEY=VALUE",
              help="Override a tracker option, e.g. trackssm:weights=runs/motion/m1 (repeatable).")
@click.option("--cleanup", "cleanup_opts", multiple=True, metavar="KEY=VALUE",
              help="Also run every tracker with these detection clean-up options (trackers/cleanup.py: nms_iou, "
                   "nms_fuse, nms_merge, min_box_px, recal_band, box_buffer), as a series '<tracker>+cleanup' next to the plain one, "
                   "e.g. --cleanup nms_iou=0.5 (repeatable; doubles the runs).")
@click.option("--jobs", default=None, type=click.IntRange(1, 1024),
              help="Worker processes [default: 2; with --executor ray, the CPUs of the local Ray instance: every core].")
@executor_options
@click.option("--resamples", default=1000, show_default=True, type=click.IntRange(10, 100000),
              help="Bootstrap resamples for the bands.")
@click.option("--results-dir", default="results", show_default=True, type=click.Path(file_okay=False))
def command(jobs, executor, ray_address, **options):
    """How each tracker's IDSW, HOTA, AssA, DetA and MOTA respond to detection quality.

    Degrades the ground truth along five axes (recall, false positives, localisation, score
    separation, class confusion), one at a time around a base point (or a 2-D --grid), tracks
    every point with every tracker over several seeds, scores it with TrackEval per class, and
    plots each metric against each axis with scene-level bands. --detector measures a real
    detector's recall, FP per frame, localisation error, score separation and confusion on the
    same ground truth and marks it on every plot.
    """
    from rich.console import Console

    from detbench.cliopts import check_executor_options
    from detbench.executor_choice import make_executor
    from detbench.sensitivity.request import Study, write_study
    from detbench.sensitivity.study import run_study

    check_executor_options(executor, ray_address)
    study = Study.from_options(**options)
    study.check_writable()
    console = Console(stderr=True)
    with _progress_bar(console) as (on_total, progress), \
            make_executor(executor, jobs, ray_address, local_jobs=2) as ex:
        result = run_study(study, paths.runs_root() / "sensitivity" / "cache", ex, progress, on_total)
        jobs = ex.workers  # recorded: how many ran at once (a Ray cluster's CPUs)
    write_study(study, result, jobs)
    _print_summary(console, result, study.out_dir)
    if result["units"]["failed"]:
        raise click.exceptions.Exit(1)


@contextmanager
def _progress_bar(console):
    """(on_total, progress) callbacks of a bar shown once the inputs are checked (no bar before
    an input error), stopped on the way out."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    bar = Progress(TextColumn("[bold]sensitivity[/]"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                   TextColumn("{task.description}"), console=console)
    task = bar.add_task("", total=None)

    def start(total: int) -> None:
        bar.update(task, total=total)
        bar.start()

    try:
        yield start, lambda s: bar.update(task, advance=1, description=s)
    finally:
        bar.stop()


def _print_summary(console, result: dict, out_dir) -> None:
    """Runs, where the files went, and each tracker's zero-degradation figures."""
    u = result["units"]
    console.print(f"{u['total']} runs ({u['cached']} cached, {u['computed']} computed, {len(u['failed'])} failed) "
                  f"in {result['seconds']:.0f} s; wrote {out_dir}/sensitivity.md, .csv, .json and "
                  f"{len(result['plots'])} plots")
    for z in result["zero_point"]:
        m = z["measured"]
        if m:
            fn_2hz = z["predicted"].get("init_fn_2hz")
            said = (f"predicted from init rules at 2 Hz: {fn_2hz}" if fn_2hz is not None
                    else "no initialisation rule known for this tracker")
            console.print(f"zero degradation, {z['tracker']}: HOTA {100 * m['HOTA']:.1f}  IDSW {m['IDSW']}  "
                          f"FN {m['FN']} ({said})")
