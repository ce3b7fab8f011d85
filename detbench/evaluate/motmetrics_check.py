"""Cross-check TrackEval's CLEAR and Identity counts with motmetrics.

motmetrics scores every sequence again from detbench's IoU matrices; any difference in what both
libraries define the same way raises :class:`EvaluationMismatch`. What is compared, and where the
two libraries' matching rules part: docs/evaluation.md, "The motmetrics cross-check".
:class:`MotmetricsCheck` runs it as a TrackEval metric plug-in of
:func:`detbench.evaluate.dataset.eval_sequence`.
"""
from __future__ import annotations

import numpy as np
from trackeval.metrics._base_metric import _BaseMetric

from detbench.core.errors import DetbenchError
from detbench.data.mot import ID
from detbench.evaluate import trackeval_adapter as te
from detbench.evaluate.matching import SequenceMatch, trackeval_data

_TYPES = ("MATCH", "SWITCH", "FP", "MISS", "RAW")
_CLEAR = ("TP", "FP", "FN", "IDSW")
_TRACKEVAL_FIELDS = {"CLEAR": {"TP": "CLR_TP", "FP": "CLR_FP", "FN": "CLR_FN", "IDSW": "IDSW"},
                     "Identity": {"IDTP": "IDTP", "IDFP": "IDFP", "IDFN": "IDFN"}}
_EPS = float(np.finfo(float).eps)


class EvaluationMismatch(DetbenchError):
    """TrackEval and motmetrics disagree on a count: the evaluation cannot be trusted."""

    exit_code = 3


def _keys(seq: SequenceMatch) -> tuple[np.ndarray, np.ndarray]:
    """Object / hypothesis keys unique across groups: ``group * 2**40 + id``."""
    return (seq.gt_group * (1 << 40) + seq.gt[:, ID].astype(np.int64),
            seq.res_group * (1 << 40) + seq.res[:, ID].astype(np.int64))


def accumulate(seq: SequenceMatch, iou: float = 0.5):
    """motmetrics' accumulator of one sequence: ``MOTAccumulator.update`` once per frame with
    detbench's distance matrix."""
    import motmetrics as mm

    gt_keys, res_keys = _keys(seq)
    acc = mm.MOTAccumulator(auto_id=True)
    for fm in seq.frames:
        same = seq.gt_group[fm.gt_rows][:, None] == seq.res_group[fm.res_rows][None, :]
        valid = same & (fm.iou >= iou)
        acc.update(gt_keys[fm.gt_rows], res_keys[fm.res_rows], np.where(valid, 1.0 - fm.iou, np.nan))
    return acc


def event_counts(events: tuple[np.ndarray, ...]) -> dict[str, int]:
    """motmetrics' counts from its events (:func:`event_arrays`), read with numpy.

    The same numbers ``mm.metrics.create().compute(acc, metrics=[num_matches, num_switches,
    num_false_positives, num_misses, idtp, idfp, idfn])`` returns (tested), without its pandas
    filtering and group-bys: counts of MATCH / SWITCH / FP / MISS events; for the identity
    counts motmetrics' ``id_global_assignment`` construction (frames per object id and per
    hypothesis id over the RAW events, finite-distance RAW events per pair, one min-cost
    assignment with motmetrics' own LAP solver)."""
    from motmetrics.lap import linear_sum_assignment

    codes, frames, oid, hid, dist = events
    code = {t: i for i, t in enumerate(_TYPES)}
    n_type = np.bincount(codes, minlength=len(_TYPES) + 1)

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
    return {"TP": s["MATCH"] + s["SWITCH"], "FP": s["FP"], "FN": s["MISS"], "IDSW": s["SWITCH"],
            "IDTP": int(num_objects - idfn), "IDFP": int(idfp), "IDFN": int(idfn)}


def event_arrays(acc) -> tuple[np.ndarray, ...]:
    """The accumulator's events as arrays: type code (index into ``_TYPES``; other event types
    such as TRANSFER get ``len(_TYPES)``), frame id, object id, hypothesis id, distance.

    motmetrics (pinned to 1.4.0) keeps its events as plain lists (``acc._events``,
    ``acc._indices``) and builds the pandas table ``acc.events`` from them on demand; reading the
    lists skips that table, which cost ~9 ms per sequence (the counts are tested equal to
    ``mm.metrics.compute``'s, so another motmetrics version fails the tests)."""
    types, frames = acc._events["Type"], acc._indices["FrameId"]
    lookup = {t: i for i, t in enumerate(_TYPES)}
    codes = np.fromiter((lookup.get(t, len(_TYPES)) for t in types), dtype=np.int64, count=len(types))
    return (codes, np.asarray(frames, dtype=np.int64),
            *(np.asarray(acc._events[c], dtype=np.float64) for c in ("OId", "HId", "D")))


def _trackeval_rule(seq: SequenceMatch, fm, iou: float, groups: list[int], g_keys: np.ndarray,
                    r_keys: np.ndarray, prev: dict[int, dict[int, int]]) -> tuple[np.ndarray, np.ndarray]:
    """Rows / columns of the frame that TrackEval's CLEAR matches: per group with boxes on both
    sides, on the same matrix TrackEval gets (rows and columns in :func:`trackeval_data` order),
    score ``1000`` for the previous timestep's pair plus IoU, zero below ``iou - eps``, one
    assignment."""
    from scipy.optimize import linear_sum_assignment

    g_grp, r_grp = seq.gt_group[fm.gt_rows], seq.res_group[fm.res_rows]
    rows, cols = [], []
    for g in groups:
        rs, cs = np.flatnonzero(g_grp == g), np.flatnonzero(r_grp == g)
        sim = fm.iou[np.ix_(rs, cs)]
        last = prev.get(g, {})
        before = np.array([last.get(o, -1) for o in g_keys[rs].tolist()])
        score = 1000 * (r_keys[cs][None, :] == before[:, None]) + sim
        score[sim < iou - _EPS] = 0
        r, c = linear_sum_assignment(-score)
        ok = score[r, c] > _EPS
        rows.append(rs[r[ok]])
        cols.append(cs[c[ok]])
    return np.concatenate(rows), np.concatenate(cols)


def first_rule_difference(seq: SequenceMatch, events: tuple[np.ndarray, ...], iou: float = 0.5) -> int:
    """Index of the first frame where motmetrics' matches (its :func:`event_arrays`) differ from
    the pairs TrackEval's CLEAR rule picks; ``seq.num_frames`` when they never do (module docstring)."""
    codes, frames, oid, hid, _ = events
    matched = (codes == _TYPES.index("MATCH")) | (codes == _TYPES.index("SWITCH"))
    m_frame = frames[matched]
    m_obj, m_hyp = oid[matched].astype(np.int64).tolist(), hid[matched].astype(np.int64).tolist()
    bounds = np.searchsorted(m_frame, np.arange(seq.num_frames + 1)).tolist()  # events come frame by frame
    gt_keys, res_keys = _keys(seq)
    prev: dict[int, dict[int, int]] = {}  # TrackEval's previous-timestep pairs per group
    for t, fm in enumerate(seq.frames):
        mm_pairs = set(zip(m_obj[bounds[t]:bounds[t + 1]], m_hyp[bounds[t]:bounds[t + 1]]))
        g_grp, r_grp = seq.gt_group[fm.gt_rows], seq.res_group[fm.res_rows]
        both = sorted(set(g_grp.tolist()) & set(r_grp.tolist()))
        if not both:  # nothing can match; TrackEval skips the timestep
            if mm_pairs:
                return t
            continue
        g_keys, r_keys = gt_keys[fm.gt_rows], res_keys[fm.res_rows]
        valid = (g_grp[:, None] == r_grp[None, :]) & (fm.iou >= iou - _EPS) & (fm.iou > _EPS)
        if valid.sum(1).max() <= 1 and valid.sum(0).max() <= 1:
            rows, cols = np.nonzero(valid)  # no box has two candidates: every rule takes them all
        else:
            rows, cols = _trackeval_rule(seq, fm, iou, both, g_keys, r_keys, prev)
        pairs = list(zip(g_keys[rows].tolist(), r_keys[cols].tolist()))
        if set(pairs) != mm_pairs:
            return t
        # TrackEval replaces a group's previous pairs (all of them, also those of objects absent
        # now) at timesteps where the group has both GT and result boxes, and skips the others
        for g in both:
            prev[g] = {}
        for (o, h), g in zip(pairs, g_grp[rows].tolist()):
            prev[g][o] = h
    return seq.num_frames


def clear_before(events: tuple[np.ndarray, ...], upto: int) -> dict[str, int]:
    """motmetrics' TP / FP / FN / IDSW over its frames ``0 .. upto - 1``."""
    codes, frames = events[:2]
    n = np.bincount(codes[frames < upto], minlength=len(_TYPES) + 1)
    match, switch, fp, miss = (int(n[_TYPES.index(t)]) for t in ("MATCH", "SWITCH", "FP", "MISS"))
    return {"TP": match + switch, "FP": fp, "FN": miss, "IDSW": switch}


def motmetrics_counts(seq: SequenceMatch, iou: float = 0.5) -> dict:
    """CLEAR / identity counts of one sequence according to motmetrics, its box totals, and
    ``events`` (:func:`event_arrays`) for :func:`check_sequence`'s frame-by-frame comparison."""
    events = event_arrays(accumulate(seq, iou))
    out: dict = event_counts(events)
    out.update(GT=out["TP"] + out["FN"], RES=out["TP"] + out["FP"], events=events)
    return out


def trackeval_counts(results: list[dict], metrics: tuple[str, ...] = ("CLEAR", "Identity")) -> dict[str, int]:
    """The same counts from TrackEval results of a sequence's groups (summed), for ``metrics``."""
    return {key: sum(int(r[metric][field]) for r in results)
            for metric in metrics for key, field in _TRACKEVAL_FIELDS[metric].items()}


def trackeval_clear_before(seq: SequenceMatch, frames: int, iou: float = 0.5) -> dict[str, int]:
    """TrackEval's TP / FP / FN / IDSW over the sequence's first ``frames`` frames."""

    clear = te.metrics(iou)["CLEAR"]
    return trackeval_counts([{"CLEAR": clear.eval_sequence(trackeval_data(seq, g, frames))}
                             for g in seq.groups()], metrics=("CLEAR",))


def check_sequence(seq: SequenceMatch, results: list[dict], iou: float = 0.5,
                   theirs: dict | None = None) -> dict[str, int]:
    """Raise :class:`EvaluationMismatch` unless motmetrics reproduces TrackEval's counts (see
    the module docstring for exactly which); return TrackEval's counts.
    ``theirs``: motmetrics' counts when already computed (default :func:`motmetrics_counts`).
    When the whole sequence's TP / FP / FN / IDSW agree nothing more is needed; otherwise they are
    compared over the frames before :func:`first_rule_difference`."""
    ours = trackeval_counts(results)
    theirs = theirs if theirs is not None else motmetrics_counts(seq, iou)
    ours["GT"], ours["RES"] = ours["TP"] + ours["FN"], ours["TP"] + ours["FP"]
    diff = {k: (ours[k], theirs[k]) for k in ("IDTP", "IDFP", "IDFN", "GT", "RES") if ours[k] != theirs[k]}
    if any(ours[k] != theirs[k] for k in _CLEAR):
        exact = first_rule_difference(seq, theirs["events"], iou)
        ours_clear = ours if exact == seq.num_frames else trackeval_clear_before(seq, exact, iou)
        theirs_clear = clear_before(theirs["events"], exact)
        span = "" if exact == seq.num_frames else f" over frames 1-{exact}"
        diff.update({f"{k}{span}": (ours_clear[k], theirs_clear[k]) for k in _CLEAR
                     if ours_clear[k] != theirs_clear[k]})
    if diff:
        detail = ", ".join(f"{k} TrackEval {a} vs motmetrics {b}" for k, (a, b) in diff.items())
        raise EvaluationMismatch(f"sequence {seq.name}: TrackEval and motmetrics disagree: {detail}")
    return ours


class MotmetricsCheck(_BaseMetric):
    """The cross-check as a TrackEval metric class, evaluated once per sequence (not per class:
    motmetrics scores a sequence's groups together). Its data dict is ``{"sequence": the
    :class:`SequenceMatch`, "results": the TrackEval results of the sequence's groups}``; its
    result, TrackEval's counts (:func:`check_sequence`), and the combined ones are sums."""

    def __init__(self, iou: float = 0.5):
        super().__init__()
        self.iou = float(iou)
        self.integer_fields = [*_CLEAR, *_TRACKEVAL_FIELDS["Identity"], "GT", "RES"]
        self.fields = self.summary_fields = self.integer_fields

    def eval_sequence(self, data: dict) -> dict[str, int]:
        """Raise :class:`EvaluationMismatch` unless motmetrics agrees; TrackEval's counts."""
        return check_sequence(data["sequence"], data["results"], self.iou)

    def combine_sequences(self, all_res: dict) -> dict[str, int]:
        return {f: self._combine_sum(all_res, f) for f in self.integer_fields}

    def combine_classes_class_averaged(self, all_res: dict, ignore_empty_classes: bool = False) -> dict[str, int]:
        return self.combine_sequences(all_res)

    def combine_classes_det_averaged(self, all_res: dict) -> dict[str, int]:
        return self.combine_sequences(all_res)
