"""Loading a nuScenes-format database through the devkit, with one-line errors.

``NuScenes(version, dataroot)`` fails with bare ``AssertionError`` / ``FileNotFoundError`` /
``KeyError`` on a bad dataroot; :func:`load_nuscenes` checks the inputs first and raises
:class:`InputError` naming the file and the problem instead.
"""
from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

from detbench.errors import InputError
from detbench.fileio import read_json, sha256_file

TABLES = ("category", "attribute", "visibility", "instance", "sensor", "calibrated_sensor",
          "ego_pose", "log", "scene", "sample", "sample_data", "sample_annotation", "map")
CAMERAS = ("CAM_FRONT", "CAM_FRONT_RIGHT", "CAM_BACK_RIGHT", "CAM_BACK", "CAM_BACK_LEFT", "CAM_FRONT_LEFT")


def available_versions(dataroot: Path) -> list[str]:
    """Sub-folders of ``dataroot`` that hold a ``scene.json`` (i.e. look like a version)."""
    return sorted(p.name for p in dataroot.iterdir() if p.is_dir() and (p / "scene.json").is_file())


def check_database(dataroot: str | Path, version: str) -> Path:
    """Check that ``dataroot/version`` holds every table as a JSON list; return the table folder."""
    root = Path(dataroot)
    if not root.is_dir():
        raise InputError(f"{root}: dataroot not found (expected a folder holding <version>/*.json tables)")
    table_root = root / version
    if not table_root.is_dir():
        found = available_versions(root)
        hint = f"versions here: {', '.join(found)}" if found else "no version folders with tables found here"
        raise InputError(f"{table_root}: version {version!r} not found ({hint})")
    for name in TABLES:
        path = table_root / f"{name}.json"
        if not path.is_file():
            raise InputError(f"{path}: table {name!r} is missing from the nuScenes database")
    for name in ("map", "scene"):  # small tables, checked before the devkit trips over them
        path = table_root / f"{name}.json"
        records = read_json(path)
        if not isinstance(records, list) or not records:
            raise InputError(f"{path}: expected a non-empty list of records")
    for rec in json.loads((table_root / "map.json").read_text(encoding="utf-8")):
        if not (root / rec.get("filename", "")).is_file():
            raise InputError(f"{table_root / 'map.json'}: map file {rec.get('filename')!r} not found under {root}")
    return table_root


def load_nuscenes(dataroot: str | Path, version: str):
    """``nuscenes.nuscenes.NuScenes`` for ``dataroot/version``, quietly; InputError on bad input."""
    table_root = check_database(dataroot, version)
    from nuscenes.nuscenes import NuScenes

    try:
        with contextlib.redirect_stdout(io.StringIO()):
            return NuScenes(version=version, dataroot=str(Path(dataroot)), verbose=False)
    except json.JSONDecodeError as e:
        raise InputError(f"{table_root}: a table is not valid JSON ({e})") from None
    except Exception as e:  # the devkit signals bad tables with bare asserts and KeyErrors
        raise InputError(f"{table_root}: the devkit cannot load this database "
                         f"({type(e).__name__}: {e})") from None


def table_hashes(dataroot: str | Path, version: str) -> dict[str, str]:
    """sha256 of each table file of the version (the dataset's identity for caches)."""
    table_root = Path(dataroot) / version
    return {name: sha256_file(table_root / f"{name}.json") for name in TABLES}


def camera_channels(nusc) -> list[str]:
    """Camera channels with keyframe images in the database, nuScenes' canonical order first.

    A sensor record alone does not count: a synthetic set may calibrate six cameras and render two.
    """
    present = {sd["channel"] for sd in nusc.sample_data
               if sd["is_key_frame"] and sd.get("sensor_modality") == "camera"}
    return [c for c in CAMERAS if c in present] + sorted(present - set(CAMERAS))


def resolve_cameras(nusc, spec: str, table_root: Path) -> list[str]:
    """``all`` or a comma list of channels -> validated list; InputError on an unknown camera."""
    present = camera_channels(nusc)
    if not present:
        raise InputError(f"{table_root / 'sample_data.json'}: no camera keyframes in the database")
    if spec.strip().lower() == "all":
        return present
    wanted = [c.strip().upper() for c in spec.split(",") if c.strip()]
    if not wanted:
        raise InputError(f"--cameras: no camera given (choose from {', '.join(present)} or 'all')")
    for cam in wanted:
        if cam not in present:
            raise InputError(f"{table_root / 'sample_data.json'}: unknown camera {cam!r} "
                             f"(this database has images of {', '.join(present)})")
    return list(dict.fromkeys(wanted))
