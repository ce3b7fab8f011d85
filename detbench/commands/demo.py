"""``detbench demo``: the whole pipeline on synthetic data, on a laptop CPU."""
from __future__ import annotations

from contextlib import contextmanager

import click

from detbench.cliopts import Seed

EPILOG = """\b
Examples:
  detbench demo                          (about 5 minutes on 2 CPU cores)
  detbench demo --seed 1                 (another training seed: the spread of the result)
  detbench demo --out results/demo       (what `make demo` runs: also replaces results/demo/, unless it
                                         holds these results already)
"""


@click.command("demo", epilog=EPILOG)
@click.option("--out", default=None, type=click.Path(file_okay=False),
              help="Also copy the tables, plots and training report here, atomically at the end. Must be "
                   "missing, empty, or an earlier demo's output, and is left as it is when it holds the same "
                   "results (only run folders, times, versions and hashes differ) (default: only under the run's "
                   "folder).")
@click.option("--seed", default=0, show_default=True, type=Seed, help="Training seed of the head-only stage.")
@click.option("--scenes", default=40, show_default=True, type=click.IntRange(5),
              help="Synthetic scenes (train/val/tune split 70/20/10).")
@click.option("--keyframes", default=8, show_default=True, type=click.IntRange(2), help="Keyframes (2 Hz) per scene.")
@click.option("--base", default=None, type=click.Path(dir_okay=False),
              help="Pretrained base for the head-only stage (default: the committed weights/demo_base/).")
@click.option("--style", default="dusk", show_default=True, type=click.Choice(["dusk", "default"]),
              help="Look of the demo's images (`synth --style`); the base was trained on the default look.")
@click.option("--device", default="cpu", show_default=True)
def command(out, seed, scenes, keyframes, base, style, device):
    """synth -> prepare -> head-only training from a pretrained base (Stable V3 shape) -> eval-det ->
    train-motion -> tune -> compare TrackSSM and BoT-SORT on an early and the final checkpoint ->
    training report, in one command. Everything goes to a fresh folder runs/demo/<time>-seed<N>-*/
    (under $DETBENCH_RUNS or --runs-dir); nothing that exists is deleted or overwritten."""
    from pathlib import Path

    from detbench.demo import DemoConfig, run_demo

    cfg = DemoConfig(scenes=scenes, keyframes=keyframes, seed=seed, base=base or "", style=style, device=device)
    summary = run_demo(Path(out) if out else None, cfg, say=click.echo, progress=_bar)
    click.echo("\n[demo] finished in {:.0f} s".format(summary["timings_s"]["total"]))
    for key in ("results", "comparison", "detector_ap", "training_report", "runs", "dataset", "training_run",
                "motion_model", "render"):
        click.echo(f"  {key:16s} {summary[key]}")
    print_tables(Path(summary["comparison"]).with_suffix(".json"))


def print_tables(comparison_json) -> None:
    """The demo ends with compare's tables: every pair, then the change with its interval and verdict,
    and one sentence per tracker."""
    import json
    from pathlib import Path

    from detbench.commands.compare import print_answer, print_pairs

    result = json.loads(Path(comparison_json).read_text(encoding="utf-8"))
    click.echo("")
    print_pairs(result)
    print_answer(result)


def _bar(kind: str):
    """The demo's progress bars (:data:`detbench.demo.Progress`): the stage's own command's bar."""
    from detbench.commands import progress

    if kind == "train":
        return progress.train_bar()
    if kind == "eval-det":
        return progress.bar_per_key(progress.detect_bar)
    if kind == "train-motion":
        return progress.motion_bar()
    return _count_bar(kind)


@contextmanager
def _count_bar(kind: str):
    """``callback(done, total)`` drawing ``<kind> [bar] ...`` (synth images, prepare samples, tune grid points)."""
    from detbench.commands.progress import lazy_bar

    with lazy_bar() as update:
        yield lambda done, total: update(done, total, kind)
