"""Scene-level bootstrap bands for the sensitivity curves (local; to be merged with the scene
cluster bootstrap of :mod:`detbench.compare.bootstrap` once both are on one branch).

A study point has counts per cell (scene, seed): a scene is ``<scene>`` of the sequences
``<scene>_<CAM>`` (its cameras see the same objects, so they are one cluster, never independent
samples), a seed is one draw of the synthetic detections. Each resample draws scenes with
replacement and, independently, seeds with replacement; the counts of the drawn cells are summed
(with multiplicity) and the metric recomputed from the sums, never by averaging ratios. The band
is the 2.5 / 97.5 percentiles. With one scene (the fixture) the band is the seed-to-seed spread
only, and the report says so.

Metrics from summed counts: IDSW (per seed draw, i.e. per run of the split), MOTA = 1 - (FN +
FP + IDSW) / (TP + FN), and HOTA / DetA / AssA from TrackEval's per-alpha sums
(:mod:`detbench.compare.hota_bootstrap`).
"""
from __future__ import annotations

import numpy as np

from detbench.compare.hota_bootstrap import FIELDS as HOTA_FIELDS
from detbench.compare.hota_bootstrap import deta_assa_from_counts
from detbench.compare.bootstrap import scene_of  # one definition of a sequence's scene

CLEAR_FIELDS = ("IDSW", "TP", "FN", "FP")
FIELDS = CLEAR_FIELDS + HOTA_FIELDS
METRICS = ("IDSW", "HOTA", "AssA", "DetA", "MOTA")


def metrics_from_sums(c: np.ndarray, n_seed_draws: float) -> dict[str, np.ndarray]:
    """(B, len(FIELDS)) summed counts -> {metric: (B,)}."""
    c = np.asarray(c, dtype=np.float64).reshape(-1, len(FIELDS))
    idsw, tp, fn, fp = (c[:, i] for i in range(4))
    det_a, ass_a = deta_assa_from_counts(c[:, 4:])
    gt = tp + fn
    return {
        "IDSW": idsw / n_seed_draws,
        "MOTA": 1.0 - np.divide(fn + fp + idsw, gt, out=np.ones_like(gt), where=gt > 0),
        "HOTA": np.sqrt(det_a * ass_a).mean(axis=1),
        "DetA": det_a.mean(axis=1),
        "AssA": ass_a.mean(axis=1),
    }


def cell_counts(per_seed_counts: dict[int, dict[str, dict[str, float]]]) -> tuple[np.ndarray, list[str], list[int]]:
    """``{seed: {sequence: {field: count}}}`` -> counts (scenes, seeds, fields), scenes, seeds."""
    seeds = sorted(per_seed_counts)
    scenes = sorted({scene_of(s) for seq_counts in per_seed_counts.values() for s in seq_counts})
    out = np.zeros((len(scenes), len(seeds), len(FIELDS)))
    for k, seed in enumerate(seeds):
        for seq, counts in per_seed_counts[seed].items():
            s = scenes.index(scene_of(seq))
            out[s, k] += [float(counts[f]) for f in FIELDS]
    return out, scenes, seeds


def scene_seed_bands(cells: np.ndarray, n_resamples: int = 1000, seed: int = 0,
                     level: float = 0.95) -> dict[str, dict[str, float]]:
    """{metric: {"value", "low", "high"}} from (scenes, seeds, fields) cell counts."""
    n_scenes, n_seeds, _ = cells.shape
    value = metrics_from_sums(cells.sum(axis=(0, 1))[None], n_seeds)
    rng = np.random.default_rng(seed)
    ws = rng.multinomial(n_scenes, np.full(n_scenes, 1.0 / n_scenes), size=n_resamples).astype(np.float64)
    wk = rng.multinomial(n_seeds, np.full(n_seeds, 1.0 / n_seeds), size=n_resamples).astype(np.float64)
    sums = np.einsum("bs,bk,skf->bf", ws, wk, cells)
    boot = metrics_from_sums(sums, n_seeds)
    a = (1.0 - level) / 2
    out = {}
    for m in METRICS:
        lo, hi = np.quantile(boot[m], [a, 1 - a])
        out[m] = {"value": float(value[m][0]), "low": float(lo), "high": float(hi)}
    return out
