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

from detbench.core import paths
from detbench.core.fileio import atomic_write_text, locked, sha256_file

FORMAT = "detbench-image-index-v1"
_HEX = re.compile(r"[0-9a-f]*")
_KNOWN: dict[str, dict[str, tuple]] = {}   # folder -> {name: ((size, mtime_ns, ctime_ns), sha256)}, this process


def index_root() -> Path:
    return paths.runs_root() / ".image-index"


def fingerprint(path: str | os.PathLike) -> str | None:
    """The sha256 of one image file (None when it is not a file), for a caller that meets images
    one at a time; writes no index (:func:`fingerprints` does, for a whole split at once)."""
    return fingerprints([path], write=False)[0]


def fingerprints(files, write: bool = True) -> list[str | None]:
    """The sha256 of each file's bytes, in order (None for a None or a path that is not a file).

    Hashes only the files whose (size, mtime_ns, ctime_ns) their folder's index does not hold
    (read once per process); with ``write``, the new hashes are added to the index on disk."""
    out: list[str | None] = [None] * len(files)
    todo: dict[str, dict[str, tuple]] = {}           # folder -> {name: identity} to hash
    where: list[tuple[int, str, str]] = []            # (position, folder, name) of each file hashed
    for i, f in enumerate(files):
        if f is None:
            continue
        path = os.fspath(f)
        folder, _, name = (path if path.startswith("/") else os.path.abspath(path)).rpartition("/")
        try:
            st = os.stat(path)
        except OSError:
            continue
        if not stat.S_ISREG(st.st_mode):
            continue
        ident = (st.st_size, st.st_mtime_ns, st.st_ctime_ns)
        known = _KNOWN.get(folder)
        if known is None:
            known = _KNOWN[folder] = _read_index(_index_file(folder), folder)
        entry = known.get(name)
        if entry is not None and entry[0] == ident:
            out[i] = entry[1]
        else:
            todo.setdefault(folder, {})[name] = ident
            where.append((i, folder, name))
    if todo:
        flat = [(folder, name) for folder, names in todo.items() for name in names]
        with ThreadPoolExecutor(max_workers=min(8, os.cpu_count() or 1)) as pool:
            digests = pool.map(sha256_file, [f"{folder}/{name}" for folder, name in flat])
            for (folder, name), digest in zip(flat, digests):
                _KNOWN[folder][name] = (todo[folder][name], digest)
        if write:
            for folder, names in todo.items():
                _add_to_index(folder, {name: _KNOWN[folder][name] for name in names})
        for i, folder, name in where:
            out[i] = _KNOWN[folder][name][1]
    return out


def _index_file(folder: str) -> Path:
    return index_root() / f"{hashlib.sha256(folder.encode()).hexdigest()[:32]}.json"


def _read_index(path: Path, folder: str) -> dict[str, tuple]:
    """The index of ``folder`` at ``path``; empty when missing, unreadable or of any other shape."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not (isinstance(raw, dict) and raw.get("format") == FORMAT and raw.get("folder") == folder
            and isinstance(raw.get("files"), dict)):
        return {}
    entries = raw["files"].values()
    if not (all(type(e) is list and len(e) == 4 and type(e[0]) is type(e[1]) is type(e[2]) is int
                and type(e[3]) is str and len(e[3]) == 64 for e in entries)
            and _HEX.fullmatch("".join(e[3] for e in entries))):
        return {}
    return {name: ((e[0], e[1], e[2]), e[3]) for name, e in raw["files"].items()}


def _add_to_index(folder: str, entries: dict[str, tuple]) -> None:
    """Merge ``entries`` into the folder's index on disk (re-read under a lock, so two processes
    indexing one folder keep each other's entries), written atomically."""
    path = _index_file(folder)
    try:
        with locked(path, paths.runs_root() / ".locks"):
            files = {**_read_index(path, folder), **entries}
            _KNOWN[folder] = dict(files)
            atomic_write_text(path, json.dumps({"format": FORMAT, "folder": folder,
                                                "files": {k: [*v[0], v[1]] for k, v in sorted(files.items())}},
                                               separators=(",", ":")))
    except OSError:
        pass  # a read-only runs folder: the hashes are still right, only not remembered
