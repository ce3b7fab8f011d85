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

import numpy as np

from detbench.data.mot import ID
from detbench.errors import DetbenchError
from detbench.evaluate.matching import SequenceMatch

_TYPES = ("MATCH", "SWITCH", "FP", "MISS", "RAW")


class EvaluationMismatch(DetbenchError):
    """TrackEval and motmetrics disagree on a count: the evaluation cannot be trusted."""

    exit_code = 3


def accumulate(seq: SequenceMatch, iou: float = 0.5):
    """motmetrics' accumulator of one sequence (``MOTAccumulator.update`` once per frame with
    detbench's distance matrix) and the number of ambiguous GT boxes (see module docstring)."""
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
    return acc, ambiguous


def event_counts(acc) -> dict[str, int]:
    """motmetrics' counts read from its events table (``acc.events``) with numpy.

    The same numbers ``mm.metrics.create().compute(acc, metrics=[num_matches, num_switches,
    num_false_positives, num_misses, idtp, idfp, idfn])`` returns (tested), without its pandas
    filtering and group-bys: counts of MATCH / SWITCH / FP / MISS events; for the identity
    counts motmetrics' ``id_global_assignment`` construction (frames per object id and per
    hypothesis id over the RAW events, finite-distance RAW events per pair, one min-cost
    assignment with motmetrics' own LAP solver); and the re-acquisitions of GT objects."""
    from motmetrics.lap import linear_sum_assignment

    ev = acc.events
    cats = list(ev["Type"].cat.categories)
    codes = ev["Type"].cat.codes.to_numpy()
    code = {t: cats.index(t) for t in _TYPES}
    n_type = np.bincount(codes, minlength=len(cats))
    frames = ev.index.get_level_values(0).to_numpy()
    oid, hid, dist = (ev[c].to_numpy(dtype=np.float64) for c in ("OId", "HId", "D"))

    raw = codes == code["RAW"]
    f_raw, o_raw, h_raw, d_raw = frames[raw], oid[raw], hid[raw], dist[raw]
    has_o, has_h = ~np.isnan(o_raw), ~np.isnan(h_raw)
    oids, o_idx = np.unique(o_raw[has_o], return_inverse=True)
    hids, h_idx = np.unique(h_raw[has_h], return_inverse=True)
    no, nh = len(oids), len(hids)
    # frames in which each id appears (motmetrics: FrameId.nunique per id over RAW events)
    span = int(frames.max(initial=0)) + 1
    ocs = np.bincount(np.unique(o_idx * span + f_raw[has_o]) // span, minlength=no).astype(np.float64)
    hcs = np.bincount(np.unique(h_idx * span + f_raw[has_h]) // span, minlength=nh).astype(np.float64)
    both = has_o & has_h & ~np.isnan(d_raw)
    tps = np.zeros((no, nh))
    np.add.at(tps, (np.searchsorted(oids, o_raw[both]), np.searchsorted(hids, h_raw[both])), 1)
    fpm = np.zeros((no + nh, no + nh))
    fnm = np.zeros((no + nh, no + nh))
    fpm[no:, :nh] = np.nan
    fnm[:no, nh:] = np.nan
    fnm[:no, :nh] = ocs[:, None]
    fnm[np.arange(no), nh + np.arange(no)] = ocs
    fpm[:no, :nh] = hcs[None, :]
    fpm[no + np.arange(nh), np.arange(nh)] = hcs
    fpm[:no, :nh] -= tps
    fnm[:no, :nh] -= tps
    rids, cids = linear_sum_assignment(fpm + fnm)
    idfp, idfn = fpm[rids, cids].sum(), fnm[rids, cids].sum()

    s = {t: int(n_type[code[t]]) for t in ("MATCH", "SWITCH", "FP", "MISS")}
    num_objects = s["MATCH"] + s["SWITCH"] + s["MISS"]  # motmetrics' obj_frequencies.sum()
    matched = (codes == code["MATCH"]) | (codes == code["SWITCH"])
    return {"TP": s["MATCH"] + s["SWITCH"], "FP": s["FP"], "FN": s["MISS"], "IDSW": s["SWITCH"],
            "IDTP": int(num_objects - idfn), "IDFP": int(idfp), "IDFN": int(idfn),
            "reacquired": _reacquisitions(frames[matched], oid[matched])}


def motmetrics_counts(seq: SequenceMatch, iou: float = 0.5) -> dict[str, int]:
    """CLEAR / identity counts of one sequence according to motmetrics."""
    acc, ambiguous = accumulate(seq, iou)
    out = event_counts(acc)
    out.update(ambiguous=ambiguous, GT=len(seq.gt), RES=len(seq.res))
    return out


def _reacquisitions(frames: np.ndarray, oids: np.ndarray) -> int:
    """Matches of a GT object whose previous match was two or more frames earlier
    (``frames`` / ``oids`` of the MATCH and SWITCH events, in event order)."""
    if len(oids) == 0:
        return 0
    order = np.lexsort((frames, oids))  # by object, then frame (events come frame by frame)
    o, f = oids[order], frames[order]
    return int(((o[1:] == o[:-1]) & (f[:-1] < f[1:] - 1)).sum())


def trackeval_counts(results: list[dict]) -> dict[str, int]:
    """The same counts from TrackEval results of a sequence's groups (summed)."""
    out = {"TP": 0, "FP": 0, "FN": 0, "IDSW": 0, "IDTP": 0, "IDFP": 0, "IDFN": 0}
    for r in results:
        c, i = r["CLEAR"], r["Identity"]
        for key, val in (("TP", c["CLR_TP"]), ("FP", c["CLR_FP"]), ("FN", c["CLR_FN"]),
                         ("IDSW", c["IDSW"]), ("IDTP", i["IDTP"]), ("IDFP", i["IDFP"]), ("IDFN", i["IDFN"])):
            out[key] += int(val)
    return out


def check_sequence(seq: SequenceMatch, results: list[dict], iou: float = 0.5,
                   theirs: dict[str, int] | None = None) -> dict[str, int]:
    """Raise :class:`EvaluationMismatch` unless motmetrics reproduces TrackEval's counts
    (exactly, or within the documented tie-rule tolerance); return TrackEval's counts.
    ``theirs``: motmetrics' counts when already computed (default :func:`motmetrics_counts`)."""
    ours = trackeval_counts(results)
    theirs = dict(theirs) if theirs is not None else motmetrics_counts(seq, iou)
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
