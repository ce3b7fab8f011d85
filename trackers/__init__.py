"""Tracker registry: one plain dict, name -> tracker class (imported lazily).

``make_tracker(name, options, frame_rate)`` builds one; unknown names or options raise
:class:`detbench.errors.InputError` listing the valid ones. Every tracker follows
:class:`trackers.base.Tracker`.
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


def make_tracker(name: str, options: dict[str, Any] | None = None, frame_rate: float = 2.0):
    """Instantiate tracker ``name`` with ``options`` (strings allowed) for a sequence at ``frame_rate`` Hz."""
    from trackers.base import params_from_options

    cls = tracker_class(name)
    params = params_from_options(cls.Params, options, name)
    return cls(params, frame_rate=frame_rate)
