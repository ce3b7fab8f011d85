"""Per-frame IoU between ground truth and results, grouped per class or class-agnostic.

IoU is computed here (the arithmetic of :func:`detbench.core.types.iou_matrix`), never by motmetrics (motmetrics 1.4.0's
``distances.iou_matrix`` calls ``np.asfarray``, which numpy 2 removed).
A *group* is what gets scored on its own: one class id (1..7) in per-class mode, or the single
group 0 in agnostic mode. In per-class mode a GT box of class c can only be matched by results
of class c, because each class is scored separately and then combined by summing counts.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from detbench.data.mot import CLASS, FRAME, ID, mot_to_boxes

AGNOSTIC = 0


@dataclass
class FrameMatch:
    """One frame: row indices into the GT / result tables and their (n_gt, n_res) IoU."""

    gt_rows: np.ndarray
    res_rows: np.ndarray
    iou: np.ndarray


@dataclass
class SequenceMatch:
    """A sequence's GT and result tables (K, 9) with per-frame IoU; ``groups`` per row."""

    name: str
    num_frames: int
    gt: np.ndarray
    res: np.ndarray
    gt_group: np.ndarray
    res_group: np.ndarray
    frames: list[FrameMatch]

    def groups(self) -> list[int]:
        """Groups with at least one GT or result row, sorted."""
        return sorted(set(self.gt_group.tolist()) | set(self.res_group.tolist()))


def _rows_per_frame(table: np.ndarray, num_frames: int) -> list[np.ndarray]:
    frames = table[:, FRAME].astype(np.int64)
    order = np.argsort(frames, kind="stable")
    bounds = np.searchsorted(frames[order], np.arange(1, num_frames + 2))
    return [order[bounds[f]:bounds[f + 1]] for f in range(num_frames)]


def _frame_ious(gt_boxes: np.ndarray, res_boxes: np.ndarray, gt_frames: list[np.ndarray],
                res_frames: list[np.ndarray]) -> list[np.ndarray]:
    """Every frame's (n_gt, n_res) IoU from one vectorised pass over all same-frame pairs.

    The elementwise operations are exactly those of :func:`detbench.core.types.iou_matrix`, so the
    values are bit-identical to calling it frame by frame (tested)."""
    n_g = np.array([len(g) for g in gt_frames], dtype=np.int64)
    n_r = np.array([len(r) for r in res_frames], dtype=np.int64)
    sizes = n_g * n_r
    total = int(sizes.sum())
    ends = np.cumsum(sizes)
    if total:
        # pair k of frame f: GT row k // n_r[f], result row k % n_r[f] (row-major like iou_matrix)
        frame_of = np.repeat(np.arange(len(sizes)), sizes)
        k = np.arange(total) - (ends - sizes)[frame_of]
        g_start = np.cumsum(n_g) - n_g
        r_start = np.cumsum(n_r) - n_r
        gi = np.concatenate(gt_frames)[g_start[frame_of] + k // n_r[frame_of]]
        ri = np.concatenate(res_frames)[r_start[frame_of] + k % n_r[frame_of]]
        a, b = gt_boxes[gi], res_boxes[ri]
        ix1 = np.maximum(a[:, 0], b[:, 0])
        iy1 = np.maximum(a[:, 1], b[:, 1])
        ix2 = np.minimum(a[:, 2], b[:, 2])
        iy2 = np.minimum(a[:, 3], b[:, 3])
        inter = np.clip(ix2 - ix1, 0, None) * np.clip(iy2 - iy1, 0, None)
        area_g = np.clip(gt_boxes[:, 2] - gt_boxes[:, 0], 0, None) * np.clip(gt_boxes[:, 3] - gt_boxes[:, 1], 0, None)
        area_r = np.clip(res_boxes[:, 2] - res_boxes[:, 0], 0, None) * np.clip(res_boxes[:, 3] - res_boxes[:, 1], 0, None)
        union = area_g[gi] + area_r[ri] - inter
        with np.errstate(invalid="ignore", divide="ignore"):
            flat = np.where(union > 0, inter / union, 0.0)
    else:
        flat = np.zeros(0, dtype=np.float64)
    return [flat[e - s:e].reshape(g, r) for e, s, g, r in
            zip(ends.tolist(), sizes.tolist(), n_g.tolist(), n_r.tolist())]


def match_sequence(name: str, gt: np.ndarray, res: np.ndarray, num_frames: int,
                   per_class: bool = True) -> SequenceMatch:
    """IoU of every GT box against every result box in the same frame (all classes at once)."""
    gt_frames, res_frames = _rows_per_frame(gt, num_frames), _rows_per_frame(res, num_frames)
    ious = _frame_ious(mot_to_boxes(gt), mot_to_boxes(res), gt_frames, res_frames)
    frames = [FrameMatch(g, r, m) for g, r, m in zip(gt_frames, res_frames, ious)]
    return SequenceMatch(name, num_frames, gt, res, *groups(gt, res, per_class), frames)


def groups(gt: np.ndarray, res: np.ndarray, per_class: bool) -> tuple[np.ndarray, np.ndarray]:
    """The matching group of every GT and result row: its class id, or one shared group."""
    if per_class:
        return gt[:, CLASS].astype(np.int64), res[:, CLASS].astype(np.int64)
    return np.full(len(gt), AGNOSTIC, dtype=np.int64), np.full(len(res), AGNOSTIC, dtype=np.int64)


def _contiguous(ids: np.ndarray) -> tuple[np.ndarray, int]:
    uniq, inverse = np.unique(ids, return_inverse=True)
    return inverse.astype(np.int64), len(uniq)


def group_rows(seq: SequenceMatch, group: int, frames: int | None = None) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per timestep, the GT and result rows (indices into ``seq.gt`` / ``seq.res``) of ``group``
    in exactly the order :func:`trackeval_data` lays them out: row ``i`` of timestep ``t``'s
    similarity matrix is GT row ``group_rows(...)[t][0][i]``, column ``j`` result row ``[t][1][j]``."""
    num_frames = seq.num_frames if frames is None else frames
    g_sel, r_sel = _selection(seq, group, frames)
    return [(fm.gt_rows[g_sel[fm.gt_rows]], fm.res_rows[r_sel[fm.res_rows]]) for fm in seq.frames[:num_frames]]


def _selection(seq: SequenceMatch, group: int, frames: int | None) -> tuple[np.ndarray, np.ndarray]:
    g_sel = seq.gt_group == group
    r_sel = seq.res_group == group
    if frames is not None:
        g_sel &= seq.gt[:, FRAME] <= frames
        r_sel &= seq.res[:, FRAME] <= frames
    return g_sel, r_sel


def trackeval_data(seq: SequenceMatch, group: int, frames: int | None = None) -> dict:
    """TrackEval's per-sequence data dict for one group (see ``_BaseDataset.get_raw_seq_data``):
    ``gt_ids`` / ``tracker_ids`` per timestep as contiguous 0-based ints, ``similarity_scores``
    per timestep (n_gt, n_res) IoU, and the counts. No MOTChallenge preprocessing is applied.
    ``frames``: only the sequence's first ``frames`` frames (default: all)."""
    num_frames = seq.num_frames if frames is None else frames
    g_sel, r_sel = _selection(seq, group, frames)
    g_ids = np.full(len(seq.gt), -1, dtype=np.int64)
    r_ids = np.full(len(seq.res), -1, dtype=np.int64)
    g_ids[g_sel], n_gt_ids = _contiguous(seq.gt[g_sel, ID])
    r_ids[r_sel], n_res_ids = _contiguous(seq.res[r_sel, ID])
    gt_ids, tr_ids, sims = [], [], []
    for fm in seq.frames[:num_frames]:
        gm = g_sel[fm.gt_rows]
        rm = r_sel[fm.res_rows]
        gt_ids.append(g_ids[fm.gt_rows[gm]])
        tr_ids.append(r_ids[fm.res_rows[rm]])
        sims.append(fm.iou[np.ix_(gm, rm)])
    return {
        "seq": seq.name, "cls": group, "num_timesteps": num_frames,
        "num_gt_dets": int(g_sel.sum()), "num_tracker_dets": int(r_sel.sum()),
        "num_gt_ids": n_gt_ids, "num_tracker_ids": n_res_ids,
        "gt_ids": gt_ids, "tracker_ids": tr_ids, "similarity_scores": sims,
    }
