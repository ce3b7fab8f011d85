"""Tracker registry: one plain dict, name -> tracker class (imported lazily).

``make_tracker(name, options, frame_rate)`` builds one; unknown names or options raise
:class:`detbench.errors.InputError` listing the valid ones. Every tracker follows
:class:`trackers.base.Tracker` and is built behind the detection clean-up
(:mod:`trackers.cleanup`: ``nms_iou``, ``nms_fuse``, ``min_box_px``, ``recal_band``, options of
every tracker, off by default), so every tracker sees the same cleaned detections.
"""
from __future__ import annotations

import importlib
from typing import Any

# name -> "module:Class" (imported on first use so `import trackers` stays cheap)
TRACKERS: dict[str, str] = {
    "iou": "trackers.iou:IouTracker",
    "botsort": "trackers.botsort:BotSortTracker",
    "bytetrack": "trackers.bytetrack:ByteTrackTracker",
    "ocsort": "trackers.ocsort:OcSortTracker",
    "trackssm": "trackers.trackssm.tracker:TrackSSMTracker",
    "trackssm-gated": "trackers.trackssm.tracker:TrackSSMGatedTracker",
}


def tracker_class(name: str):
    from detbench.errors import InputError

    if name not in TRACKERS:
        raise InputError(f"unknown tracker {name!r}; available: {', '.join(sorted(TRACKERS))}")
    module, cls = TRACKERS[name].split(":")
    return getattr(importlib.import_module(module), cls)


def tracker_params(name: str, options: dict[str, Any] | None = None):
    """(the tracker's own frozen Params, its :class:`trackers.cleanup.CleanupParams`) from
    ``options`` (strings allowed); an unknown key is an InputError listing both kinds."""
    from detbench.errors import InputError
    from trackers.base import params_from_options
    from trackers.cleanup import CLEANUP_KEYS, CleanupParams, split_options

    cls = tracker_class(name)
    clean, own = split_options(options)
    try:
        params = params_from_options(cls.Params, own, name)
    except InputError as e:
        if "unknown option" not in str(e):
            raise
        raise InputError(f"{e}; clean-up options of every tracker: {', '.join(CLEANUP_KEYS)}") from None
    return params, params_from_options(CleanupParams, clean, name)


def make_tracker(name: str, options: dict[str, Any] | None = None, frame_rate: float = 2.0):
    """Instantiate tracker ``name`` with ``options`` (strings allowed) for a sequence at ``frame_rate`` Hz,
    behind the detection clean-up (:class:`trackers.cleanup.CleanedTracker`)."""
    from trackers.cleanup import CleanedTracker

    params, cleanup = tracker_params(name, options)
    return CleanedTracker(tracker_class(name)(params, frame_rate=frame_rate), cleanup)
