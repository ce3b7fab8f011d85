"""``detbench eval``: HOTA / CLEAR / Identity of MOT results against MOT ground truth."""
from __future__ import annotations

import os

import click

from detbench.cliopts import FiniteFloat
from detbench.core.errors import InputError
from detbench.core.fileio import atomic_write_json, ensure_writable
from detbench.core.provenance import make_meta
from detbench.threads import available_cores

EPILOG = """\b
Example:
  detbench eval --gt runs/data/mini/sequences/val --results runs/tracks/epoch30/botsort \\
      --json runs/tracks/epoch30/botsort/metrics.json
"""


@click.command("eval", epilog=EPILOG)
@click.option("--gt", "gt_dir", required=True, type=click.Path(),
              help="Ground truth, MOTChallenge layout: <seq>/gt/gt.txt (+ seqinfo.ini).")
@click.option("--results", "results_dir", required=True, type=click.Path(),
              help="Tracker results: one <seq>.txt per ground-truth sequence.")
@click.option("--classes", type=click.Choice(["per-class", "agnostic"]), default="per-class",
              show_default=True, help="Score each class separately (summing counts) or ignore classes.")
@click.option("--iou", type=FiniteFloat(0, 1, min_open=True), default=0.5, show_default=True,
              help="IoU threshold of CLEAR and Identity matching (HOTA uses its own alphas).")
@click.option("--json", "json_out", type=click.Path(dir_okay=False), default=None,
              help="Write overall / per_class / per_sequence metrics here (atomically).")
@click.option("--jobs", type=click.IntRange(1, 64), default=min(4, available_cores()), show_default=True,
              help="Worker processes scoring sequences in parallel.")
@click.option("--check/--no-check", default=False, show_default=True,
              help="Cross-check every sequence with motmetrics (about twice the time); exit 3 on a "
                   "disagreement.")
@click.option("--trackeval-hota", is_flag=True,
              help="Score HOTA with TrackEval's own class (slower reference path; same numbers).")
@click.option("--per-sequence/--summary", default=True, help="Show one row per sequence.")
def command(gt_dir, results_dir, classes, iou, json_out, jobs, check, trackeval_hota, per_sequence):
    """Score tracking results: HOTA, DetA, AssA, LocA (TrackEval HOTA), MOTA, MOTP, IDSW,
    Frag, FP, FN, TP, MT, PT, ML (CLEAR), IDF1, IDP, IDR (Identity), per sequence, per class
    and overall. HOTA runs TrackEval's HOTA class with its per-alpha loop vectorised (every
    field identical to TrackEval's, tested; --trackeval-hota runs TrackEval's unchanged).

    With --check, motmetrics re-counts every sequence: identity counts must agree exactly, CLEAR
    counts on every frame before the two libraries' documented matching rules first pick
    different pairs; any other disagreement stops with exit code 3.

    Ground-truth ignore rows (consider flag 0: boxes prepare filtered out) are never misses;
    before scoring, each frame's result boxes that one optimal assignment over all ground-truth
    boxes (IoU >= 0.5) gives to an ignore row are removed, so they are neither TP nor FP."""
    from rich.console import Console
    from rich.progress import Progress

    from detbench.evaluate.api import evaluate_folders
    from detbench.evaluate.loading import pair_sequences
    from detbench.evaluate.metric_specs import higher_is_better
    from detbench.evaluate.table import render

    if json_out:
        # before the work and the table, not after; beside the results is fine, over them is not
        from pathlib import Path

        ensure_writable(json_out, "--json file", inside_ok=True, inputs={
            "--gt": gt_dir, "--results": results_dir, "results file": sorted(Path(results_dir).glob("*.txt"))})
    pairs = pair_sequences(gt_dir, results_dir)
    _check_ground_truth(pairs, gt_dir)
    total = len(pairs)
    with Progress(transient=True) as bar:
        task = bar.add_task("evaluating sequences", total=total)
        result = evaluate_folders(gt_dir, results_dir, classes=classes, iou=iou, jobs=jobs,
                                  check=check, trackeval_hota=trackeval_hota,
                                  progress=lambda _: bar.advance(task))
    console = Console()
    if not console.is_terminal:  # piped / captured: do not squeeze the table to 80 columns
        console = Console(width=180)
    console.print(render(result, per_sequence=per_sequence))
    if result.get("class_agnostic"):
        click.echo(_class_agnostic_note(result["class_agnostic"], len(pairs), results_dir), err=True)
    if json_out:
        meta = make_meta("eval", {"classes": classes, "iou": iou, "motmetrics_check": check,
                                  "trackeval_hota": trackeval_hota},
                         {"gt": os.path.abspath(gt_dir), "results": os.path.abspath(results_dir)})
        atomic_write_json(json_out, {**result, "higher_is_better": higher_is_better(), "meta": meta})
        click.echo(f"wrote {json_out}")


def _check_ground_truth(pairs, gt_dir) -> None:
    """Empty gt.txt files score MOTA as -FP x 100 %: no ground truth at all is an error, some
    empty sequences a warning naming them (a camera may really see nothing)."""

    empty = [f.gt_path for f in pairs if not f.gt_path.read_text(encoding="utf-8", errors="replace").strip()]
    if not empty:
        return
    names = ", ".join(str(p) for p in empty[:3]) + (", ..." if len(empty) > 3 else "")
    if len(empty) == len(pairs):
        raise InputError(f"{gt_dir}: no ground truth to score against: every gt.txt is empty ({names}); "
                         f"MOTA and HOTA are undefined")
    click.echo(f"warning: {len(empty)} of {len(pairs)} gt.txt files are empty ({names}): every result "
               f"box there is a false positive", err=True)


def _class_agnostic_note(seqs: list[str], total: int, results_dir) -> str:
    """One line, once: which result files had no class and how they were scored."""
    which = "" if len(seqs) == total else ": " + ", ".join(f"{s}.txt" for s in seqs[:2]) + (", ..." if len(seqs) > 2 else "")
    return (f"note: {results_dir}: {len(seqs)} of {total} result files have no class (class -1 or no class column"
            f"{which}): scored class-agnostically (a box may match any class), in OVERALL and their sequences' "
            f"rows, in no class row")
