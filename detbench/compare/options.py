"""What a comparison is asked for (:class:`ComparisonOptions`) and where it runs (:class:`RunContext`).

Frozen values a command builds once from its options and hands to
:func:`detbench.compare.pipeline.run_comparison`, beside the resolved detectors
(:mod:`detbench.detect.resolved`) and the trackers.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable


@dataclass(frozen=True)
class ComparisonOptions:
    """``name``: writes ``results/<name>/``. ``tracker_options``: {tracker: {key: value}} fixed for
    every pair. ``use_tuned``: each pair's own tuning from ``tune_split`` (an InputError when
    missing unless ``tune_missing``: run it first); otherwise the trackers' defaults.
    ``n_resamples`` and ``seed``: the paired bootstrap's."""

    name: str = "default"
    tracker_options: dict | None = None
    use_tuned: bool = True
    tune_missing: bool = False
    tune_split: str = "tune"
    n_resamples: int = 2000
    seed: int = 0


@dataclass(frozen=True)
class RunContext:
    """Where a comparison runs and writes: ``results_root`` (its tables and plots), ``executor``
    (:mod:`detbench.executors`; default: a pool of ``jobs`` processes on this machine; the files do
    not depend on it) and ``progress(line)``, told of each pair and tuning as it starts."""

    results_root: Path = Path("results")
    jobs: int = 1
    executor: object = None
    progress: Callable[[str], None] | None = None
