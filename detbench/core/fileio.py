"""Atomic writes and content hashes: nothing half-written, caches keyed by content."""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Iterator

from detbench.core.errors import InputError


def _tmp_path(path: Path) -> Path:
    return path.with_name(f".{path.name}.tmp-{os.getpid()}")


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to a temporary name beside ``path`` and rename it into place."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _tmp_path(path)
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | os.PathLike, obj, indent: int = 2) -> Path:
    return atomic_write_text(path, json.dumps(obj, indent=indent, sort_keys=False, default=_json_default) + "\n")


def _json_default(o):
    import numpy as np

    if isinstance(o, np.integer):
        return int(o)
    if isinstance(o, np.floating):
        return float(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


@contextlib.contextmanager
def locked(target: str | os.PathLike, lock_dir: str | os.PathLike, on_wait=None) -> Iterator[Path]:
    """Hold an exclusive lock on ``lock_dir/<parent name>-<name>.lock`` (``flock``: released by
    the kernel even when the holder dies; the file stays, outside the artifact folders). A second
    holder of the same target waits; ``on_wait(lock_path)`` is called once first, so the waiting
    process can say why it is not working."""
    import fcntl

    target = Path(target)
    Path(lock_dir).mkdir(parents=True, exist_ok=True)
    lock_path = Path(lock_dir) / f"{target.parent.name}-{target.name}.lock"
    with open(lock_path, "a+") as f:
        try:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if on_wait:
                on_wait(lock_path)
            fcntl.flock(f.fileno(), fcntl.LOCK_EX)
        try:
            yield lock_path
        finally:
            fcntl.flock(f.fileno(), fcntl.LOCK_UN)


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_dir(final: str | os.PathLike) -> Iterator[Path]:
    """Build a directory under a temporary name; rename it to ``final`` only on success.

    An existing ``final`` is replaced. On an exception the temporary directory is removed.
    """
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.tmp-", dir=final.parent))
    try:
        os.chmod(tmp, 0o777 & ~_umask())  # mkdtemp makes 0700; a finished artifact follows the umask
        yield tmp
        if final.exists():
            old = final.with_name(f".{final.name}.old-{os.getpid()}")
            os.replace(final, old)
            os.replace(tmp, final)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def ensure_writable(path: str | os.PathLike, what: str = "output", inputs: dict | None = None,
                    inside_ok: bool | tuple[str, ...] = False) -> Path:
    """InputError naming ``path`` unless it (a file or folder to be written) can be created there.

    Checked for real, by creating and removing a probe file in the nearest existing folder, so it
    also holds for root (who ignores mode bits) on read-only mounts and immutable folders. Call it
    before any work so nothing is computed (or printed) that cannot be saved.

    ``inputs`` ({label: path, list of paths or None}): what the command reads. ``path`` may not be
    one of them, hold one (an output folder is replaced as a whole) or lie inside an input folder,
    unless ``inside_ok`` (True, or the labels of the inputs that may hold it: an output kept beside
    what it describes, like ``<run>/analysis``).
    Every command that writes checks its outputs through here, so the wording is one.
    """

    path = Path(path)
    clash = _input_clash(path, inputs or {}, inside_ok)
    if clash:
        raise InputError(f"{path}: cannot write the {what} here: {clash}")
    probe_dir = path if path.is_dir() else path.parent
    while not probe_dir.exists() and probe_dir != probe_dir.parent:
        probe_dir = probe_dir.parent
    if not probe_dir.is_dir():
        raise InputError(f"{path}: cannot write the {what} here: {probe_dir} is a file, not a folder")
    try:
        fd, probe = tempfile.mkstemp(prefix=".detbench-write-test-", dir=probe_dir)
        os.close(fd)
        os.unlink(probe)
    except OSError as e:
        raise InputError(f"{path}: cannot write the {what} here: {probe_dir} is not writable "
                         f"({e.strerror or e})") from None
    return path


def _input_clash(out: Path, inputs: dict, inside_ok) -> str | None:
    """Why ``out`` overlaps an input (``ensure_writable``), or None. Paths are compared resolved
    (symbolic links followed), so another spelling of the same folder is the same folder."""
    target = out.resolve()
    for label, value in inputs.items():
        for given in (value if isinstance(value, (list, tuple)) else [value]):
            if given is None or str(given) == "":
                continue
            src = Path(given).resolve()
            if target == src:
                return f"it is the input {label} {given}"
            if target in src.parents:
                return f"it holds the input {label} {given}"
            may_hold = inside_ok is True or label in (inside_ok or ())
            if not may_hold and src in target.parents:
                return f"it is inside the input {label} {given}"
    return None


def read_json(path: str | os.PathLike, missing: str = "file not found"):
    """Parse a JSON file; :class:`InputError` naming the file when it is missing (``missing``
    says what to do about it) or not valid JSON."""

    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: {missing}")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise InputError(f"{path}: not valid JSON ({e})") from None


def sha256_file(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(chunk), b""):
            h.update(block)
    return h.hexdigest()


def sha256_files(files) -> dict[str, str]:
    """``{label: path}`` -> ``{label: sha256 of the file's bytes}`` (a missing file: InputError)."""

    out = {}
    for label, path in sorted(dict(files).items()):
        if not Path(path).is_file():
            raise InputError(f"{label} {path}: file not found")
        out[label] = sha256_file(path)
    return out


def sha256_json(obj) -> str:
    """Hash of a JSON-serialisable object with sorted keys (stable across runs and machines)."""
    blob = json.dumps(obj, sort_keys=True, separators=(",", ":"), default=_json_default).encode()
    return hashlib.sha256(blob).hexdigest()
