"""Where a set of detections sits on the axes: measured against the same split's ground truth.

The same function measures the synthetic points and a real detector, so a detector's marks use the
curves' own x values. Each axis's measure: docs/sensitivity.md, "Placing detections on the axes".
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.stats import rankdata

from detbench.core.types import iou_matrix
from detbench.sensitivity.degrade import CLASS, CONF, FRAME, H, W, X, Y

TAU = 0.1


@dataclass
class Measure:
    """Accumulated counts; :meth:`result` derives the five measures once."""

    n_gt: int = 0
    n_matched: int = 0
    n_fp: int = 0
    n_frames: int = 0
    sq_err: float = 0.0
    n_err: int = 0
    n_confused: int = 0
    tp_scores: list = field(default_factory=list)
    fp_scores: list = field(default_factory=list)

    def add(self, other: "Measure") -> "Measure":
        return Measure(self.n_gt + other.n_gt, self.n_matched + other.n_matched, self.n_fp + other.n_fp,
                       self.n_frames + other.n_frames, self.sq_err + other.sq_err, self.n_err + other.n_err,
                       self.n_confused + other.n_confused, self.tp_scores + other.tp_scores,
                       self.fp_scores + other.fp_scores)

    def result(self) -> dict:
        return {
            "recall": self.n_matched / self.n_gt if self.n_gt else None,
            "fp": self.n_fp / self.n_frames if self.n_frames else None,
            "jitter": float(np.sqrt(self.sq_err / self.n_err)) if self.n_err else None,
            "score": auc(self.tp_scores, self.fp_scores),
            "confusion": self.n_confused / self.n_matched if self.n_matched else None,
            "counts": {"gt": self.n_gt, "matched": self.n_matched, "false": self.n_fp, "frames": self.n_frames},
        }


def auc(pos, neg) -> float | None:
    """P(score of a true box > score of a false box) + half the ties; None if either is empty."""
    pos, neg = np.asarray(pos, float), np.asarray(neg, float)
    if not len(pos) or not len(neg):
        return None
    ranks = rankdata(np.concatenate([pos, neg]))
    u = ranks[: len(pos)].sum() - len(pos) * (len(pos) + 1) / 2
    return float(u / (len(pos) * len(neg)))


def _xyxy(g: np.ndarray) -> np.ndarray:
    return np.column_stack([g[:, X], g[:, Y], g[:, X] + g[:, W], g[:, Y] + g[:, H]])


def measure_sequence(gt_table, dets_per_frame, tau: float = TAU, iou: float = 0.5) -> Measure:
    """Counts of one sequence: ``gt_table`` (K, 9) MOT rows, ``dets_per_frame`` (N, 6) per frame."""
    gt = np.asarray(gt_table, dtype=np.float64).reshape(-1, 9) if np.size(gt_table) else np.zeros((0, 9))
    gt = gt[(gt[:, W] > 0) & (gt[:, H] > 0)]
    m = Measure(n_frames=len(dets_per_frame))
    for f, d in enumerate(dets_per_frame, 1):
        d = np.asarray(d, dtype=np.float64).reshape(-1, 6)
        d = d[d[:, 4] >= tau]
        d = d[np.argsort(-d[:, 4], kind="stable")]
        g_all = gt[gt[:, FRAME] == f]
        ign, g = g_all[g_all[:, CONF] == 0], g_all[g_all[:, CONF] != 0]
        m.n_gt += len(g)
        if len(ign) and len(d):  # detections on ignore regions are neither true nor false
            d = d[iou_matrix(d[:, :4], _xyxy(ign)).max(axis=1) < iou]
        ious = iou_matrix(d[:, :4], _xyxy(g)) if len(g) else np.zeros((len(d), 0))
        taken = np.zeros(len(g), dtype=bool)
        for i in range(len(d)):
            row = np.where(taken, -1.0, ious[i]) if len(g) else np.zeros(0)
            j = int(np.argmax(row)) if len(row) else -1
            if j >= 0 and row[j] >= iou:
                taken[j] = True
                gw, gh = g[j, W], g[j, H]
                dw, dh = d[i, 2] - d[i, 0], d[i, 3] - d[i, 1]
                errs = [((d[i, 0] + d[i, 2]) / 2 - (g[j, X] + gw / 2)) / gw,
                        ((d[i, 1] + d[i, 3]) / 2 - (g[j, Y] + gh / 2)) / gh,
                        np.log(dw / gw), np.log(dh / gh)]
                m.sq_err += float(np.sum(np.square(errs)))
                m.n_err += 4
                m.n_matched += 1
                m.n_confused += int(int(round(d[i, 5])) != int(g[j, CLASS]) - 1)
                m.tp_scores.append(float(d[i, 4]))
            else:
                m.n_fp += 1
                m.fp_scores.append(float(d[i, 4]))
    return m


def measure_split(pairs, tau: float = TAU, iou: float = 0.5) -> dict:
    """Measures over many sequences: ``pairs`` of (gt_table, dets_per_frame)."""
    total = Measure()
    for gt, dets in pairs:
        total = total.add(measure_sequence(gt, dets, tau, iou))
    return total.result()


def detectable_rows(gt_table) -> np.ndarray:
    """GT rows that count (positive size, not an ignore region)."""
    from detbench.sensitivity.degrade import detectable

    return detectable(gt_table)
