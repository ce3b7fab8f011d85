"""nuScenes v1.0 table records: tokens, the fixed tables, and the JSON writer.

Tokens are 32 hex digits like nuScenes', derived from the seed and a stable key by MD5, so the
same seed always writes the same database (never time, never Python's ``hash()``).
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

from detbench.data.synthetic.rig import CAMERAS

TABLES = ("category", "attribute", "visibility", "instance", "sensor", "calibrated_sensor", "ego_pose", "log",
          "scene", "sample", "sample_data", "sample_annotation", "map")

# The 23 categories of nuScenes v1.0 with their lidarseg indices (category.json of v1.0-mini).
CATEGORIES: tuple[tuple[str, int, str], ...] = (
    ("animal", 1, "All animals, e.g. cats, rats, dogs, deer, birds."),
    ("human.pedestrian.adult", 2, "Adult subcategory."),
    ("human.pedestrian.child", 3, "Child subcategory."),
    ("human.pedestrian.construction_worker", 4, "Construction worker"),
    ("human.pedestrian.personal_mobility", 5, "A small electric or self-propelled vehicle, e.g. skateboard."),
    ("human.pedestrian.police_officer", 6, "Police officer."),
    ("human.pedestrian.stroller", 7, "Strollers."),
    ("human.pedestrian.wheelchair", 8, "Wheelchairs."),
    ("movable_object.barrier", 9, "Temporary road barrier placed in the scene in order to redirect traffic."),
    ("movable_object.debris", 10, "Movable object that is left on the driveable surface."),
    ("movable_object.pushable_pullable", 11, "Objects that a pedestrian may push or pull, e.g. trolleys."),
    ("movable_object.trafficcone", 12, "All types of traffic cone."),
    ("static_object.bicycle_rack", 13, "Area or device intended to park or secure the bicycles in a row."),
    ("vehicle.bicycle", 14, "Human or electric powered 2-wheeled vehicle designed to travel at lower speeds."),
    ("vehicle.bus.bendy", 15, "Bendy bus subcategory. Annotate each section of the bendy bus individually."),
    ("vehicle.bus.rigid", 16, "Rigid bus subcategory."),
    ("vehicle.car", 17, "Vehicle designed primarily for personal use, e.g. sedans, hatch-backs, wagons, vans."),
    ("vehicle.construction", 18, "Vehicles primarily designed for construction. Typically very slow moving."),
    ("vehicle.emergency.ambulance", 19, "All types of ambulances."),
    ("vehicle.emergency.police", 20, "All types of police vehicles including police bicycles and motorcycles."),
    ("vehicle.motorcycle", 21, "Gasoline or electric powered 2-wheeled vehicle designed to move rapidly."),
    ("vehicle.trailer", 22, "Any vehicle trailer, both for trucks, cars and bikes."),
    ("vehicle.truck", 23, "Vehicles primarily designed to haul cargo including pick-ups, lorrys, trucks."),
)
ATTRIBUTES: tuple[tuple[str, str], ...] = (
    ("vehicle.moving", "Vehicle is moving."),
    ("vehicle.stopped", "Vehicle, with a driver/rider in/on it, is currently stationary but has an intent to move."),
    ("vehicle.parked", "Vehicle is stationary (usually for longer duration) with no immediate intent to move."),
    ("cycle.with_rider", "There is a rider on the bicycle or motorcycle."),
    ("cycle.without_rider", "There is NO rider on the bicycle or motorcycle."),
    ("pedestrian.sitting_lying_down", "The human is sitting or lying down."),
    ("pedestrian.standing", "The human is standing."),
    ("pedestrian.moving", "The human is moving."),
)
VISIBILITY = (
    ("1", "v0-40", "visibility of whole object is between 0 and 40%"),
    ("2", "v40-60", "visibility of whole object is between 40 and 60%"),
    ("3", "v60-80", "visibility of whole object is between 60 and 80%"),
    ("4", "v80-100", "visibility of whole object is between 80 and 100%"),
)


class Tokens:
    """Deterministic 32-hex tokens: ``tokens("sample", scene, k)``."""

    def __init__(self, seed: int):
        self.seed = int(seed)

    def __call__(self, *key) -> str:
        return hashlib.md5(("detbench-synth/%d/" % self.seed + "/".join(map(str, key))).encode()).hexdigest()


def visibility_token(fraction: float) -> str:
    """nuScenes bins: 1 = 0-40 %, 2 = 40-60 %, 3 = 60-80 %, 4 = 80-100 % visible."""
    return "1" if fraction < 0.4 else "2" if fraction < 0.6 else "3" if fraction < 0.8 else "4"


def attribute_names(category: str, moving: bool, rider: bool) -> list[str]:
    """One attribute per vehicle / cycle / pedestrian, none for other categories, as in nuScenes."""
    if category in ("vehicle.bicycle", "vehicle.motorcycle"):
        return ["cycle.with_rider" if rider else "cycle.without_rider"]
    if category.startswith("vehicle."):
        return ["vehicle.moving" if moving else ("vehicle.stopped" if rider else "vehicle.parked")]
    if category.startswith("human.pedestrian") and category != "human.pedestrian.stroller":
        return ["pedestrian.moving" if moving else "pedestrian.standing"]
    return []


def fixed_tables(tok: Tokens) -> dict[str, list]:
    return {
        "category": [{"token": tok("category", n), "name": n, "description": d, "index": i} for n, i, d in CATEGORIES],
        "attribute": [{"token": tok("attribute", n), "name": n, "description": d} for n, d in ATTRIBUTES],
        "visibility": [{"description": d, "token": t, "level": lv} for t, lv, d in VISIBILITY],
        "sensor": [{"token": tok("sensor", c), "channel": c, "modality": "camera"} for c in CAMERAS],
    }


def write_tables(table_dir: Path, tables: dict[str, list]) -> None:
    """One ``<name>.json`` per table, keys in insertion order, floats as Python's repr."""
    table_dir.mkdir(parents=True, exist_ok=True)
    for name in TABLES:
        (table_dir / f"{name}.json").write_text(json.dumps(tables[name], indent=1) + "\n")
