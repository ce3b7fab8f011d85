"""Scene-level bootstrap bands for the sensitivity curves (local; to be merged with the scene
cluster bootstrap of :mod:`detbench.compare.bootstrap` once both are on one branch).

Scenes and seeds resampled, metrics recomputed from summed counts, 2.5 / 97.5 percentiles. The
rule and its metrics: docs/sensitivity.md, "The bands".
"""
from __future__ import annotations

import numpy as np

from detbench.compare.bootstrap import scene_of  # one definition of a sequence's scene
from detbench.evaluate import metric_specs

METRICS = metric_specs.shown("sensitivity")
_NEEDED = tuple(dict.fromkeys(f for m in METRICS for f in metric_specs.spec(m).counts))
# the count fields of every cell: the summary's counts first (IDSW, TP, FN, FP), then HOTA's per-alpha sums
FIELDS = (tuple(f for f in _NEEDED if f in metric_specs.SPECS)
          + tuple(f for f in _NEEDED if f not in metric_specs.SPECS))


def _columns(c: np.ndarray, fields: tuple[str, ...]) -> np.ndarray:
    """The ``fields`` columns of ``c``: a slice when they are consecutive (HOTA's 76: the numbers,
    to the last bit, of slicing them by hand), else a copy."""
    idx = [FIELDS.index(f) for f in fields]
    return c[:, idx[0]:idx[-1] + 1] if idx == list(range(idx[0], idx[-1] + 1)) else c[:, idx]


def metrics_from_sums(c: np.ndarray, n_seed_draws: float) -> dict[str, np.ndarray]:
    """(B, len(FIELDS)) summed counts -> {metric: (B,)}; a count metric per seed draw."""
    c = np.asarray(c, dtype=np.float64).reshape(-1, len(FIELDS))
    out = {}
    for m in METRICS:
        s = metric_specs.spec(m)
        v = s.from_counts(_columns(c, s.counts))
        out[m] = v / n_seed_draws if s.is_count else v
    return out


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
