"""Ignore rows of the ground truth: results on them are removed before scoring, and they are never misses.

Frame by frame, one optimal assignment of results to all ground truth (considered and ignored);
results given to an ignore row go, then the ignore rows. The rule, its groups and why it matches
TrackEval's preprocessing: docs/evaluation.md, "How ignore rows are removed".
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
