"""Tracker registry: one plain dict, name -> tracker class (imported lazily), and the
:class:`TrackerSpec` a name resolves to.

A tracker name is resolved once, by :func:`tracker_spec` (``name`` + ``options`` -> the class,
its parameters, the clean-up's, the files it reads, its tuning grid); the tracking run's cache
key, its workers, ``detbench tune`` and ``compare`` all use that spec. ``make_tracker(name,
options, frame_rate)`` is ``tracker_spec(name, options).build(frame_rate)``. Unknown names or
options raise :class:`detbench.core.errors.InputError` listing the valid ones. Every tracker follows
:class:`trackers.base.Tracker` and is built behind the detection clean-up
(:mod:`trackers.cleanup`: ``nms_iou``, ``nms_fuse``, ``nms_merge``, ``min_box_px``,
``recal_band``, ``box_buffer``, options of every tracker, off by default), so every tracker sees
the same cleaned detections.

Adding a tracker: docs/contracts.md, "Adding a tracker".
"""
from __future__ import annotations

import importlib
import inspect
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from detbench.core.errors import InputError
from trackers.base import input_files, needs_calibration, params_from_options
from trackers.cleanup import CLEANUP_KEYS, CleanedTracker, CleanupParams, split_options

# name -> "module:Class" (imported on first use so `import trackers` stays cheap), optionally
# "module:Class?key=value&key=value": a variant, the class with preset options (defaults a user's
# options override), so that e.g. BoT-SORT with the camera poses' motion compensation is a
# contender of its own in compare, tune and sensitivity (its own tuning, tracks and rows)
TRACKERS: dict[str, str] = {
    "iou": "trackers.iou:IouTracker",
    "botsort": "trackers.botsort:BotSortTracker",
    "bytetrack": "trackers.bytetrack:ByteTrackTracker",
    "ocsort": "trackers.ocsort:OcSortTracker",
    "botsort-pose": "trackers.botsort:BotSortTracker?cmc=pose",
    "bytetrack-pose": "trackers.bytetrack:ByteTrackTracker?cmc=pose",
    "ocsort-pose": "trackers.ocsort:OcSortTracker?cmc=pose",
    "trackssm": "trackers.trackssm.tracker:TrackSSMTracker",
    "trackssm-gated": "trackers.trackssm.tracker:TrackSSMGatedTracker",
    "ground": "trackers.ground.tracker:GroundTracker",
}


def _entry(name: str) -> tuple[str, str, dict[str, str]]:
    if name not in TRACKERS:
        raise InputError(f"unknown tracker {name!r}; available: {', '.join(sorted(TRACKERS))}")
    target, _, preset = TRACKERS[name].partition("?")
    module, cls = target.split(":")
    return module, cls, dict(kv.split("=", 1) for kv in preset.split("&") if kv)


def tracker_class(name: str):
    module, cls, _ = _entry(name)
    return getattr(importlib.import_module(module), cls)


def preset_options(name: str) -> dict[str, str]:
    """The options a registered variant presets (``{"cmc": "pose"}`` for ``botsort-pose``; ``{}``
    for a plain tracker)."""
    return _entry(name)[2]


def description(cls) -> str:
    """A tracker class's one line for ``--tracker`` help: its ``DESCRIPTION``, else the first
    line of its docstring."""
    text = getattr(cls, "DESCRIPTION", None) or (inspect.getdoc(cls) or "").strip()
    return text.splitlines()[0].strip().rstrip(".") if text else ""


def tune_grid(cls) -> dict[str, list] | None:
    """The tuning grid of a tracker class: its ``Params.GRID`` (its own options, the lost-track
    buffer included) followed by the clean-up's ``CleanupParams.GRID`` (the same for every
    tracker); None when its Params declare no grid."""

    own = getattr(cls.Params, "GRID", None)
    if not own:
        return None
    return {k: list(v) for k, v in {**own, **CleanupParams.GRID}.items()}


@dataclass(frozen=True)
class TrackerSpec:
    """A tracker name resolved once: the class, its own frozen ``params``, the clean-up's
    ``cleanup`` (:class:`trackers.cleanup.CleanupParams`) and the ``options`` they came from.

    Picklable (the class travels by reference), so a worker process builds its tracker from the
    spec without looking the name up again.
    """

    name: str
    cls: type
    params: Any
    cleanup: Any
    options: dict = field(default_factory=dict, compare=False)

    @property
    def resolved(self) -> dict:
        """The full parameter set as one flat JSON-able dict: the tracker's own, then the
        clean-up's (``params`` in a tracking run's meta.json and its cache key)."""
        return {**asdict(self.params), **asdict(self.cleanup)}

    @property
    def description(self) -> str:
        preset = ", ".join(f"{k}={v}" for k, v in preset_options(self.name).items()) if self.name in TRACKERS else ""
        return description(self.cls) + (f"; with {preset}" if preset else "")

    @property
    def grid(self) -> dict[str, list] | None:
        """The tuning grid (:func:`tune_grid`)."""
        return tune_grid(self.cls)

    def input_files(self) -> dict[str, Path]:
        """``{label: Path}`` of the files this tracker reads (:func:`trackers.base.input_files`)."""

        return input_files(self.cls, self.params)

    @property
    def needs_calibration(self) -> bool:
        """Whether this tracker reads each frame's camera calibration (:func:`trackers.base.needs_calibration`)."""

        return needs_calibration(self.cls, self.params)

    def source_file(self) -> str | None:
        """The file defining the tracker class (hashed into every cache key of its results)."""
        return inspect.getsourcefile(self.cls)

    def build(self, frame_rate: float = 2.0):
        """A fresh tracker for a sequence at ``frame_rate`` Hz, behind the detection clean-up
        (:class:`trackers.cleanup.CleanedTracker`)."""

        return CleanedTracker(self.cls(self.params, frame_rate=frame_rate), self.cleanup)


def tracker_spec(name: str, options: dict[str, Any] | None = None) -> TrackerSpec:
    """Resolve tracker ``name`` with ``options`` (strings allowed) into a :class:`TrackerSpec`;
    an unknown name or key is an InputError listing the valid ones (both kinds of option)."""

    cls = tracker_class(name)
    options = {**preset_options(name), **(options or {})}
    clean, own = split_options(options)
    try:
        params = params_from_options(cls.Params, own, name)
    except InputError as e:
        if "unknown option" not in str(e):
            raise
        raise InputError(f"{e}; clean-up options of every tracker: {', '.join(CLEANUP_KEYS)}") from None
    return TrackerSpec(name, cls, params, params_from_options(CleanupParams, clean, name), options)


def tracker_params(name: str, options: dict[str, Any] | None = None):
    """(the tracker's own frozen Params, its :class:`trackers.cleanup.CleanupParams`) from
    ``options`` (strings allowed); an unknown key is an InputError listing both kinds."""
    spec = tracker_spec(name, options)
    return spec.params, spec.cleanup


def make_tracker(name: str, options: dict[str, Any] | None = None, frame_rate: float = 2.0):
    """Instantiate tracker ``name`` with ``options`` (strings allowed) for a sequence at ``frame_rate`` Hz,
    behind the detection clean-up (:class:`trackers.cleanup.CleanedTracker`)."""
    return tracker_spec(name, options).build(frame_rate)


def tracker_help(prefix: str = "Registered trackers") -> str:
    """``--tracker`` help text from the registry: every name with its one-line description."""
    items = []
    for name in sorted(TRACKERS):
        try:
            text = description(tracker_class(name))
        except Exception:  # noqa: BLE001 - a tracker that cannot import still gets listed
            text = ""
        preset = ", ".join(f"{k}={v}" for k, v in preset_options(name).items())
        text = f"{text}; with {preset}" if preset and text else text or preset
        items.append(f"{name} ({text})" if text else name)
    return f"{prefix}: " + "; ".join(items) + "."
