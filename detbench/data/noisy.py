"""Ground-truth-derived noisy detections: test and tune trackers without a trained detector.

Misses, jitter, false positives, scores and optional duplicates, from one seeded stream: the same
(table, arguments, seed) always give the same detections. Each step's rule: docs/data.md, "Noisy
detections from ground truth".
"""
from __future__ import annotations

import numpy as np

from detbench.core.classes import NUM_CLASSES
from detbench.core.errors import InputError

FRAME, ID, X, Y, W, H, CLASS = 0, 1, 2, 3, 4, 5, 7


def _check_range(name: str, value, lo: float, hi: float | None = None) -> None:
    if not np.isfinite(value) or value < lo or (hi is not None and value > hi):
        bound = f"[{lo}, {hi}]" if hi is not None else f">= {lo}"
        raise InputError(f"noisy_detections: {name}={value!r} must be in {bound}")


def _check_interval(name: str, pair, lo: float, hi: float | None) -> tuple[float, float]:
    a, b = (float(v) for v in pair)
    _check_range(f"{name}[0]", a, lo, hi)
    _check_range(f"{name}[1]", b, lo, hi)
    if a > b:
        raise InputError(f"noisy_detections: {name}={tuple(pair)!r} must be (low, high) with low <= high")
    return a, b


def noisy_detections(gt_table, num_frames: int, width: int, height: int, seed: int, *,
                     jitter: float = 0.05, drop: float = 0.1, fp_rate: float = 1.0,
                     tp_score: tuple[float, float] = (0.5, 1.0),
                     fp_score: tuple[float, float] = (0.05, 0.6),
                     fp_size: tuple[float, float] = (20.0, 300.0),
                     dup_share: float = 0.0, dup_count: tuple[int, int] = (1, 2),
                     dup_jitter: float = 0.1, dup_other_class: float = 0.5,
                     with_source: bool = False):
    """Detections (float32 (N, 6) ``x1,y1,x2,y2,score,class``, class 0..6) for frames
    1..num_frames from a (K, 9) MOT ground-truth table (see module docstring)."""
    gt = np.asarray(gt_table, dtype=np.float64)
    if gt.size == 0:
        gt = np.zeros((0, 9))
    if gt.ndim != 2 or gt.shape[1] < 8:
        raise InputError(f"noisy_detections: ground truth must be a (K, 9) MOT table, got shape {gt.shape}")
    if int(num_frames) != num_frames or num_frames < 0:
        raise InputError(f"noisy_detections: num_frames={num_frames!r} must be a non-negative integer")
    if width <= 0 or height <= 0:
        raise InputError(f"noisy_detections: image size {width}x{height} must be positive")
    if len(gt) and (gt[:, FRAME].min() < 1 or gt[:, FRAME].max() > num_frames):
        raise InputError(f"noisy_detections: ground-truth frames span {gt[:, FRAME].min():g}.."
                         f"{gt[:, FRAME].max():g}, outside 1..{num_frames}")
    if len(gt) and not np.isin(gt[:, CLASS], np.arange(1, NUM_CLASSES + 1)).all():
        raise InputError(f"noisy_detections: ground-truth class ids must be 1..{NUM_CLASSES}")
    _check_range("jitter", jitter, 0.0)
    _check_range("drop", drop, 0.0, 1.0)
    _check_range("fp_rate", fp_rate, 0.0)
    tp_lo, tp_hi = _check_interval("tp_score", tp_score, 0.0, 1.0)
    fp_lo, fp_hi = _check_interval("fp_score", fp_score, 0.0, 1.0)
    sz_lo, sz_hi = _check_interval("fp_size", fp_size, 1.0, None)
    _check_range("dup_share", dup_share, 0.0, 1.0)
    _check_range("dup_jitter", dup_jitter, 0.0)
    _check_range("dup_other_class", dup_other_class, 0.0, 1.0)
    dup_lo, dup_hi = (int(v) for v in _check_interval("dup_count", dup_count, 0.0, None))

    rng = np.random.default_rng(seed)
    dup_rng, slots = None, {}
    if dup_share > 0:
        dup_rng = np.random.default_rng(np.random.SeedSequence(seed).spawn(1)[0])
        slots = _duplicate_slots(dup_rng, np.unique(gt[:, ID].astype(np.int64)), dup_share, dup_lo, dup_hi,
                                 dup_other_class)
    frames = gt[:, FRAME].astype(np.int64)
    dets_out, src_out = [], []
    for f in range(1, int(num_frames) + 1):
        rows = gt[frames == f]
        keep = rng.random(len(rows)) >= drop
        rows = rows[keep]
        w, h = rows[:, W], rows[:, H]
        cx = rows[:, X] + w / 2 + rng.normal(0.0, 1.0, len(rows)) * jitter * w
        cy = rows[:, Y] + h / 2 + rng.normal(0.0, 1.0, len(rows)) * jitter * h
        w = w * np.exp(rng.normal(0.0, 1.0, len(rows)) * jitter)
        h = h * np.exp(rng.normal(0.0, 1.0, len(rows)) * jitter)
        tp = np.column_stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2,
                              rng.uniform(tp_lo, tp_hi, len(rows)), rows[:, CLASS] - 1])

        n_fp = int(rng.poisson(fp_rate))
        fw = rng.uniform(sz_lo, sz_hi, n_fp)
        fh = fw * np.exp(rng.uniform(np.log(0.5), np.log(2.0), n_fp))
        fx = rng.uniform(0, width, n_fp)
        fy = rng.uniform(0, height, n_fp)
        fp = np.column_stack([fx - fw / 2, fy - fh / 2, fx + fw / 2, fy + fh / 2,
                              rng.uniform(fp_lo, fp_hi, n_fp), rng.integers(0, NUM_CLASSES, n_fp)])

        dup, dup_src = np.zeros((0, 6)), np.zeros(0, dtype=np.int64)
        if slots and len(tp):
            dup, dup_src = _duplicates(dup_rng, tp, rows[:, ID].astype(np.int64), slots, dup_jitter, tp_lo, tp_hi)
        d = np.concatenate([tp.reshape(-1, 6), fp.reshape(-1, 6), dup])
        src = np.concatenate([rows[:, ID].astype(np.int64), np.full(n_fp, -1, dtype=np.int64), dup_src])
        d[:, [0, 2]] = np.clip(d[:, [0, 2]], 0, width)
        d[:, [1, 3]] = np.clip(d[:, [1, 3]], 0, height)
        ok = (d[:, 2] - d[:, 0] >= 1) & (d[:, 3] - d[:, 1] >= 1)
        d, src = d[ok], src[ok]
        order = np.argsort(-d[:, 4], kind="stable")
        dets_out.append(d[order].astype(np.float32))
        src_out.append(src[order])
    return (dets_out, src_out) if with_source else dets_out


DUPLICATE = -2


def _duplicate_slots(rng, ids, share, n_lo, n_hi, other_class) -> dict[int, np.ndarray]:
    """{GT id: class offset per duplicate slot (0 = its own class, 1..6 = another)} for the
    duplicated objects (step 4b), drawn once per sequence in ascending id order."""
    has = rng.random(len(ids)) < share
    counts = rng.integers(n_lo, n_hi + 1, len(ids))
    out = {}
    for i, tid in enumerate(ids):
        other = rng.random(n_hi) < other_class
        offset = np.where(other, rng.integers(1, NUM_CLASSES, n_hi), 0)
        if has[i] and counts[i]:
            out[int(tid)] = offset[: counts[i]]
    return out


def _duplicates(rng, tp, ids, slots, jitter, s_lo, s_hi):
    """Step 4b of the module docstring for one frame -> (rows (D, 6), source ids (D,) = -2)."""
    base, cls = [], []
    for row, tid in zip(tp, ids):
        for off in slots.get(int(tid), ()):
            base.append(row)
            cls.append((row[5] + off) % NUM_CLASSES)
    if not base:
        return np.zeros((0, 6)), np.zeros(0, dtype=np.int64)
    base = np.array(base)
    n = len(base)
    w, h = base[:, 2] - base[:, 0], base[:, 3] - base[:, 1]
    cx = (base[:, 0] + base[:, 2]) / 2 + rng.normal(0.0, 1.0, n) * jitter * w
    cy = (base[:, 1] + base[:, 3]) / 2 + rng.normal(0.0, 1.0, n) * jitter * h
    w = w * np.exp(rng.normal(0.0, 1.0, n) * jitter)
    h = h * np.exp(rng.normal(0.0, 1.0, n) * jitter)
    out = np.column_stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2, rng.uniform(s_lo, s_hi, n), cls])
    return out, np.full(n, DUPLICATE, dtype=np.int64)
