"""Paired permutation test over scenes: did a metric change between two detectors?

If the detector makes no difference, each scene's two sets of counts (detector a's, detector b's)
are exchangeable: which one is called a and which b could have been swapped, scene by scene,
without changing their joint distribution. The test swaps them: for every *swap pattern* (a
subset of the scenes whose a and b counts trade places) it sums each side's counts over all
scenes and recomputes the change in the metric from the summed counts, exactly as the observed
change is computed (never by averaging ratios; HOTA from its per-alpha sums). The two-sided
p-value is the share of patterns whose change is at least as large in absolute value as the
observed one (the observed pattern, no swap, counts too). Under no change that p-value is exact:
a verdict at p < 0.05 comes up in at most 5 % of comparisons, whatever the number of scenes and
however skewed the counts, where the bootstrap interval's coverage is only asymptotic (both
rules' false-verdict rates with 8 and 30 scenes: ``python benchmarks/bench_null_verdicts.py``,
recorded in benchmarks/README.md).

With ``n`` scenes there are ``2^n`` patterns; a pattern and its complement give opposite changes,
so the smallest possible p-value is ``2 / 2^n``: with 5 scenes or fewer no change can reach
p < 0.05, and the test says so by never giving a verdict. Up to :data:`EXACT_MAX_SCENES` scenes
every pattern is enumerated (4,096 at 12 scenes); beyond, ``n_draws`` patterns are drawn at random
(seeded, each scene swapped with probability 1/2) and ``p = (1 + hits) / (1 + n_draws)``, still a
valid p-value; its Monte Carlo error is about ``sqrt(p (1 - p) / n_draws)``, 0.002 at p = 0.05
with the default 10,000 draws.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

EXACT_MAX_SCENES = 12
N_DRAWS = 10_000
_CHUNK = 4096   # patterns per block (bounds the (patterns, fields) arrays)
# |change| >= |observed| up to floating-point noise: two patterns with the same summed counts in
# another order must tie, not differ in the last bit
_REL_TOL = 1e-9


@dataclass(frozen=True)
class PermutationTest:
    p_value: float
    n_patterns: int   # swap patterns compared with the observed one
    exact: bool       # True: all 2^n patterns; False: n_patterns random ones


def swap_patterns(n_scenes: int, n_draws: int = N_DRAWS, seed: int = 0) -> tuple[np.ndarray, bool]:
    """(patterns, exact): ``patterns[p, j]`` is 1 when pattern ``p`` swaps scene ``j``'s counts.
    Every one of the ``2^n`` patterns (row 0: no swap) up to :data:`EXACT_MAX_SCENES` scenes,
    else ``n_draws`` random ones."""
    if n_scenes <= EXACT_MAX_SCENES:
        codes = np.arange(2 ** n_scenes)[:, None]
        return ((codes >> np.arange(n_scenes)) & 1).astype(np.float64), True
    return np.random.default_rng(seed).integers(0, 2, size=(n_draws, n_scenes)).astype(np.float64), False


def sign_flip_test(scene_a: np.ndarray, scene_b: np.ndarray, from_counts: Callable[[np.ndarray], np.ndarray],
                   n_draws: int = N_DRAWS, seed: int = 0) -> PermutationTest | None:
    """The paired permutation test (module docstring) of ``from_counts(sum b) - from_counts(sum a)``.

    ``scene_a``, ``scene_b``: (n_scenes, k) counts per scene (rows paired: the same scene);
    ``from_counts``: summed counts (P, k) -> (P,) metric values. None with fewer than 2 scenes."""
    a = np.asarray(scene_a, dtype=np.float64)
    b = np.asarray(scene_b, dtype=np.float64)
    if a.shape != b.shape or a.ndim != 2:
        raise ValueError(f"paired scene counts must have one shape (scenes, fields), got {a.shape} and {b.shape}")
    n = a.shape[0]
    if n < 2:
        return None
    total_a, total_b, diff = a.sum(axis=0), b.sum(axis=0), b - a
    observed = abs(float(from_counts(total_b[None])[0] - from_counts(total_a[None])[0]))
    bar = observed - _REL_TOL * max(1.0, observed)
    patterns, exact = swap_patterns(n, n_draws, seed)
    hits = 0
    for start in range(0, len(patterns), _CHUNK):
        moved = patterns[start:start + _CHUNK] @ diff       # what the swapped scenes move from b to a
        change = from_counts(total_b - moved) - from_counts(total_a + moved)
        hits += int(np.count_nonzero(np.abs(change) >= bar))
    if exact:
        return PermutationTest(p_value=hits / len(patterns), n_patterns=len(patterns), exact=True)
    return PermutationTest(p_value=(1 + hits) / (1 + len(patterns)), n_patterns=len(patterns), exact=False)
