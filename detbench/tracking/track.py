"""``track``: one tracking run from its source to ``<out>/<seq>.txt`` (what ``detbench track`` runs).

The source and default output folder are :func:`detbench.tracking.sources.select_source`'s, the
run is :func:`detbench.tracking.run.track_split`'s; when not one track box came out,
:func:`no_tracks_hint` says whether the tracker's score thresholds are the reason.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from detbench.core.fileio import ensure_writable
from detbench.detect.resolved import ResolvedDetector
from detbench.motion.weights import with_default_weights
from detbench.tracking.run import track_split
from detbench.tracking.sources import select_source


@dataclass
class TrackResult:
    out_dir: Path
    meta: dict             # the run's meta.json (``"reused": True`` when the folder already held it)
    rows: int              # track boxes written, all sequences
    hint: str | None       # with rows == 0: why, when the detections tell (:func:`no_tracks_hint`)
    used: str | None = None  # a detector's run, checkpoint and detection cache (TrackSource.used)

    @property
    def reused(self) -> bool:
        return bool(self.meta.get("reused"))


def track(tracker: str, options: dict | None = None, detector: ResolvedDetector | None = None,
          dets_dir: str | Path | None = None, seq_dir: str | Path | None = None, out_dir: str | Path | None = None,
          jobs: int = 1, force: bool = False, progress: Callable[[int, int], None] | None = None,
          tell: Callable[[str], None] | None = None) -> TrackResult:
    """Run ``tracker`` (with parameter overrides ``options``) over the sequences of the source
    :func:`~detbench.tracking.sources.select_source` picks: ``detector`` (resolved at the command:
    its dataset, split and device are on the value) or ``dets_dir`` / ``seq_dir``, into
    ``out_dir`` (default: that function's); ``jobs`` worker processes (results do not depend on
    it); ``force``: recompute even when the output holds the same inputs. The output folder is
    checked writable, and apart from every input (never one of them, holding one or inside one),
    before tracking.
    ``progress(done, total)``: sequences tracked, called with 0 before the first. ``tell(line)``:
    called before tracking with the run, checkpoint and detection cache of ``detector``.
    """

    options = with_default_weights(tracker, options)   # TrackSSM's unset weights: the latest model, named
    given = {"--dets": dets_dir, "--sequences": seq_dir, "--data": detector.data_dir if detector else None}
    if out_dir is not None:  # before any detection is computed
        ensure_writable(out_dir, "tracking results", inputs=given)
    source = select_source(tracker, detector=detector, dets_dir=dets_dir, seq_dir=seq_dir, out_dir=out_dir)
    ensure_writable(source.out_dir, "tracking results",
                    inputs={**given, "detection cache": source.extra_meta.get("cache_dir"),
                            "dataset": source.extra_meta.get("data_dir")})
    if tell and source.used:
        tell(source.used)
    total, done = len(source.jobs), [0]

    def one_done(_name: str) -> None:
        done[0] += 1
        progress(done[0], total)

    if progress:
        progress(0, total)
    meta = track_split(source.jobs, tracker, source.out_dir, options, n_jobs=jobs, extra_meta=source.extra_meta,
                       force=force, progress=one_done if progress else None)
    rows = sum(s.get("rows", 0) for s in meta["sequences"].values())
    hint = no_tracks_hint(source.jobs, meta.get("params") or {}, tracker, detector.name if detector else None) \
        if rows == 0 else None
    return TrackResult(source.out_dir, meta, rows, hint, source.used)


def no_tracks_hint(jobs, params: dict, tracker: str, detector: str | None) -> str | None:
    """No track box at all: count the detections under each score threshold of the tracker."""
    import numpy as np

    scores = np.concatenate([d[:, 4] for j in jobs for d in j.load_detections()] or [np.zeros(0)])
    if not len(scores):
        return "the detections are empty: there was nothing to track"
    skip = ("match", "iou", "proximity", "appearance")
    thresholds = {k: v for k, v in params.items() if isinstance(v, float) and not isinstance(v, bool)
                  and ("thresh" in k or k in ("min_score", "min_conf")) and not any(s in k for s in skip)}
    below = ", ".join(f"{int((scores < v).sum())} under {k}={v:g}" for k, v in sorted(thresholds.items(),
                                                                                   key=lambda kv: -kv[1]))
    tune = f"detbench tune --tracker {tracker}" + (f" --detector {detector}" if detector else "")
    return (f"0 track boxes from {len(scores)} detections scoring at most {scores.max():.3g}"
            + (f" ({below})" if below else "") + f": the tracker's score thresholds sit above this "
            f"detector's scores; lower them with --tracker-opt KEY=VALUE or run `{tune}`")
