"""Paired bootstrap over sequences for the change in a tracking metric between two detectors.

Sequences are resampled with replacement (the same resampled set for both detectors: paired);
for each resample the metric is recomputed *from summed counts* (never by averaging ratios),
and the 2.5 / 97.5 percentiles of the per-resample differences give the 95 % interval.
A verdict is only issued when the interval excludes zero.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Callable, Mapping, Sequence

import numpy as np

# metric name -> (count fields it needs, function of summed counts (B, k) -> (B,), higher_is_better)
CountMetric = tuple[tuple[str, ...], Callable[[np.ndarray], np.ndarray], bool]


def _safe_div(num, den):
    num = np.asarray(num, dtype=np.float64)
    den = np.asarray(den, dtype=np.float64)
    return np.divide(num, den, out=np.zeros_like(num), where=den > 0)


COUNT_METRICS: dict[str, CountMetric] = {
    "IDSW": (("IDSW",), lambda c: c[:, 0], False),
    "FP": (("FP",), lambda c: c[:, 0], False),
    "FN": (("FN",), lambda c: c[:, 0], False),
    # MOTA = 1 - (FN + FP + IDSW) / GT, GT = TP + FN (TP counts every match, switches included)
    "MOTA": (("TP", "FN", "FP", "IDSW"),
             lambda c: 1.0 - _safe_div(c[:, 1] + c[:, 2] + c[:, 3], c[:, 0] + c[:, 1]), True),
}


@dataclass(frozen=True)
class BootstrapResult:
    metric: str
    value_a: float
    value_b: float
    delta: float          # b - a on all sequences
    low: float            # 2.5th percentile of resampled deltas
    high: float           # 97.5th percentile
    n_resamples: int
    n_sequences: int
    seed: int
    higher_is_better: bool

    @property
    def excludes_zero(self) -> bool:
        return self.low > 0 or self.high < 0

    def verdict(self, name_a: str, name_b: str) -> str | None:
        """A sentence only when the interval excludes zero, else None."""
        if not self.excludes_zero:
            return None
        better = (self.delta > 0) == self.higher_is_better
        return (f"{name_b} {'better' if better else 'worse'} than {name_a} on {self.metric}: "
                f"{self.delta:+.4g} (95% CI {self.low:+.4g} .. {self.high:+.4g})")

    def to_dict(self) -> dict:
        d = asdict(self)
        d["excludes_zero"] = self.excludes_zero
        return d


def _count_matrix(per_seq: Mapping[str, Mapping[str, float]], seqs: Sequence[str], fields: Sequence[str]) -> np.ndarray:
    return np.array([[float(per_seq[s][f]) for f in fields] for s in seqs], dtype=np.float64).reshape(len(seqs), len(fields))


def paired_bootstrap(per_seq_a: Mapping[str, Mapping[str, float]], per_seq_b: Mapping[str, Mapping[str, float]],
                     metric: str, n_resamples: int = 2000, seed: int = 0, level: float = 0.95,
                     metrics: Mapping[str, CountMetric] | None = None) -> BootstrapResult:
    """Interval for ``metric(b) - metric(a)`` over sequences present in both ``per_seq_*``.

    ``per_seq_x[seq]`` maps count names (``IDSW``, ``TP``, ``FN``, ``FP``, ...) to integers.
    """
    table = dict(COUNT_METRICS, **(metrics or {}))
    if metric not in table:
        raise KeyError(f"no bootstrap rule for metric {metric!r}; known: {', '.join(sorted(table))}")
    fields, fn, higher = table[metric]
    seqs = sorted(set(per_seq_a) & set(per_seq_b))
    if not seqs:
        raise ValueError("no sequence is scored for both detectors")
    ca = _count_matrix(per_seq_a, seqs, fields)
    cb = _count_matrix(per_seq_b, seqs, fields)
    value_a = float(fn(ca.sum(axis=0, keepdims=True))[0])
    value_b = float(fn(cb.sum(axis=0, keepdims=True))[0])
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(seqs), size=(n_resamples, len(seqs)))
    deltas = fn(cb[idx].sum(axis=1)) - fn(ca[idx].sum(axis=1))
    alpha = (1.0 - level) / 2
    low, high = np.quantile(deltas, [alpha, 1 - alpha])
    return BootstrapResult(metric=metric, value_a=value_a, value_b=value_b, delta=value_b - value_a,
                           low=float(low), high=float(high), n_resamples=n_resamples,
                           n_sequences=len(seqs), seed=seed, higher_is_better=higher)
