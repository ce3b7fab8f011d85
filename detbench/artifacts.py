"""Keyed artifacts: the one reuse rule of every cache (detections, tracks, evaluations).

An artifact is a folder with a ``meta.json`` inside, or a single JSON file that is its own record,
at a path its owner chooses. Its **key** is a hash of everything it depends on
(:func:`content_key`); the key is either the artifact's name (``runs/detections/<key>/``) or a
field of its record (``meta.json``'s ``inputs_hash`` for tracks, ``metrics.json``'s ``key``).

- **Reuse**: a stored artifact is served only when :meth:`KeyedArtifact.problems` is empty: it
  exists, its record parses and holds the same key, and the owner's ``check`` (files present,
  hashes match, no failed sequence...) finds nothing wrong. Anything else is recomputed.
- **Atomicity**: :meth:`KeyedArtifact.build` builds a folder under a temporary dot-name beside
  ``path`` and renames it into place only when the block ends without an exception (an older
  artifact is replaced); :meth:`KeyedArtifact.write` does the same for a one-file artifact. A
  crash leaves the old artifact or nothing, never half of one.
- **One computation per key** (where the work is expensive): :meth:`KeyedArtifact.lock` holds
  ``<lock_dir>/<parent>-<name>.lock``; a second builder of the same artifact waits, then finds it.
"""
from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Callable, Iterator

from detbench.core.fileio import atomic_dir, atomic_write_json, locked, sha256_json


def content_key(inputs, length: int | None = None) -> str:
    """sha256 of ``inputs`` (JSON with sorted keys, :func:`detbench.core.fileio.sha256_json`), the
    first ``length`` hex digits when given."""
    digest = sha256_json(inputs)
    return digest[:length] if length else digest


class KeyedArtifact:
    """The artifact at ``path`` made from the inputs that hash to ``key``.

    ``key_field``: the record's field holding the key (None: ``path``'s name is the key, as for
    ``runs/detections/<key>/``, and the record is not read for it). ``meta_name``: the record
    inside a folder artifact (None: ``path`` is a JSON file, the record itself). ``check(self) ->
    [problem, ...]``: the owner's own test of a stored artifact whose key matched.
    """

    def __init__(self, path: str | Path, key: str, *, key_field: str | None = "key",
                 meta_name: str | None = "meta.json",
                 check: Callable[[KeyedArtifact], list[str]] | None = None):
        self.path, self.key = Path(path), key
        self.key_field, self.meta_name, self.check = key_field, meta_name, check

    def __repr__(self) -> str:
        return f"KeyedArtifact({str(self.path)!r}, {self.key!r})"

    @property
    def meta_path(self) -> Path:
        """The record: ``path / meta_name``, or ``path`` itself for a one-file artifact."""
        return self.path / self.meta_name if self.meta_name else self.path

    def meta(self) -> dict | None:
        """The stored record, or None when it is missing, unreadable or not a JSON object."""
        try:
            meta = json.loads(self.meta_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):  # ValueError: not JSON (JSONDecodeError) or not UTF-8
            return None
        return meta if isinstance(meta, dict) else None

    def problems(self) -> list[str]:
        """Why the stored artifact cannot be served (empty: serve it)."""
        if not self.path.exists():
            return [f"{self.path}: not found"]
        if self.key_field is not None:
            meta = self.meta()
            if meta is None:
                return [f"{self.meta_path}: missing or not a JSON object"]
            if meta.get(self.key_field) != self.key:
                return [f"{self.meta_path}: made from other inputs ({self.key_field} is not {self.key})"]
        return list(self.check(self)) if self.check else []

    def is_complete(self) -> bool:
        """True when the stored artifact has this key and passes the owner's check."""
        return not self.problems()

    @contextlib.contextmanager
    def lock(self, lock_dir: str | Path, on_wait: Callable[[Path], None] | None = None) -> Iterator[Path]:
        """Hold this artifact's lock (:func:`detbench.core.fileio.locked`); decide reuse and build inside."""
        with locked(self.path, lock_dir, on_wait=on_wait) as lock_path:
            yield lock_path

    @contextlib.contextmanager
    def build(self) -> Iterator[Path]:
        """A temporary folder to build the artifact in (:func:`detbench.core.fileio.atomic_dir`):
        renamed to ``path`` when the block ends, removed (the old artifact kept) on an exception."""
        with atomic_dir(self.path) as tmp:
            yield tmp

    def write_meta(self, folder: str | Path, meta: dict) -> dict:
        """Write ``meta`` (with the key in ``key_field``) as the record inside ``folder`` (the
        folder :meth:`build` gave), atomically."""
        if self.key_field is not None:
            meta[self.key_field] = self.key
        atomic_write_json(Path(folder) / (self.meta_name or "meta.json"), meta)
        return meta

    def write(self, record: dict) -> dict:
        """A one-file artifact: write ``{key_field: key, **record}`` to ``path`` atomically."""
        out = {self.key_field or "key": self.key, **record}
        atomic_write_json(self.path, out)
        return out
