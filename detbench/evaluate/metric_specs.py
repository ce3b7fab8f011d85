"""Every fact about detbench's tracking metrics, in one table.

A :class:`MetricSpec` says where the summary reads a metric from TrackEval's results, whether it
is a count (an int, summed over sequences and classes) or a ratio (a fraction, derived once from
summed counts; shown in percent), which direction is better, and how a bootstrap recomputes it
from counts summed over resampled sequences. :data:`TABLES` says which metrics each table or
plot shows, in which order. Read by the summary (:mod:`detbench.evaluate.combine`), the terminal
table (:mod:`detbench.evaluate.table`), ``detbench eval --json`` (``higher_is_better``), the
bootstrap (:mod:`detbench.compare.bootstrap`), compare's reports and plots
(:mod:`detbench.compare.report`, :mod:`detbench.compare.plots`, :mod:`detbench.compare.pipeline`),
``detbench tune``'s rows (:mod:`detbench.tuning.tune`) and the sensitivity study's bands, tables and plots
(:mod:`detbench.sensitivity.bands`, ``.report``, ``.plots``, ``.study``).
Everything reads this module at call time, so a test can add a metric by patching
:data:`SPECS` and :data:`TABLES` (``docs/contracts.md``, "Adding a metric").
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from detbench.evaluate import hota_counts

# (B, k) counts summed over each resample's sequences -> (B,) metric values
FromCounts = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class MetricSpec:
    name: str
    kind: str                       # "count" (int, summed) or "ratio" (fraction, derived from counts)
    source: tuple[str, str]         # (TrackEval metric, field) the summary reads; per-alpha arrays: their mean
    higher_is_better: bool | None   # None: neither direction is better (PT)
    counts: tuple[str, ...] = ()    # per-sequence count fields ``from_counts`` reads, in order
    from_counts: FromCounts | None = None   # None: no bootstrap rule

    @property
    def is_count(self) -> bool:
        return self.kind == "count"

    def display(self, value, digits: int = 2) -> str:
        """A count as an int; a ratio in percent with ``digits`` decimals."""
        return f"{int(value)}" if self.is_count else f"{100 * value:.{digits}f}"


def _safe_div(num, den):
    num = np.asarray(num, dtype=np.float64)
    den = np.asarray(den, dtype=np.float64)
    return np.divide(num, den, out=np.zeros_like(num), where=den > 0)


def _first(c: np.ndarray) -> np.ndarray:
    return c[:, 0]


def _mota(c: np.ndarray) -> np.ndarray:
    # TrackEval's combination of counts (trackeval/metrics/clear.py, _compute_final_fields):
    # MOTA = (TP - FP - IDSW) / max(1, GT), GT = TP + FN (TP counts every match, switches
    # included), written 1 - (FN + FP + IDSW) / GT when GT > 0; with no GT, -(FP + IDSW). (Its
    # eval_sequence returns MOTA 0 for one sequence without GT before computing anything; summed
    # counts are a combination, so the combined rule applies.)
    tp, fn, fp, idsw = (c[:, i] for i in range(4))
    gt = tp + fn
    return np.where(gt > 0, 1.0 - _safe_div(fn + fp + idsw, gt), -(fp + idsw))


def _count(name: str, field: str, higher: bool | None, bootstrap: bool = False) -> MetricSpec:
    return MetricSpec(name, "count", ("CLEAR", field), higher,
                      *(((name,), _first) if bootstrap else ()))


def _ratio(name: str, metric: str, field: str | None = None) -> MetricSpec:
    return MetricSpec(name, "ratio", (metric, field or name), True)


# the summary's keys, in the order of every summary dict (the JSON contract of ``detbench eval``)
SPECS: dict[str, MetricSpec] = {s.name: s for s in (
    MetricSpec("HOTA", "ratio", ("HOTA", "HOTA"), True, hota_counts.FIELDS, hota_counts.hota_from_counts),
    MetricSpec("DetA", "ratio", ("HOTA", "DetA"), True, hota_counts.FIELDS, hota_counts.deta_from_counts),
    MetricSpec("AssA", "ratio", ("HOTA", "AssA"), True, hota_counts.FIELDS, hota_counts.assa_from_counts),
    _ratio("LocA", "HOTA"),
    MetricSpec("MOTA", "ratio", ("CLEAR", "MOTA"), True, ("TP", "FN", "FP", "IDSW"), _mota),
    _ratio("MOTP", "CLEAR"),
    _count("IDSW", "IDSW", False, bootstrap=True), _count("Frag", "Frag", False),
    _count("FP", "CLR_FP", False, bootstrap=True), _count("FN", "CLR_FN", False, bootstrap=True),
    _count("TP", "CLR_TP", True),
    _count("MT", "MT", True), _count("PT", "PT", None), _count("ML", "ML", False),
    _ratio("IDF1", "Identity"), _ratio("IDP", "Identity"), _ratio("IDR", "Identity"),
)}

# which metrics each table or plot shows, in order
TABLES: dict[str, tuple[str, ...]] = {
    "eval": ("HOTA", "DetA", "AssA", "MOTA", "IDF1", "IDSW", "FP", "FN", "TP", "Frag", "MT", "ML"),
    "compare": ("IDSW", "MOTA", "HOTA", "IDF1", "DetA", "AssA", "FP", "FN", "MT", "ML"),
    "compare_change": ("IDSW", "MOTA", "HOTA"),   # change between detectors, with a bootstrap interval
    "compare_plot": ("IDSW", "MOTA", "HOTA"),     # the bars of comparison.png and metrics_vs_epoch.png
    # detbench sensitivity: the curves, bands, plots and results table (from summed counts: each
    # needs a bootstrap rule), the zero-degradation table, the per-class summary and its table
    "tune": ("HOTA", "IDSW", "MOTA", "IDF1"),       # each grid point's row of a tuning (rows in its JSON)
    "tune_progress": ("HOTA", "IDSW", "MOTA"),    # detbench tune's line per grid point
    "sensitivity": ("IDSW", "HOTA", "AssA", "DetA", "MOTA"),
    "sensitivity_zero": ("HOTA", "DetA", "AssA", "LocA", "MOTA", "IDSW", "FN", "FP"),
    "sensitivity_class": ("HOTA", "DetA", "AssA", "MOTA", "IDSW", "IDF1"),
    "sensitivity_class_md": ("HOTA", "DetA", "AssA", "MOTA", "IDSW"),
}


def spec(name: str) -> MetricSpec:
    return SPECS[name]


def names() -> tuple[str, ...]:
    """Every summary key, in summary order."""
    return tuple(SPECS)


def shown(table: str) -> tuple[str, ...]:
    return TABLES[table]


def higher_is_better() -> dict[str, bool | None]:
    return {s.name: s.higher_is_better for s in SPECS.values()}


def bootstrap_rules() -> dict[str, tuple[tuple[str, ...], FromCounts, bool]]:
    """{metric: (count fields, function of summed counts, higher_is_better)} for every metric with
    a bootstrap rule."""
    return {s.name: (s.counts, s.from_counts, s.higher_is_better) for s in SPECS.values() if s.from_counts}

