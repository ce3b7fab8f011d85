"""The Tracker protocol every tracker implements, and the per-frame context it receives.

A tracker consumes detections one frame at a time::

    tracker = make_tracker("botsort", {"track_buffer_s": 2.0}, frame_rate=2.0)
    for frame in frames:
        tracks = tracker.update(dets, frame)   # dets (N, 6) -> tracks (M, 8)

``dets``: float32 (N, 6) ``x1, y1, x2, y2, score, class`` in image pixels, class 0..6.
``tracks``: float32 (M, 8) ``x1, y1, x2, y2, track_id, score, class, det_index``: the tracks
confirmed and updated in this frame. ``track_id`` is a positive integer, unique within the
frame and stable for as long as the tracker keeps the object; ``det_index`` is the row of
``dets`` that updated the track this frame. ``class`` is always the class of that detection:
no track ever takes a detection of another class.
``reset()`` forgets every track and restarts ids at 1.
"""
from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from detbench.core.errors import InputError
from detbench.core.geometry import Camera
from detbench.core.options import parse_key_values

#: The lost-track buffer every tracker defaults to, in seconds (4 keyframes at 2 Hz): a track
#: missed for up to this long can still be matched. One value for all, so that a comparison of
#: trackers compares their association and motion, not how long each waits.
LOST_TRACK_BUFFER_S = 2.0

#: Tuning grids. Every tracker's ``Params`` declares ``GRID`` ({option: 3 values}: two of its main
#: thresholds and its lost-track buffer ``BUFFER_OPTION`` over these seconds) and ``detbench tune``
#: adds the clean-up's ``CleanupParams.GRID`` (:func:`trackers.tune_grid`): 3 x 3 x 3 x 3 = 81
#: points for every tracker, the same care for all. Detection-score thresholds reach down to 0.15
#: for weak detectors (a minutes-trained CPU model scores its true positives around 0.05-0.25);
#: a new-track threshold moves with them, since above the scores it would block every track.
BUFFER_GRID_S = (1.0, 2.0, 3.0)


@dataclass
class Frame:
    """What a tracker knows about the current frame besides its detections.

    ``index`` is 0-based within the sequence; ``timestamp`` in seconds (from the sequence's first
    frame); ``frame_rate`` in Hz. ``image`` (BGR uint8, H x W x 3) is loaded lazily from
    ``image_path`` by :meth:`load_image`. ``intrinsics`` (3x3) and ``cam2global`` (4x4, camera ->
    global frame) are the frame's camera calibration from ``frames.json`` when known (None
    otherwise); :meth:`camera` gives them as a :class:`detbench.core.geometry.Camera`.
    """

    index: int
    timestamp: float
    frame_rate: float
    width: int = 1600
    height: int = 900
    image: np.ndarray | None = None
    image_path: str | Path | None = None
    intrinsics: np.ndarray | None = None
    cam2global: np.ndarray | None = None

    def has_calibration(self) -> bool:
        return self.intrinsics is not None and self.cam2global is not None

    def camera(self):
        """The frame's :class:`detbench.core.geometry.Camera`, or None without calibration."""
        if not self.has_calibration():
            return None

        return Camera(self.intrinsics, self.cam2global, self.width, self.height)

    def has_image(self) -> bool:
        return self.image is not None or (self.image_path is not None and Path(self.image_path).is_file())

    def load_image(self) -> np.ndarray | None:
        if self.image is None and self.image_path is not None:
            import cv2

            img = cv2.imread(str(self.image_path), cv2.IMREAD_COLOR)
            if img is None:
                from detbench.core.errors import InputError

                raise InputError(f"{self.image_path}: image could not be decoded")
            self.image = img
        return self.image


@runtime_checkable
class Tracker(Protocol):
    """Anything with ``reset()`` and ``update(dets, frame) -> tracks`` (see module docstring)."""

    params: Any

    def reset(self) -> None: ...

    def update(self, dets: np.ndarray, frame: Frame) -> np.ndarray: ...


def params_from_options(params_cls, options: dict[str, Any] | None, tracker_name: str):
    """Build a frozen parameter dataclass from ``{key: value}`` (values may be strings from the CLI).

    Unknown keys raise :class:`detbench.core.errors.InputError` listing the valid ones; string values
    are converted to the field's type.
    """

    options = dict(options or {})
    valid = {f.name: f for f in fields(params_cls)}
    unknown = sorted(set(options) - set(valid))
    if unknown:
        raise InputError(f"tracker {tracker_name!r}: unknown option(s) {', '.join(unknown)}; "
                         f"valid options: {', '.join(sorted(valid))}")
    defaults = params_cls()
    converted = {}
    for key, value in options.items():
        current = getattr(defaults, key)
        converted[key] = _convert(value, current, key, tracker_name)
        _check_value(converted[key], current, key, tracker_name)
    return params_cls(**converted)


def _is_unit_interval(key: str) -> bool:
    """Score thresholds, IoU thresholds and costs of every registered tracker lie in [0, 1]."""
    return "thresh" in key or "iou" in key or key in ("min_score", "min_conf")


def _check_value(value, current, key, tracker_name) -> None:
    """Range checks every tracker shares, so a bad value fails before any work with the option's
    name (not later in a worker): floats finite, thresholds in [0, 1], ``*_s`` seconds >= 0,
    counts >= 0, ``device`` usable on this machine."""
    import math


    where = f"tracker {tracker_name!r}: option {key}={value!r}"
    if isinstance(current, bool) or isinstance(value, bool):
        return
    if isinstance(current, (int, float)) and isinstance(value, (int, float)):
        if not math.isfinite(value):
            raise InputError(f"{where} must be a finite number")
        if isinstance(current, float) and _is_unit_interval(key) and not 0 <= value <= 1:
            raise InputError(f"{where} is outside [0, 1] (thresholds are scores or IoUs)")
        if value < 0 and (key.endswith("_s") or isinstance(current, int)):
            raise InputError(f"{where} must be >= 0" + (" (seconds)" if key.endswith("_s") else ""))
    if key == "device" and isinstance(value, str):
        from detbench.core.devices import check_device

        check_device(value, f"tracker {tracker_name!r}: option device")


def _convert(value, current, key, tracker_name):
    if not isinstance(value, str):
        return value
    try:
        if isinstance(current, bool):
            if value.lower() in ("1", "true", "yes", "on"):
                return True
            if value.lower() in ("0", "false", "no", "off"):
                return False
            raise ValueError(value)
        if isinstance(current, int):
            return int(value)
        if isinstance(current, float):
            return float(value)
    except ValueError:
        raise InputError(f"tracker {tracker_name!r}: option {key}={value!r} is not a valid "
                         f"{type(current).__name__}") from None
    if current is None and value.lower() in ("none", ""):
        return None
    return value


def input_files(tracker_cls, params) -> dict[str, Path]:
    """The files a tracker built with ``params`` reads, labelled by the option that names them
    (``"reid_weights"``, ``"weights/model.pth"``, ...).

    A tracker declares them with a static ``input_files(params) -> {label: Path}`` (TrackSSM's
    motion model, BoT-SORT's ReID weights); one without reads no file. Every cache of tracking
    results hashes these files' bytes, never the option's path (a file replaced in place, or a
    new "latest" model, must never be served the old tracks).
    """
    declare = getattr(tracker_cls, "input_files", None)
    return {k: Path(v) for k, v in declare(params).items()} if declare else {}


def needs_calibration(tracker_cls, params) -> bool:
    """Whether a tracker built with ``params`` reads every frame's camera calibration
    (:attr:`Frame.intrinsics`, :attr:`Frame.cam2global`). A tracker declares it with a static
    ``needs_calibration(params) -> bool``; one without needs none. Sequences without calibration
    are refused before any work for such a tracker (:func:`detbench.tracking.sources.check_calibration`)."""
    declare = getattr(tracker_cls, "needs_calibration", None)
    return bool(declare(params)) if declare else False


def parse_option_strings(pairs: list[str] | tuple[str, ...], flag: str = "--tracker-opt") -> dict[str, str]:
    """``["a=1", "b=x"]`` -> ``{"a": "1", "b": "x"}`` (the CLI's ``--tracker-opt``)."""

    return parse_key_values(pairs, flag)
