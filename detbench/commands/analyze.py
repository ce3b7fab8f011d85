"""``detbench analyze``: the training analysis report of one run, or several side by side."""
from __future__ import annotations

import click


@click.command("analyze", epilog="""\b
Examples:
  detbench analyze demo                      # runs/train/demo/analysis/{report.md,report.json,*.png}
  detbench analyze runs/train/demo --out /tmp/a
  detbench analyze clean_v2 smooth stable_v3 # results/analysis/clean_v2_vs_smooth_vs_stable_v3/
""")
@click.argument("runs", nargs=-1, required=True)
@click.option("--out", type=click.Path(file_okay=False), default=None,
              help="Output directory (default <run>/analysis for one run, "
                   "results/analysis/<a>_vs_<b> for several).")
@click.option("--no-plots", is_flag=True, help="One run: write report.md/report.json only.")
def command(runs, out, no_plots):
    """Training analysis report from a run's log.jsonl (every iteration).

    RUN is a run directory or a run name under runs/train/. One run gives report.md,
    report.json and three plots: training_complete_analysis.png (loss per iteration, LR with
    phases shaded, components per epoch, epoch mean +- std), training_early_epochs.png and
    lr_schedule.png. Phases come from the run's recipe.json; the report gives per-phase loss
    changes, overall reduction, std/CV and a stability verdict (post-warmup CV < 5 % = very
    stable, < 10 % = stable), spikes (> 1.5 x the rolling median of the 20 preceding
    iterations), the 5 best epochs and a recommended checkpoint. Several runs give one
    comparison table (recipe settings + figures) and overlaid loss and LR curves.

    A truncated or partly corrupt log (a killed run) is analysed as far as it goes, with a
    warning per bad line (file:line).
    """
    from detbench.analysis import compare_runs, report

    if len(runs) == 1:
        path, rep = report.analyze_run(runs[0], out, with_plots=not no_plots)
        for w in rep["warnings"]:
            click.echo(f"warning: {w}", err=True)
        st, rec = rep["stability"], rep["recommended"]
        click.echo(f"{rep['run']['name']}: {rep['run']['iterations']} iterations, loss "
                   f"{rep['overall']['initial_loss']:.4g} -> {rep['overall']['final_loss']:.4g}, "
                   f"{st['verdict'] or 'n/a'}, recommended "
                   f"{'epoch ' + str(rec['epoch']) if rec else 'none (no complete epoch)'}")
    else:
        path, res = compare_runs.compare(list(runs), out)
        for name, rep in res["runs"].items():
            for w in rep["warnings"]:
                click.echo(f"warning: {name}: {w}", err=True)
    click.echo(f"wrote {path}/report.md")
