"""The ``trackssm`` tracker's options (:class:`TrackSSMParams`) and the checks that need no model
(:func:`check_params`; the tracker checks those that depend on its motion model)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from detbench.core.errors import InputError
from trackers.base import BUFFER_GRID_S, LOST_TRACK_BUFFER_S
from trackers.costs import check_cost
from trackers.trackssm.associate import ASSOCIATIONS
from trackers.trackssm.rules import BIRTH_OVERLAP_BY


@dataclass(frozen=True)
class TrackSSMParams:
    """Defaults for nuScenes keyframes (2 Hz); thresholds as in the paper's code, the lost-track
    buffer in seconds, the same as every tracker's (:data:`trackers.base.LOST_TRACK_BUFFER_S`).

    ``weights``: a motion-model directory (or its ``model.pth``), named by the harness (None there
    means the latest under ``runs/motion/``: :mod:`detbench.motion.weights`; the tracker itself
    refuses None); ``"random"`` = an untrained seeded model (speed benchmarks and plumbing tests
    only: with the default parametrisation it predicts constant velocity).
    """

    #: ``detbench tune``'s grid (trackers.base, "Tuning grids"): two main thresholds, the buffer. Each
    #: axis holds the default (the paper's 0.6 and 0.7, the top values, so tuning can only keep or
    #: lower them) and still reaches down to 0.15 / 0.2 for weak detectors, with 0.3 / 0.4 between.
    GRID: ClassVar[dict[str, list]] = {"high_thresh": [0.15, 0.3, 0.6], "new_track_thresh": [0.2, 0.4, 0.7],
                                       "track_buffer_s": list(BUFFER_GRID_S)}
    BUFFER_OPTION: ClassVar[str] = "track_buffer_s"  # the lost-track buffer, in seconds

    weights: str | None = None
    high_thresh: float = 0.6
    low_thresh: float = 0.1
    new_track_thresh: float = 0.7
    match_iou: float = 0.2
    second_iou: float = 0.5
    unconfirmed_iou: float = 0.3
    duplicate_iou: float = 0.85
    track_buffer_s: float = LOST_TRACK_BUFFER_S
    device: str = "cpu"
    cost: str = "iou"          # affinity with the predicted box: iou | giou | centre (trackers.costs)
    class_gate: bool = True    # a track only takes detections of its own class
    ground_gate: float = 0.0   # > 0: refuse pairs whose ground contacts lie farther apart (trackers.trackssm.rules)
    birth_overlap: float = 1.0  # < 1: duplicate-aware birth at this overlap (trackers.trackssm.rules; 1: off)
    birth_overlap_by: str = "smaller"  # its overlap: "smaller" (intersection over the smaller box) | "union" (IoU)
    history_blend: float = 0.0  # > 0: a matched track's history keeps this share of its prediction (see docs)
    tracked_first: bool = False  # tracked tracks take the high detections before lost ones (ByteTrack: together)
    shadow_overlap: float = 1.0  # < 1: a track on a box nested this much in an older track's ends (rules; 1: off)
    assoc: str = "image"       # "ground": match on the ground first, ground models only (trackers.trackssm.associate)
    assoc_gate: float = 10.0   # ground pass: max cost d2 + log det S - assoc_bonus * IoU of a pair
    assoc_bonus: float = 4.0   # ground pass: weight of the image IoU taken off the cost
    assoc_noise: float = 0.1   # ground pass: a contact's pixel noise, a fraction of the box's width / height
    assoc_extent: float = 1.5  # ground pass: contact noise along the viewing ray, x half the class length (m)
    assoc_size_sigma: float = 0.0  # ground pass: > 0 adds the track's own height term, as ground's size_sigma (0: off)
    assoc_height_depth: bool = False  # ground pass: boxes without a usable contact placed from the class height


def check_params(params: TrackSSMParams) -> None:
    """Raise :class:`InputError` (one line naming the option) for an option out of its range."""
    if not 0 <= params.low_thresh <= params.high_thresh <= 1:
        raise InputError(f"trackssm: need 0 <= low_thresh <= high_thresh <= 1, got "
                         f"{params.low_thresh} and {params.high_thresh}")
    if params.track_buffer_s < 0:
        raise InputError(f"trackssm: track_buffer_s must be >= 0, got {params.track_buffer_s}")
    check_cost(params.cost, "trackssm")
    if params.ground_gate < 0:
        raise InputError(f"trackssm: ground_gate must be >= 0 (0: off), got {params.ground_gate}")
    if not 0 < params.birth_overlap <= 1:
        raise InputError(f"trackssm: birth_overlap must be in (0, 1] (1: off), got {params.birth_overlap}")
    if not 0 <= params.history_blend < 1:
        raise InputError(f"trackssm: history_blend must be in [0, 1) (0: off), got {params.history_blend}")
    if not 0 < params.shadow_overlap <= 1:
        raise InputError(f"trackssm: shadow_overlap must be in (0, 1] (1: off), got {params.shadow_overlap}")
    if params.birth_overlap_by not in BIRTH_OVERLAP_BY:
        raise InputError(f"trackssm: birth_overlap_by must be one of {sorted(BIRTH_OVERLAP_BY)}, "
                         f"got {params.birth_overlap_by!r}")
    if params.assoc not in ASSOCIATIONS:
        raise InputError(f"trackssm: assoc must be one of {list(ASSOCIATIONS)}, got {params.assoc!r}")
    for key in ("assoc_gate", "assoc_noise"):
        if not getattr(params, key) > 0:
            raise InputError(f"trackssm: {key} must be > 0, got {getattr(params, key)!r}")
    for key in ("assoc_bonus", "assoc_extent", "assoc_size_sigma"):
        if not getattr(params, key) >= 0:
            raise InputError(f"trackssm: {key} must be >= 0, got {getattr(params, key)!r}")
    for key, on in (("assoc_size_sigma", params.assoc_size_sigma > 0), ("assoc_height_depth", params.assoc_height_depth)):
        if on and params.assoc != "ground":
            raise InputError(f"trackssm: {key} is an option of the ground pass: it needs assoc=ground, "
                             f"got assoc={params.assoc!r}")
