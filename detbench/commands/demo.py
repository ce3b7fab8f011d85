"""``detbench demo``: the whole pipeline on synthetic data, on a laptop CPU."""
from __future__ import annotations

import click


@click.command("demo", epilog="Example: detbench demo   (about 10 minutes on 2 CPU cores; `make demo` runs it)")
@click.option("--out", default="results/demo", show_default=True, type=click.Path(file_okay=False),
              help="Where the comparison tables, plots and training report go.")
@click.option("--scenes", default=24, show_default=True, help="Synthetic scenes (train/val/tune split 70/20/10).")
@click.option("--keyframes", default=16, show_default=True, help="Keyframes (2 Hz) per scene.")
@click.option("--device", default="cpu", show_default=True)
def command(out, scenes, keyframes, device):
    """synth -> prepare -> train (base, then head-only Stable V3 shape) -> eval-det -> train-motion ->
    compare TrackSSM and BoT-SORT on an early and the final checkpoint -> training report, in one
    command. Big artifacts go under runs/ ($DETBENCH_RUNS); small tables and plots to --out."""
    from pathlib import Path

    from detbench.demo import DemoConfig, run_demo

    summary = run_demo(Path(out), DemoConfig(scenes=scenes, keyframes=keyframes, device=device), say=click.echo)
    click.echo("\n[demo] finished in {:.0f} s".format(summary["timings_s"]["total"]))
    for key in ("comparison", "detector_ap", "training_report", "dataset", "motion_model", "render"):
        click.echo(f"  {key:16s} {summary[key]}")
    click.echo(f"  {'training runs':16s} {', '.join(summary['runs'])}")
