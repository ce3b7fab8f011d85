"""Paired cluster bootstrap over scenes for the change in a tracking metric between two detectors,
and the verdict, which comes from a paired permutation test over the same scenes.

:func:`scene_resample` resamples scenes (any number of conditions with the same draws);
:func:`paired_bootstrap` is the two-detector interval and test. Why scenes, the expanded
percentile interval and the verdict rule: docs/tuning-and-comparison.md, "The scene bootstrap".
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Callable, Mapping, Sequence

import numpy as np

from detbench.compare.permutation import N_DRAWS, sign_flip_test
from detbench.data.splits import scene_of  # one definition of a sequence's scene (also imported from here)
from detbench.evaluate import metric_specs

# metric name -> (count fields it needs, function of summed counts (B, k) -> (B,), higher_is_better);
# the rules of detbench's metrics are in :mod:`detbench.evaluate.metric_specs`
CountMetric = tuple[tuple[str, ...], Callable[[np.ndarray], np.ndarray], bool]
PerSequence = Mapping[str, Mapping[str, float]]

@dataclass(frozen=True)
class SceneResample:
    """Bootstrap draws over the scenes of ``sequences``.

    ``weights[b, j]`` is how many times resample ``b`` drew scene ``scenes[j]``; a drawn scene
    contributes all of its sequences. Apply the same object to every condition to pair them."""

    sequences: tuple[str, ...]
    scenes: tuple[str, ...]
    scene_index: np.ndarray   # (n_sequences,) index into ``scenes`` of each sequence
    weights: np.ndarray       # (n_resamples, n_scenes) draw counts, each row sums to n_scenes

    @property
    def n_resamples(self) -> int:
        return int(self.weights.shape[0])

    def scene_counts(self, per_seq: PerSequence, fields: Sequence[str]) -> np.ndarray:
        """(n_scenes, k): ``fields`` summed over each scene's sequences."""
        counts = np.array([[float(per_seq[s][f]) for f in fields] for s in self.sequences],
                          dtype=np.float64).reshape(len(self.sequences), len(fields))
        out = np.zeros((len(self.scenes), len(fields)))
        np.add.at(out, self.scene_index, counts)
        return out

    def totals(self, per_seq: PerSequence, fields: Sequence[str]) -> np.ndarray:
        """(1, k): ``fields`` summed over every sequence (the point estimate's counts)."""
        return self.scene_counts(per_seq, fields).sum(axis=0, keepdims=True)

    def sums(self, per_seq: PerSequence, fields: Sequence[str]) -> np.ndarray:
        """(n_resamples, k): ``fields`` summed over each resample's drawn scenes' sequences."""
        return self.weights @ self.scene_counts(per_seq, fields)


def scene_resample(sequences: Sequence[str], n_resamples: int = 2000, seed: int = 0,
                   cluster_of: Callable[[str], str] = scene_of) -> SceneResample:
    """Draw ``n_resamples`` resamples of the scenes of ``sequences`` (``cluster_of`` names the
    resampled unit of each sequence; ``lambda s: s`` resamples sequences as if independent)."""
    seqs = tuple(sorted(sequences))
    if not seqs:
        raise ValueError("no sequences to resample")
    labels = [cluster_of(s) for s in seqs]
    scenes = tuple(sorted(set(labels)))
    index = np.searchsorted(np.array(scenes), np.array(labels))
    n = len(scenes)
    draws = np.random.default_rng(seed).integers(0, n, size=(n_resamples, n))
    flat = (draws + n * np.arange(n_resamples)[:, None]).ravel()
    weights = np.bincount(flat, minlength=n_resamples * n).reshape(n_resamples, n).astype(np.float64)
    return SceneResample(seqs, scenes, index, weights)


@dataclass(frozen=True)
class BootstrapResult:
    metric: str
    value_a: float
    value_b: float
    delta: float          # b - a on all sequences
    low: float | None     # lower end of the 95 % interval (:func:`interval`); None: < 2 scenes
    high: float | None    # upper end
    n_resamples: int
    n_sequences: int
    n_scenes: int         # the resampled units the interval (and the test) rest on
    seed: int
    higher_is_better: bool
    # the paired permutation test over the same units (:mod:`detbench.compare.permutation`): it decides
    p_value: float | None = None    # None: < 2 scenes, no test
    test_patterns: int = 0          # swap patterns compared: 2^n_scenes (exact) or random draws
    test_exact: bool = True
    alpha: float = 0.05             # a verdict when p_value < alpha

    @property
    def excludes_zero(self) -> bool:
        """The interval excludes zero (shown beside the verdict; it does not decide it)."""
        return self.low is not None and (self.low > 0 or self.high < 0)

    @property
    def significant(self) -> bool:
        """The test's p-value is below ``alpha``: this, and only this, gives a verdict."""
        return self.p_value is not None and self.p_value < self.alpha

    def verdict(self, name_a: str, name_b: str) -> str | None:
        """A sentence only when the test gives p < alpha, else None; when the interval includes
        zero all the same, the sentence says so."""
        if not self.significant:
            return None
        better = (self.delta > 0) == self.higher_is_better
        text = (f"{name_b} {'better' if better else 'worse'} than {name_a} on {self.metric}: "
                f"{self.delta:+.4g} (p = {self.p_value:.2g}; 95% CI {self.low:+.4g} .. {self.high:+.4g})")
        return text if self.excludes_zero else text + "; the interval includes 0, the test decides"

    def to_dict(self) -> dict:
        d = asdict(self)
        d["excludes_zero"] = self.excludes_zero
        d["significant"] = self.significant
        return d


def no_verdict_reason(result: Mapping) -> str:
    """Why a change (a :meth:`BootstrapResult.to_dict`) has no verdict, in a few words."""
    if result.get("p_value") is None:
        return "no verdict (one scene: no test)"
    note = "; the interval excludes 0, the test decides" if result.get("excludes_zero") else ""
    return f"no verdict (p = {result['p_value']:.2g} >= {result.get('alpha', 0.05):g}{note})"


def interval(deltas: np.ndarray, n_units: int, level: float = 0.95) -> tuple[float, float]:
    """The expanded percentile interval (module docstring) of resampled ``deltas`` drawn from
    ``n_units`` resampled units (scenes); ``(nan, nan)`` with fewer than 2 units, where resampling
    says nothing about the spread."""
    from scipy import special  # norm.cdf is ndtr, t.ppf is stdtrit: scipy.stats itself costs a second to import

    if n_units < 2:
        return float("nan"), float("nan")
    tail = float(special.ndtr(-np.sqrt(n_units / (n_units - 1)) * special.stdtrit(n_units - 1, 0.5 + level / 2)))
    low, high = np.quantile(np.asarray(deltas, dtype=np.float64), [tail, 1.0 - tail])
    return float(low), float(high)


def paired_bootstrap(per_seq_a: PerSequence, per_seq_b: PerSequence, metric: str, n_resamples: int = 2000,
                     seed: int = 0, level: float = 0.95, metrics: Mapping[str, CountMetric] | None = None,
                     cluster_of: Callable[[str], str] = scene_of, n_draws: int = N_DRAWS) -> BootstrapResult:
    """Interval for ``metric(b) - metric(a)`` over the scenes of the sequences present in both, and
    the paired permutation test's p-value over the same scenes (the verdict: p < ``1 - level``).

    ``per_seq_x[seq]`` maps count names (``IDSW``, ``TP``, ``FN``, ``FP``, ...) to integers.
    ``cluster_of``: the resampled (and swapped) unit of a sequence (default its scene, :func:`scene_of`).
    ``metrics``: rules beside (or instead of) those of :mod:`detbench.evaluate.metric_specs`.
    ``n_draws``: the test's random swap patterns when it cannot enumerate them all (``seed`` seeds
    them too; :mod:`detbench.compare.permutation`).
    """
    table = dict(metric_specs.bootstrap_rules(), **(metrics or {}))
    if metric not in table:
        raise KeyError(f"no bootstrap rule for metric {metric!r}; known: {', '.join(sorted(table))}")
    fields, fn, higher = table[metric]
    seqs = sorted(set(per_seq_a) & set(per_seq_b))
    if not seqs:
        raise ValueError("no sequence is scored for both detectors")
    draws = scene_resample(seqs, n_resamples, seed, cluster_of)
    scene_a, scene_b = draws.scene_counts(per_seq_a, fields), draws.scene_counts(per_seq_b, fields)
    value_a = float(fn(scene_a.sum(axis=0, keepdims=True))[0])
    value_b = float(fn(scene_b.sum(axis=0, keepdims=True))[0])
    deltas = fn(draws.weights @ scene_b) - fn(draws.weights @ scene_a)
    low, high = (None if np.isnan(v) else v for v in interval(deltas, len(draws.scenes), level))
    test = sign_flip_test(scene_a, scene_b, fn, n_draws=n_draws, seed=seed)
    return BootstrapResult(metric=metric, value_a=value_a, value_b=value_b, delta=value_b - value_a,
                           low=low, high=high, n_resamples=n_resamples,
                           n_sequences=len(seqs), n_scenes=len(draws.scenes), seed=seed,
                           higher_is_better=higher, p_value=None if test is None else test.p_value,
                           test_patterns=0 if test is None else test.n_patterns,
                           test_exact=True if test is None else test.exact, alpha=round(1.0 - level, 10))
