"""``evaluate_folders``: true tracking metrics of MOT result files against MOT ground truth.

Returns ``{"overall": S, "per_class": {class name: S}, "per_sequence": {seq: S}}`` where every
``S`` holds exactly the keys of :data:`detbench.evaluate.metric_specs.SPECS` (ratios as fractions, counts as
ints). ``classes="per-class"``: each class is scored on its own (a GT box of class c is matched
only by results of class c) and classes are combined by summing counts; ``per_class`` lists the
classes present in the GT or the results. ``classes="agnostic"``: the class column is ignored
and ``per_class`` is empty. A results file without classes (no class column, or class -1: the
MOTChallenge format) is never re-labelled: in per-class mode its sequence is scored
class-agnostically, counts in ``overall`` and ``per_sequence`` but in no ``per_class`` row, and
is listed in ``class_agnostic`` (a key present only then). Ground-truth ignore rows (consider flag 0) first take the result
boxes an optimal assignment gives them and are then dropped (:mod:`detbench.evaluate.ignore`):
they are never misses and a result on them is neither a TP nor an FP. With ``check=True``
(``detbench eval --check``; off by default since it roughly doubles the time) every sequence is
cross-checked with motmetrics on the same filtered tables. ``trackeval_hota=True`` scores HOTA
with TrackEval's own class instead of its identical vectorised subclass (the reference path).

Each sequence is scored as TrackEval scores one: :class:`detbench.evaluate.dataset.DetbenchMOT`
(a TrackEval dataset class) loads and preprocesses it, TrackEval's metric classes (HOTA as
:class:`detbench.evaluate.hota_fast.FastHOTA`, CLEAR, Identity, and the motmetrics check as
:class:`detbench.evaluate.motmetrics_check.MotmetricsCheck`) score it; sequences are combined
with the metrics' own combine methods (:mod:`detbench.evaluate.combine`).
"""
from __future__ import annotations

from contextlib import nullcontext
from pathlib import Path
from typing import Callable

from detbench.core.classes import CLASSES
from detbench.core.errors import InputError
from detbench.evaluate import combine as comb
from detbench.evaluate import trackeval_adapter as te
from detbench.evaluate.dataset import DetbenchMOT, eval_sequence, load_matched  # noqa: F401 - load_matched: API
from detbench.evaluate.loading import SequenceFiles, pair_sequences
from detbench.evaluate.matching import AGNOSTIC
from detbench.evaluate.motmetrics_check import MotmetricsCheck
from detbench.executors import Executor, LocalExecutor

CLASS_MODES = ("per-class", "agnostic")


def score_sequence(files: SequenceFiles, per_class: bool, iou: float, check: bool = False,
                   trackeval_hota: bool = False):
    """Score one sequence through :class:`DetbenchMOT` -> (name, {group or None: TrackEval results})."""
    checks = (MotmetricsCheck(iou),) if check else ()
    return files.name, eval_sequence(DetbenchMOT([files], per_class), files.name,
                                     te.metrics(iou, trackeval_hota), checks)


def _warm_up(iou: float, check: bool, trackeval_hota: bool) -> None:
    """Import TrackEval (and motmetrics) and build the metric objects before the worker pool
    forks, so that each worker does not pay for the imports again; freeze the imported objects
    out of the garbage collector's scans (they live as long as the process)."""
    import gc

    te.metrics(iou, trackeval_hota)
    if check:
        import motmetrics  # noqa: F401
    gc.freeze()


def _score_star(args):
    return score_sequence(*args)


def evaluate_folders(gt_dir: str | Path, results_dir: str | Path, classes: str = "per-class",
                     iou: float = 0.5, jobs: int = 1, check: bool = False,
                     progress: Callable[[str], None] | None = None, hota_counts: bool = False,
                     trackeval_hota: bool = False, executor: Executor | None = None) -> dict:
    """Score every ``<results_dir>/<seq>.txt`` against ``<gt_dir>/<seq>/gt/gt.txt``.

    ``jobs`` worker processes score sequences in parallel, or ``executor``'s tasks
    (:mod:`detbench.executors`); the results depend on neither;
    ``progress(seq)`` is called as each sequence finishes. ``hota_counts`` adds ``"hota_counts":
    {seq: {"HOTA_TP", "HOTA_FN", "HOTA_FP", "AssA": [19 per-alpha values]}}`` (the sequence's classes
    combined as TrackEval combines them), enough to recombine HOTA over any set of sequences.
    """
    if classes not in CLASS_MODES:
        raise InputError(f"--classes {classes!r}: expected one of {', '.join(CLASS_MODES)}")
    if not 0.0 < float(iou) <= 1.0:
        raise InputError(f"--iou {iou}: expected a threshold in (0, 1]")
    per_class = classes == "per-class"
    pairs = pair_sequences(gt_dir, results_dir)
    tasks = [(f, per_class, float(iou), check, trackeval_hota) for f in pairs]
    scored: dict[str, dict] = {}
    if executor is None and jobs > 1 and len(tasks) > 1:
        _warm_up(float(iou), check, trackeval_hota)  # import once here: forked workers inherit the modules
    workers = executor.workers if executor is not None else jobs
    chunk = max(1, min(32, len(tasks) // (4 * workers)))
    with nullcontext(executor) if executor is not None else LocalExecutor(min(jobs, len(tasks)), start="fork") as ex:
        for name, r in ex.map(_score_star, tasks, chunksize=chunk):
            scored[name] = r
            if progress:
                progress(name)
    scored = dict(sorted(scored.items()))
    overall, per_group, per_sequence = comb.combine(scored, float(iou))
    out = {
        "overall": comb.summarize(overall),
        "per_class": ({CLASSES[g - 1]: comb.summarize(r) for g, r in per_group.items() if g != AGNOSTIC}
                      if per_class else {}),
        "per_sequence": {s: comb.summarize(r) for s, r in per_sequence.items()},
    }
    agnostic = [s for s, groups in scored.items() if AGNOSTIC in groups] if per_class else []
    if agnostic:  # class-less results: in the overall and per-sequence rows, in no class's row
        out["class_agnostic"] = agnostic
    if hota_counts:
        out["hota_counts"] = {s: {k: [float(v) for v in r["HOTA"][k]] for k in ("HOTA_TP", "HOTA_FN", "HOTA_FP", "AssA")}
                              for s, r in per_sequence.items()}
    return out
