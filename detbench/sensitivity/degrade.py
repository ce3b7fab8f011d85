"""Seeded synthetic detections from ground truth at a :class:`~detbench.sensitivity.axes.Degradation`.

Misses, localisation, class confusion, false positives and scores, in that order, from one seeded
stream per sequence. Each step's exact rule: docs/sensitivity.md, "How each axis degrades".
"""
from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np
from scipy.special import expit, ndtri

from detbench.core.classes import NUM_CLASSES
from detbench.core.types import iou_matrix
from detbench.sensitivity.axes import Degradation

FRAME, ID, X, Y, W, H, CONF, CLASS = 0, 1, 2, 3, 4, 5, 6, 7
RANDOM_FP, DUPLICATE = -1, -2
MAX_AUC = 0.9999


@dataclass
class Generated:
    dets: list[np.ndarray]       # per frame (N, 6) float32 x1,y1,x2,y2,score,class (0..6)
    source: list[np.ndarray]     # per frame (N,) int64: GT id, RANDOM_FP or DUPLICATE
    kept: np.ndarray             # (K,) bool over the detectable GT rows: kept (not missed)
    gt: np.ndarray               # the detectable GT rows, in the order ``kept`` refers to


def sequence_seed(seed: int, name: str) -> list[int]:
    """A stable per-sequence seed (never Python's ``hash``)."""
    return [int(seed), zlib.crc32(name.encode("utf-8"))]


def score_shift(auc: float) -> float:
    """The separation d of the two unit-variance normals whose ROC AUC is ``auc``."""
    return float(np.sqrt(2.0) * ndtri(min(float(auc), MAX_AUC)))


def choose_misses(gt: np.ndarray, spec: Degradation, rng: np.random.Generator) -> np.ndarray:
    """Boolean keep mask over ``gt`` rows with exactly round((1 - recall) * K) misses."""
    k = len(gt)
    keep = np.ones(k, dtype=bool)
    n_miss = int(round((1.0 - spec.recall) * k))
    if n_miss == 0:
        return keep
    n_run = int(round(spec.run_share * n_miss))
    # each track's rows in frame order, and every row's position in its track
    order = np.lexsort((gt[:, FRAME], gt[:, ID]))
    ids = gt[order, ID]
    starts = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]])
    ends = np.r_[starts[1:], len(order)]
    end_of = np.empty(k, dtype=np.int64)
    pos_of = np.empty(k, dtype=np.int64)
    for s, e in zip(starts, ends):
        end_of[order[s:e]] = e
        pos_of[order[s:e]] = np.arange(s, e)
    dropped = 0
    guard = 0
    while dropped < n_run and guard < 10 * k:
        guard += 1
        cand = np.flatnonzero(keep)
        i = int(cand[rng.integers(len(cand))])
        length = int(rng.integers(2, spec.max_run + 1))
        run = order[pos_of[i]:min(pos_of[i] + length, end_of[i])]
        run = run[keep[run]][: n_run - dropped]
        keep[run] = False
        dropped += len(run)
    rest = np.flatnonzero(keep)
    singles = rng.choice(rest, size=n_miss - dropped, replace=False)
    keep[singles] = False
    return keep


def _clip(b: np.ndarray, width: int, height: int) -> np.ndarray:
    b = b.copy()
    b[:, [0, 2]] = np.clip(b[:, [0, 2]], 0, width)
    b[:, [1, 3]] = np.clip(b[:, [1, 3]], 0, height)
    return b


def _false_boxes(n: int, frame_gt: np.ndarray, seq_gt: np.ndarray, spec: Degradation, width: int,
                 height: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``n`` false boxes (xyxy, class 0..6) and their kinds, IoU < 0.5 with every GT box of the frame."""
    boxes, cls, kinds = [], [], []
    gt_xyxy = np.column_stack([frame_gt[:, X], frame_gt[:, Y], frame_gt[:, X] + frame_gt[:, W],
                               frame_gt[:, Y] + frame_gt[:, H]]) if len(frame_gt) else np.zeros((0, 4))
    for _ in range(n):
        dup = len(frame_gt) > 0 and rng.random() < spec.dup_share
        if dup:
            g = frame_gt[rng.integers(len(frame_gt))]
            ang = rng.uniform(0, 2 * np.pi)
            dist = rng.uniform(0.3, 0.6)
            scale = np.exp(rng.uniform(np.log(0.8), np.log(1.25)))
            w, h, c = g[W] * scale, g[H] * scale, int(g[CLASS]) - 1
            gx, gy = g[X] + g[W] / 2, g[Y] + g[H] / 2
        for attempt in range(20):  # noqa: B007 - a bounded number of tries
            if dup:
                cx = np.clip(gx + dist * np.cos(ang) * g[W], 0, width)
                cy = np.clip(gy + dist * np.sin(ang) * g[H], 0, height)
            else:
                src = seq_gt[rng.integers(len(seq_gt))] if len(seq_gt) else None
                w, h = (src[W], src[H]) if src is not None else (rng.uniform(20, 300),) * 2
                c = int(src[CLASS]) - 1 if src is not None else int(rng.integers(NUM_CLASSES))
                cx, cy = rng.uniform(0, width), rng.uniform(0, height)
            b = _clip(np.array([[cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2]]), width, height)
            if not len(gt_xyxy) or iou_matrix(b, gt_xyxy).max() < 0.5:
                break
            if dup:
                dist += 0.2
        boxes.append(b[0])
        cls.append(c)
        kinds.append(DUPLICATE if dup else RANDOM_FP)
    if not boxes:
        return np.zeros((0, 5)), np.zeros(0, dtype=np.int64)
    return np.column_stack([np.array(boxes), np.array(cls, dtype=np.float64)]), np.array(kinds, dtype=np.int64)


def detectable(gt_table) -> np.ndarray:
    """GT rows a detector should find: positive size and not an ignore region (confidence != 0)."""
    gt = np.asarray(gt_table, dtype=np.float64).reshape(-1, 9) if np.size(gt_table) else np.zeros((0, 9))
    return gt[(gt[:, CONF] != 0) & (gt[:, W] > 0) & (gt[:, H] > 0)]


def degrade_sequence(gt_table, num_frames: int, width: int, height: int, spec: Degradation,
                     seed) -> Generated:
    """Synthetic detections for frames 1..num_frames (see the module docstring)."""
    rng = np.random.default_rng(seed)
    gt = detectable(gt_table)
    keep = choose_misses(gt, spec, rng)
    rows = gt[keep]
    j = spec.jitter
    n = len(rows)
    cx = rows[:, X] + rows[:, W] / 2 + rng.normal(0.0, 1.0, n) * j * rows[:, W]
    cy = rows[:, Y] + rows[:, H] / 2 + rng.normal(0.0, 1.0, n) * j * rows[:, H]
    w = rows[:, W] * np.exp(rng.normal(0.0, 1.0, n) * j)
    h = rows[:, H] * np.exp(rng.normal(0.0, 1.0, n) * j)
    cls = rows[:, CLASS] - 1
    flip = rng.random(n) < spec.confusion
    other = rng.integers(1, NUM_CLASSES, n)  # 1..6 steps round the 7 classes: never the same class
    cls = np.where(flip, (cls + other) % NUM_CLASSES, cls)
    tp = np.column_stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2, cls])
    if spec.score is None:
        tp_s = np.ones(n)
    else:
        tp_s = expit(rng.normal(spec.tp_logit, 1.0, n))
    d = score_shift(spec.score) if spec.score is not None else 0.0

    frames = rows[:, FRAME].astype(np.int64)
    gt_frames = gt[:, FRAME].astype(np.int64)
    dets_out, src_out = [], []
    for f in range(1, int(num_frames) + 1):
        sel = frames == f
        n_fp = int(rng.poisson(spec.fp)) if spec.fp > 0 else 0
        fp, kinds = _false_boxes(n_fp, gt[gt_frames == f], gt, spec, width, height, rng)
        fp_s = (np.zeros(n_fp) if spec.score is None else expit(rng.normal(spec.tp_logit - d, 1.0, n_fp)))
        t = tp[sel]
        a = np.concatenate([np.column_stack([_clip(t[:, :4], width, height), tp_s[sel], t[:, 4]]).reshape(-1, 6),
                            np.column_stack([fp[:, :4], fp_s, fp[:, 4]]).reshape(-1, 6)])
        src = np.concatenate([rows[sel, ID].astype(np.int64), kinds])
        ok = (a[:, 2] - a[:, 0] >= 1) & (a[:, 3] - a[:, 1] >= 1)
        a, src = a[ok], src[ok]
        o = np.argsort(-a[:, 4], kind="stable")
        dets_out.append(a[o].astype(np.float32))
        src_out.append(src[o])
    return Generated(dets_out, src_out, keep, gt)
