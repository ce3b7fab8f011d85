"""``detbench compare``: every detector x tracker pair, tables with bootstrap intervals."""
from __future__ import annotations

import click

from detbench.cliopts import Seed, TrackerHelpOption, executor_options
from detbench.core.errors import InputError


@click.command("compare", epilog="""\b
Examples:
  detbench compare --detectors epoch10,epoch30 --trackers trackssm,botsort --data runs/data/nuscenes --tune
  detbench compare --detectors all --trackers botsort --run stable_v3 --data runs/data/nuscenes
""")
@click.option("--detectors", required=True, help="Comma-separated detector names (epoch<N> or .pth paths), or 'all' "
              "for every checkpoint of the run. The change is reported from the first to the last.")
@click.option("--trackers", default="trackssm,botsort", show_default=True, cls=TrackerHelpOption,
              help="Comma-separated trackers.")
@click.option("--data", "data_dir", required=True, type=click.Path(file_okay=False), help="Prepared dataset (runs/data/NAME).")
@click.option("--run", default=None, help="Training run the detector names refer to (default: the latest).")
@click.option("--split", default="val", show_default=True, help="Reporting split.")
@click.option("--name", default="default", show_default=True, help="Writes results/NAME/.")
@click.option("--tracker-opt", "tracker_opts", multiple=True, metavar="TRACKER:KEY=VALUE",
              help="Override a tracker option, e.g. botsort:track_buffer_s=3 or a clean-up option such as "
                   "botsort:nms_iou=0.5 (trackers/cleanup.py) (repeatable).")
@click.option("--tuned/--no-tuned", default=True, show_default=True,
              help="--tuned: each pair runs with the setting `detbench tune` chose for that tracker on that "
              "detector checkpoint (same dataset, --tune-split, fixed options); a missing tuning stops with exit 2 "
              "naming the `detbench tune` command to run. --no-tuned: every pair runs with the tracker's defaults.")
@click.option("--tune", "tune_missing", is_flag=True, help="Run the missing tunings first (implies --tuned).")
@click.option("--tune-split", default="tune", show_default=True, help="The split tunings come from.")
@click.option("--resamples", default=2000, show_default=True, type=click.IntRange(10, 100000),
              help="Bootstrap resamples.")
@click.option("--seed", default=0, show_default=True, type=Seed, help="Bootstrap seed.")
@click.option("--device", default="cpu", show_default=True)
@click.option("--jobs", default=None, type=click.IntRange(1, 1024),
              help="Worker processes for tracking and scoring [default: 1; with --executor ray, the CPUs of the "
                   "local Ray instance: every core].")
@executor_options
@click.option("--results-dir", default="results", show_default=True, type=click.Path(file_okay=False))
def command(detectors, trackers, data_dir, run, split, name, tracker_opts, tuned, tune_missing, tune_split, resamples,
            seed, device, jobs, executor, ray_address, results_dir):
    """Track and evaluate every (detector, tracker) pair of a split, reusing every cache, and write
    results/NAME/comparison.{md,csv,json} + plots: IDSW, MOTA, HOTA, IDF1, DetA, AssA, FP, FN, MT, ML
    per pair, per-class IDSW, the change between detectors with a 95 % paired bootstrap interval
    over scenes (all cameras of a scene resampled together) and a verdict where a paired
    permutation test over the scenes gives p < 0.05, the likely cause of each ID switch
    (the switches TrackEval counts; exit code 3 if the causes do not add up to the IDSW column), and
    the options each pair ran with."""
    from pathlib import Path

    from rich.console import Console

    from detbench.cliopts import check_executor_options, parse_tracker_options
    from detbench.commands.progress import task_bar
    from detbench.compare.options import ComparisonOptions, RunContext
    from detbench.compare.pipeline import run_comparison
    from detbench.detect.resolved import resolve_detectors
    from detbench.executor_choice import make_executor

    console = Console(stderr=True)
    if tune_missing and not tuned:
        raise InputError("--tune runs the missing tunings for --tuned; it cannot be combined with --no-tuned")
    check_executor_options(executor, ray_address)
    opts = parse_tracker_options(tracker_opts)
    dets = [d.strip() for d in detectors.split(",") if d.strip()]
    trks = [t.strip() for t in trackers.split(",") if t.strip()]
    options = ComparisonOptions(name=name, tracker_options=opts, use_tuned=tuned, tune_missing=tune_missing,
                                tune_split=tune_split, n_resamples=resamples, seed=seed)
    with task_bar(console) as on_tasks, make_executor(executor, jobs, ray_address, on_tasks) as ex:
        resolved = resolve_detectors(dets, Path(data_dir), split, run, device=device, executor=ex)  # once, here
        result = run_comparison(resolved, trks, options, RunContext(
            results_root=Path(results_dir), executor=ex,
            progress=lambda s: console.print(f"[dim]tracking + evaluating[/] {s}")))
    for source in result["detector_sources"].values():   # which run, checkpoint and cache each name meant
        click.echo(source["used"])
    print_summary(result, Path(results_dir) / name, reused=result["reused"])
    failed = [p for p in result["pairs"] if p["status"] != "ok"]
    if failed:
        raise click.exceptions.Exit(1)


# the keys of run_comparison's "reused" (detbench.compare.pipeline) in words: (one, several)
REUSED_WORDS = {"detections": ("detection cache", "detection caches"), "tunings": ("tuning", "tunings"),
                "tracks": ("tracking result", "tracking results"), "metrics": ("evaluation", "evaluations")}


def reuse_text(reused) -> str:
    """``reused from earlier runs: 2 detection caches, 1 evaluation`` (``reused``: run_comparison's ``reused`` counts)."""
    said = [f"{n} {REUSED_WORDS.get(k, (k, k))[n != 1]}" for k, n in reused.items() if n]
    return "reused from earlier runs: " + (", ".join(said) if said else "nothing (all computed now)")


def _console():
    from rich.console import Console

    console = Console()
    return Console(width=max(console.width, 132))  # 12 numeric columns must not be truncated


def print_summary(result: dict, out_dir, reused=None) -> None:
    """The pair table, where the files went (and what was reused), then :func:`print_answer`.
    ``result``: what run_comparison returns or comparison.json holds."""
    console = _console()
    print_pairs(result, console)
    console.print(f"wrote {out_dir}/comparison.md, .csv, .json and plots", markup=False, soft_wrap=True)
    if reused is not None:
        console.print(reuse_text(reused), markup=False, soft_wrap=True)
    print_answer(result, console)


def print_pairs(result: dict, console=None) -> None:
    """The table of every (detector, tracker) pair (ratios in %)."""
    from rich.markup import escape
    from rich.table import Table

    from detbench.compare.report import _fmt, row_metrics

    table = Table(title=f"comparison {result['name']} ({result['split']}, {result['n_sequences']} sequences of "
                        f"{result['n_scenes']} scenes; ratios in %)")
    cols = row_metrics()
    for col in ("detector", "tracker", *cols):
        table.add_column(col, justify="left" if col in ("detector", "tracker") else "right")
    for p in result["pairs"]:
        cells = [_fmt(m, p["overall"].get(m)) for m in cols] if p["status"] == "ok" else ["—"] * len(cols)
        table.add_row(escape(p["detector"]), escape(p["tracker"]), *cells)
    (console or _console()).print(table)


def print_answer(result: dict, console=None) -> None:
    """The change table (values, change, 95 % interval, scenes, verdict) and one sentence per tracker,
    in the units of every table (:mod:`detbench.compare.changes`)."""
    from rich.markup import escape
    from rich.table import Table

    from detbench.compare import changes

    deltas = changes.deltas(result)
    if not deltas:
        return
    console = console or _console()
    a, b = deltas[0]["from"], deltas[0]["to"]
    metrics = list(dict.fromkeys(m for d in deltas for m in d["metrics"]))
    table = Table(title=f"change {a} -> {b} (95 % paired bootstrap interval over scenes)",
                  caption=escape(changes.units_note(metrics)))
    for col in ("tracker", "metric", a, b, "change", "95 % CI", "scenes (seqs)", "verdict"):
        table.add_column(escape(col), justify="right" if col in (a, b, "change", "scenes (seqs)") else "left")
    for d in deltas:
        for metric, r in d["metrics"].items():
            table.add_row(*map(escape, (d["tracker"], metric, changes.value_text(r, "value_a"),
                                        changes.value_text(r, "value_b"), changes.change_text(r, with_unit=False),
                                        changes.interval_text(r), f"{r['n_scenes']} ({r['n_sequences']})",
                                        changes.verdict_cell(r, d["to"]))))
    console.print(table)
    for line in changes.answers(result):
        console.print(line, markup=False, soft_wrap=True)
