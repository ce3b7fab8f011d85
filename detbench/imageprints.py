"""Images named by their content: the sha256 of each image file, remembered between runs.

Every cache made from images (detections; BoT-SORT's tracks, whose camera-motion compensation
reads them; its remembered warps, :mod:`trackers.cmc_memo`) names an image by the sha256 of its
bytes, so an image replaced at the same path is never served an old result.

Hashing a split's images reads all of them (a 36,000-image split: benchmarks/README.md), so each
hash is remembered in an index per image folder, ``runs/.image-index/<folder hash>.json``, under
the file's name, size, ``mtime_ns`` and ``ctime_ns`` (the kernel sets ctime on every write and
rename, so a file replaced with its old mtime restored still reads as changed). An unchanged
split then costs one ``stat`` per image and one read of each folder's index. An index is written
atomically; one that does not parse or has an entry of the wrong shape is ignored and rewritten,
never trusted. Within a process, the hashes seen are kept in memory under the same identity.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import stat
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from detbench import paths
from detbench.fileio import atomic_write_text, locked, sha256_file

FORMAT = "detbench-image-index-v1"
_HEX64 = re.compile(r"[0-9a-f]{64}")
_KNOWN: dict[str, dict[str, tuple]] = {}   # folder -> {name: (size, mtime_ns, ctime_ns, sha256)}, this process


def index_root() -> Path:
    return paths.runs_root() / ".image-index"


def _identity(path: str) -> tuple[int, int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_size, st.st_mtime_ns, st.st_ctime_ns) if stat.S_ISREG(st.st_mode) else None


def fingerprint(path: str | os.PathLike) -> str | None:
    """The sha256 of one image file (None when it is not a file), for a caller that meets images
    one at a time; writes no index (:func:`fingerprints` does, for a whole split at once)."""
    return fingerprints([path], write=False)[0]


def fingerprints(files, write: bool = True) -> list[str | None]:
    """The sha256 of each file's bytes, in order (None for a None or a path that is not a file).

    Hashes only the files whose (size, mtime_ns, ctime_ns) their folder's index does not hold
    (read once per process); with ``write``, the new hashes are added to the index on disk."""
    names = [None if f is None else os.path.abspath(f) for f in files]
    ids = {p: _identity(p) for p in set(names) if p is not None}
    todo: dict[str, list[str]] = {}
    for p, ident in ids.items():
        if ident is not None:
            folder, name = os.path.split(p)
            if folder not in _KNOWN:
                _KNOWN[folder] = _read_index(_index_file(folder), folder)
            if _KNOWN[folder].get(name, ())[:3] != ident:
                todo.setdefault(folder, []).append(p)
    if todo:
        flat = [p for items in todo.values() for p in items]
        with ThreadPoolExecutor(max_workers=min(8, os.cpu_count() or 1)) as pool:
            for p, digest in zip(flat, pool.map(sha256_file, flat)):
                folder, name = os.path.split(p)
                _KNOWN[folder][name] = (*ids[p], digest)
        if write:
            for folder, items in todo.items():
                _add_to_index(folder, {os.path.basename(p): _KNOWN[folder][os.path.basename(p)] for p in items})
    return [None if p is None or ids[p] is None else _KNOWN[os.path.dirname(p)][os.path.basename(p)][3]
            for p in names]


def _index_file(folder: str) -> Path:
    return index_root() / f"{hashlib.sha256(folder.encode()).hexdigest()[:32]}.json"


def _read_index(path: Path, folder: str) -> dict[str, tuple[int, int, int, str]]:
    """The index of ``folder`` at ``path``; empty when missing, unreadable or of any other shape."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not (isinstance(raw, dict) and raw.get("format") == FORMAT and raw.get("folder") == folder
            and isinstance(raw.get("files"), dict)):
        return {}
    out = {}
    for name, e in raw["files"].items():
        if not (isinstance(e, list) and len(e) == 4 and all(type(v) is int for v in e[:3])
                and isinstance(e[3], str) and _HEX64.fullmatch(e[3])):
            return {}
        out[name] = tuple(e)
    return out


def _add_to_index(folder: str, entries: dict[str, tuple]) -> None:
    """Merge ``entries`` into the folder's index on disk (re-read under a lock, so two processes
    indexing one folder keep each other's entries), written atomically."""
    path = _index_file(folder)
    try:
        with locked(path, paths.runs_root() / ".locks"):
            files = {**_read_index(path, folder), **entries}
            _KNOWN[folder] = dict(files)
            atomic_write_text(path, json.dumps({"format": FORMAT, "folder": folder,
                                                "files": {k: list(v) for k, v in sorted(files.items())}},
                                               separators=(",", ":")))
    except OSError:
        pass  # a read-only runs folder: the hashes are still right, only not remembered
