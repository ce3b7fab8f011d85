"""Paired permutation test over scenes: did a metric change between two detectors?

Swaps the two detectors' counts within scenes and recomputes the change from the summed counts;
p is exact under no change. Exchangeability, the smallest p and the random draws beyond
:data:`EXACT_MAX_SCENES`: docs/tuning-and-comparison.md, "The permutation test".
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
