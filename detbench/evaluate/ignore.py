"""Ignore rows of the ground truth: results on them are removed before scoring, and they are never misses.

Ground-truth rows with consider flag 0 (:mod:`detbench.data.mot`) are boxes ``prepare`` filtered
out (under ``--min-size`` or ``--min-visibility``, no lidar and no radar points) or of a category
outside the seven classes (class id 0). A tracker that finds them must not be punished, so,
frame by frame and before anything is scored:

1. every result box is matched against **all** ground-truth boxes of its group, considered and
   ignored together, by one optimal assignment (scipy's ``linear_sum_assignment``) maximising
   summed IoU over the pairs with IoU >= 0.5 (:data:`IGNORE_IOU`, whatever ``--iou`` says);
2. result boxes that the assignment gives to an ignore box are removed;
3. the ignore rows are removed; what is left is scored as usual (HOTA, CLEAR, Identity and the
   motmetrics cross-check all see the same filtered tables).

This is TrackEval's MOTChallenge preprocessing (``mot_challenge_2d_box.py``: match to all GT,
remove what matched a distractor class) with every ignore row as a distractor. Because the
assignment sees considered boxes too, a result on a considered object is removed only when the
frame's best assignment gives it to an ignore box: a result whose best partner is a considered
box stays, whatever it overlaps; one that overlaps a considered box better than an ignore box is
still removed when another result takes the considered box and the summed IoU is higher so
(both cases are worked out in ``tests/test_ignore_rows.py``).

Groups: in ``per-class`` mode a result of class c competes for the considered boxes of class c,
the ignore rows of class c and the ignore rows of class 0 (a category outside the seven: an
ambulance absorbs a "car" and a "truck" result alike); in ``agnostic`` mode every result competes
for every box. Each group is assigned on its own, as it is scored.
"""
from __future__ import annotations

import numpy as np

from detbench.core.types import iou_matrix
from detbench.data.mot import CLASS, FRAME, IGNORE_CLASS, considered, mot_to_boxes

IGNORE_IOU = 0.5
_EPS = float(np.finfo(float).eps)


def _frame_slices(frames: np.ndarray) -> dict[int, np.ndarray]:
    order = np.argsort(frames, kind="stable")
    uniq, starts = np.unique(frames[order], return_index=True)
    ends = np.append(starts[1:], len(order))
    return {int(f): order[a:b] for f, a, b in zip(uniq, starts, ends)}


def ignored_results(gt: np.ndarray, res: np.ndarray, per_class: bool = True) -> np.ndarray:
    """Boolean mask over ``res`` rows: True for a result box an ignore row takes (module docstring).

    ``gt`` holds considered and ignore rows (``read_mot(..., include_ignored=True)``)."""
    gt = np.asarray(gt, dtype=np.float64).reshape(-1, 9)
    res = np.asarray(res, dtype=np.float64).reshape(-1, 9)
    out = np.zeros(len(res), dtype=bool)
    ign = ~considered(gt)
    if not ign.any() or not len(res):
        return out
    from scipy.optimize import linear_sum_assignment

    gt_boxes, res_boxes = mot_to_boxes(gt), mot_to_boxes(res)
    gt_cls, res_cls = gt[:, CLASS].astype(np.int64), res[:, CLASS].astype(np.int64)
    gt_at = _frame_slices(gt[:, FRAME].astype(np.int64))
    res_at = _frame_slices(res[:, FRAME].astype(np.int64))
    for f in np.unique(gt[ign, FRAME].astype(np.int64)).tolist():
        r_all = res_at.get(f)
        if r_all is None:
            continue
        g_all = gt_at[f]
        iou = iou_matrix(gt_boxes[g_all], res_boxes[r_all])
        ok = iou >= IGNORE_IOU - _EPS
        g_ign = ign[g_all]
        if per_class:
            any_class = g_ign & (gt_cls[g_all] == IGNORE_CLASS)
            ok &= (gt_cls[g_all][:, None] == res_cls[r_all][None, :]) | any_class[:, None]
        if not ok[g_ign].any():  # no result reaches an ignore box: nothing to remove
            continue
        for c in (np.unique(res_cls[r_all]).tolist() if per_class else [None]):
            cols = np.arange(len(r_all)) if c is None else np.flatnonzero(res_cls[r_all] == c)
            rows = np.flatnonzero(ok[:, cols].any(axis=1))
            if not len(rows) or not g_ign[rows].any():
                continue
            score = np.where(ok[np.ix_(rows, cols)], iou[np.ix_(rows, cols)], 0.0)
            r, k = linear_sum_assignment(-score)
            taken = (score[r, k] > _EPS) & g_ign[rows[r]]
            out[r_all[cols[k[taken]]]] = True
    return out


def apply_ignore_rows(gt: np.ndarray, res: np.ndarray, per_class: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """(considered GT rows, result rows not taken by an ignore row): the tables to score."""
    gt = np.asarray(gt, dtype=np.float64).reshape(-1, 9)
    res = np.asarray(res, dtype=np.float64).reshape(-1, 9)
    return gt[considered(gt)], res[~ignored_results(gt, res, per_class)]
