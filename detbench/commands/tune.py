"""``detbench tune``: grid-search a tracker's thresholds on the tuning split."""
from __future__ import annotations

import click

from detbench.cliopts import TrackerHelpOption, executor_options
from detbench.core.devices import check_device


@click.command("tune", epilog="""\b
Examples (one tuning per detector x tracker pair):
  detbench tune --tracker botsort --detector epoch10 --run stable_v3 --data runs/data/nuscenes
  detbench tune --tracker trackssm --detector epoch30 --run stable_v3 --data runs/data/nuscenes \\
      --tracker-opt weights=runs/motion/nuscenes
""")
@click.option("--tracker", required=True, cls=TrackerHelpOption, help="Tracker to tune.")
@click.option("--detector", required=True, help="Detector whose detections are tracked (epoch<N> or a .pth).")
@click.option("--data", "data_dir", required=True, type=click.Path(file_okay=False), help="Prepared dataset.")
@click.option("--run", default=None, help="Training run of the detector (default: the latest).")
@click.option("--split", default="tune", show_default=True, help="Split to tune on.")
@click.option("--report-split", default="val", show_default=True, help="The split tables report: none of its files is read here (its sequence names only, to check that it shares no scene with --split).")
@click.option("--device", default="cpu", show_default=True)
@click.option("--tracker-opt", "tracker_opts", multiple=True, metavar="KEY=VALUE",
              help="A fixed tracker option kept for every grid point, e.g. weights=runs/motion/demo or a clean-up "
                   "option outside the grid (nms_fuse=noisy_or, min_box_px=8, recal_band=0.2, "
                   "box_buffer=0.3) (repeatable).")
@click.option("--jobs", default=None, type=click.IntRange(1, 1024),
              help="Worker processes for tracking and scoring [default: 1; with --executor ray, the CPUs of the "
                   "local Ray instance: every core].")
@executor_options
def command(tracker, detector, data_dir, run, split, report_split, device, tracker_opts, jobs, executor,
            ray_address):
    """Try a small grid (3 x 3 x 3 x 3 = 81 points, the same size for every tracker: two of the
    tracker's thresholds, its lost-track buffer, and the detection clean-up's class-agnostic NMS
    IoU nms_iou in 1.0 (off), 0.7, 0.5) on the tuning split and save the best (max HOTA, then fewest ID switches) for this detector checkpoint, dataset and
    split: runs/tune/TRACKER/DETECTOR__DATA__SPLIT__KEY.json, which `detbench compare --tuned`
    uses for this (detector, tracker) pair only."""
    from detbench.cliopts import check_executor_options
    from detbench.commands.progress import task_bar
    from detbench.executor_choice import make_executor

    check_executor_options(executor, ray_address)
    if executor == "local":   # with ray, detection runs on the cluster's machines (checked there)
        check_device(device)
    from detbench.detect.resolved import resolve
    from detbench.evaluate import metric_specs
    from detbench.tuning.tune import tune

    def show(options, overall):
        click.echo(f"  {options}: " + "  ".join(f"{m} {metric_specs.spec(m).display(overall[m])}"
                                                for m in metric_specs.shown("tune_progress")))

    from trackers.base import parse_option_strings

    source = resolve(detector, data_dir, split, run, device=device)   # the detector, resolved once
    with task_bar() as on_tasks, make_executor(executor, jobs, ray_address, on_tasks) as ex:
        path = tune(tracker, source, report_split, base_options=parse_option_strings(tracker_opts), progress=show,
                    tell=click.echo, executor=ex)
    import json

    best = json.loads(path.read_text())["best"]
    click.echo(f"best for {tracker}: {best['options']} (HOTA {100 * best['HOTA']:.2f}, IDSW {best['IDSW']}) -> {path}")
