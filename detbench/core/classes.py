"""The seven nuScenes tracking classes, in the one order used everywhere.

Index 0..6 in arrays, 1..7 in MOT files (``mot_id = index + 1``).
The category mapping is the official nuScenes tracking benchmark's
(``nuscenes.eval.tracking.utils.category_to_tracking_name``): bus = bendy + rigid,
pedestrian = adult, child, construction_worker, police_officer.

:data:`IGNORE_CATEGORIES` are categories outside the seven that look like one of them (the list
QD-3DT's nuScenes converter maps to "ignore", plus construction vehicles): ``prepare`` writes them
as ignore rows (class id 0) so that a detection or track on them is neither a TP nor an FP.
Every other category (barriers, cones, debris, bicycle racks) is dropped: a pedestrian reported on
a traffic cone is a false positive.
"""
from __future__ import annotations

CLASSES: tuple[str, ...] = ("car", "truck", "bus", "trailer", "pedestrian", "motorcycle", "bicycle")
NUM_CLASSES = len(CLASSES)
CLASS_INDEX: dict[str, int] = {name: i for i, name in enumerate(CLASSES)}

CATEGORY_TO_CLASS: dict[str, str] = {
    "vehicle.car": "car",
    "vehicle.truck": "truck",
    "vehicle.bus.bendy": "bus",
    "vehicle.bus.rigid": "bus",
    "vehicle.trailer": "trailer",
    "human.pedestrian.adult": "pedestrian",
    "human.pedestrian.child": "pedestrian",
    "human.pedestrian.construction_worker": "pedestrian",
    "human.pedestrian.police_officer": "pedestrian",
    "vehicle.motorcycle": "motorcycle",
    "vehicle.bicycle": "bicycle",
}


IGNORE_CATEGORIES: frozenset[str] = frozenset({
    "vehicle.construction",
    "vehicle.emergency.ambulance",
    "vehicle.emergency.police",
    "human.pedestrian.wheelchair",
    "human.pedestrian.stroller",
    "human.pedestrian.personal_mobility",
    "animal",
})


def class_of_category(category_name: str) -> str | None:
    """The tracking class of a nuScenes category name, or None when the benchmark drops it."""
    return CATEGORY_TO_CLASS.get(category_name)


def is_ignore_category(category_name: str) -> bool:
    """True for a category outside the seven whose boxes become ignore rows (see module docstring)."""
    return category_name in IGNORE_CATEGORIES


def mot_class_id(index: int) -> int:
    """Array class index (0..6) -> MOT file class id (1..7)."""
    return int(index) + 1


def class_index_from_mot(mot_id: int) -> int:
    """MOT file class id (1..7) -> array class index (0..6)."""
    return int(mot_id) - 1
