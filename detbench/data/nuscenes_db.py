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

from detbench.core.errors import InputError
from detbench.core.fileio import read_json, sha256_file

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


def load_nuscenes(dataroot: str | Path, version: str, warn=None):
    """``nuscenes.nuscenes.NuScenes`` for ``dataroot/version``, quietly; InputError on bad input.

    Besides what the devkit checks, the geometry every box needs is checked here (see
    :func:`check_geometry`); ``warn`` (default: a line on stderr) hears about suspicious sizes."""
    table_root = check_database(dataroot, version)
    from nuscenes.nuscenes import NuScenes

    try:
        with contextlib.redirect_stdout(io.StringIO()):
            nusc = NuScenes(version=version, dataroot=str(Path(dataroot)), verbose=False)
    except json.JSONDecodeError as e:
        bad = _first_bad_table(table_root)
        raise InputError(f"{bad or table_root}: {'table' if bad else 'a table'} is not valid JSON ({e})") from None
    except Exception as e:  # the devkit signals bad tables with bare asserts and KeyErrors
        bad = _first_bad_table(table_root)
        if bad is not None:
            raise InputError(f"{bad}: not a JSON list of records (empty, truncated or another type)") from None
        raise InputError(f"{table_root}: the devkit cannot load this database "
                         f"({type(e).__name__}: {e})") from None
    check_geometry(nusc, table_root, warn or _warn_stderr)
    return nusc


def _warn_stderr(message: str) -> None:
    import sys

    print(f"warning: {message}", file=sys.stderr)


def _first_bad_table(table_root: Path) -> Path | None:
    """The first table file that is not a JSON list (only called once loading has failed)."""
    for name in TABLES:
        path = table_root / f"{name}.json"
        try:
            records = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            return path
        if not isinstance(records, list):
            return path
    return None


# table -> (field, number of values): what projecting a box reads from each record
GEOMETRY = {"sample_annotation": (("translation", 3), ("size", 3), ("rotation", 4)),
            "ego_pose": (("translation", 3), ("rotation", 4)),
            "calibrated_sensor": (("translation", 3), ("rotation", 4))}


def _numbers(value, n: int) -> bool:
    return (isinstance(value, (list, tuple)) and len(value) == n
            and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value))


def check_geometry(nusc, table_root: Path, warn) -> None:
    """Every record's translation / rotation / size present as numbers (InputError naming the
    table, record and field otherwise); ego poses and calibrations finite; annotation sizes that
    are NaN, infinite, zero or negative reported through ``warn`` with their count."""
    import math

    import numpy as np

    for table, fields in GEOMETRY.items():
        records = getattr(nusc, table)
        path = table_root / f"{table}.json"
        for i, rec in enumerate(records):
            for name, n in fields:
                if name not in rec:
                    raise InputError(f"{path}: record {i + 1} (token {rec.get('token')!r}) has no {name!r}")
                if not _numbers(rec[name], n):
                    raise InputError(f"{path}: record {i + 1} (token {rec.get('token')!r}): {name} must be "
                                     f"{n} numbers, got {rec[name]!r}"[:300])
                if table != "sample_annotation" and not all(math.isfinite(v) for v in rec[name]):
                    raise InputError(f"{path}: record {i + 1} (token {rec.get('token')!r}): {name} "
                                     f"{rec[name]!r} is not finite")
        if table == "calibrated_sensor":
            for i, rec in enumerate(records):
                k = rec.get("camera_intrinsic")
                if k and not (isinstance(k, list) and len(k) == 3 and all(_numbers(row, 3) for row in k)):
                    raise InputError(f"{path}: record {i + 1} (token {rec.get('token')!r}): camera_intrinsic "
                                     f"must be 3 x 3 numbers or empty, got {k!r}"[:300])
    anns = nusc.sample_annotation
    if anns:
        size = np.array([a["size"] for a in anns], dtype=np.float64)
        pose = np.array([a["translation"] + a["rotation"] for a in anns], dtype=np.float64)
        with np.errstate(invalid="ignore"):
            bad = ~np.isfinite(size).all(1) | (size <= 0).any(1) | ~np.isfinite(pose).all(1)
        if bad.any():
            first = anns[int(np.flatnonzero(bad)[0])]
            warn(f"{table_root / 'sample_annotation.json'}: {int(bad.sum())} of {len(anns)} annotations have "
                 f"a size that is not positive and finite (NaN, inf, zero or negative) or a non-finite "
                 f"translation/rotation, e.g. token {first.get('token')!r} size {first['size']}: their "
                 f"2D boxes are dropped or wrong; fix the table")


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
