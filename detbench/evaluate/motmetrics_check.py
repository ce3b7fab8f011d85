"""Cross-check TrackEval's CLEAR and Identity counts with motmetrics (DESIGN trap 7).

motmetrics gets detbench's IoU (distance ``1 - IoU``, NaN below the threshold, NaN across
groups so per-class scoring is kept) and one accumulator per sequence; object / hypothesis keys
are ``(group, id)`` so that one accumulator equals the per-class accumulators summed.
Compared exactly: IDTP, IDFP, IDFN (one global assignment, defined identically in both), and
the totals TP + FN (GT boxes) and TP + FP (result boxes).
TP / FP / FN / IDSW: both libraries keep last frame's matches and then solve an assignment, but
their tie rules differ in two documented places: (1) when a GT box has several candidates at
IoU >= threshold, TrackEval maximises summed IoU while motmetrics maximises the number of matches
first; (2) when a GT object is matched again after frames without a match (a re-acquisition),
motmetrics prefers the result id it had last, TrackEval only the previous frame's. These counts
must therefore agree exactly in sequences without such boxes, and otherwise within the number
of *ambiguous* GT boxes (several candidates, or a candidate shared with another GT box) plus
re-acquisitions. Anything else raises :class:`EvaluationMismatch`: a disagreement is an error.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from detbench.data.mot import ID
from detbench.errors import DetbenchError
from detbench.evaluate.matching import SequenceMatch

MM_METRICS = ["num_matches", "num_switches", "num_false_positives", "num_misses", "idtp", "idfp", "idfn"]


class EvaluationMismatch(DetbenchError):
    """TrackEval and motmetrics disagree on a count: the evaluation cannot be trusted."""

    exit_code = 3


@lru_cache(maxsize=1)
def _metrics_host():
    import motmetrics as mm

    return mm.metrics.create()


def motmetrics_counts(seq: SequenceMatch, iou: float = 0.5) -> dict[str, int]:
    """CLEAR / identity counts of one sequence according to motmetrics."""
    import motmetrics as mm

    gt_keys = seq.gt_group * (1 << 40) + seq.gt[:, ID].astype(np.int64)
    res_keys = seq.res_group * (1 << 40) + seq.res[:, ID].astype(np.int64)
    acc = mm.MOTAccumulator(auto_id=True)
    ambiguous = 0
    for fm in seq.frames:
        same = seq.gt_group[fm.gt_rows][:, None] == seq.res_group[fm.res_rows][None, :]
        valid = same & (fm.iou >= iou)
        if valid.size:
            shared = valid & (valid.sum(0, keepdims=True) >= 2)
            ambiguous += int(((valid.sum(1) >= 2) | shared.any(1)).sum())
        acc.update(gt_keys[fm.gt_rows], res_keys[fm.res_rows], np.where(valid, 1.0 - fm.iou, np.nan))
    summary = _metrics_host().compute(acc, metrics=MM_METRICS, return_dataframe=False)
    s = {k: int(summary[k]) for k in MM_METRICS}
    return {"TP": s["num_matches"] + s["num_switches"], "FP": s["num_false_positives"],
            "FN": s["num_misses"], "IDSW": s["num_switches"],
            "IDTP": s["idtp"], "IDFP": s["idfp"], "IDFN": s["idfn"],
            "reacquired": _reacquisitions(acc), "ambiguous": ambiguous,
            "GT": len(seq.gt), "RES": len(seq.res)}


def _reacquisitions(acc) -> int:
    """Matches of a GT object whose previous match was two or more frames earlier."""
    ev = acc.mot_events
    ev = ev[ev["Type"].isin(["MATCH", "SWITCH"])]
    frames = ev.index.get_level_values(0).to_numpy()
    last: dict = {}
    n = 0
    for f, o in zip(frames, ev["OId"].to_numpy()):
        if o in last and last[o] < f - 1:
            n += 1
        last[o] = f
    return n


def trackeval_counts(results: list[dict]) -> dict[str, int]:
    """The same counts from TrackEval results of a sequence's groups (summed)."""
    out = {"TP": 0, "FP": 0, "FN": 0, "IDSW": 0, "IDTP": 0, "IDFP": 0, "IDFN": 0}
    for r in results:
        c, i = r["CLEAR"], r["Identity"]
        for key, val in (("TP", c["CLR_TP"]), ("FP", c["CLR_FP"]), ("FN", c["CLR_FN"]),
                         ("IDSW", c["IDSW"]), ("IDTP", i["IDTP"]), ("IDFP", i["IDFP"]), ("IDFN", i["IDFN"])):
            out[key] += int(val)
    return out


def check_sequence(seq: SequenceMatch, results: list[dict], iou: float = 0.5) -> dict[str, int]:
    """Raise :class:`EvaluationMismatch` unless motmetrics reproduces TrackEval's counts
    (exactly, or within the documented tie-rule tolerance); return TrackEval's counts."""
    ours, theirs = trackeval_counts(results), motmetrics_counts(seq, iou)
    ours["GT"], ours["RES"] = ours["TP"] + ours["FN"], ours["TP"] + ours["FP"]
    theirs["GT"], theirs["RES"] = theirs["TP"] + theirs["FN"], theirs["TP"] + theirs["FP"]
    tolerance = theirs["ambiguous"] + theirs["reacquired"]
    diff = {k: (ours[k], theirs[k]) for k in ("IDTP", "IDFP", "IDFN", "GT", "RES") if ours[k] != theirs[k]}
    for k in ("TP", "FP", "FN", "IDSW"):  # tie rules differ only on ambiguous boxes (docstring)
        if abs(ours[k] - theirs[k]) > tolerance:
            diff[k] = (ours[k], theirs[k])
    if diff:
        detail = ", ".join(f"{k} TrackEval {a} vs motmetrics {b}" for k, (a, b) in diff.items())
        detail += f" (tie rules explain at most {tolerance})"
        raise EvaluationMismatch(f"sequence {seq.name}: TrackEval and motmetrics disagree: {detail}")
    return ours
