"""What produced an artifact: command, options, input hashes, package versions, git commit.

Every artifact directory gets a ``meta.json`` built by :func:`make_meta`.
"""
from __future__ import annotations

import datetime as _dt
import subprocess
import sys
from functools import lru_cache
from importlib import metadata
from pathlib import Path

TRACKED_PACKAGES = (
    "detbench", "torch", "torchvision", "numpy", "pixeltable-yolox", "nuscenes-devkit",
    "boxmot", "trackeval", "motmetrics", "pycocotools",
)


@lru_cache(maxsize=1)
def package_versions() -> dict[str, str]:
    out = {"python": sys.version.split()[0]}
    for name in TRACKED_PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


@lru_cache(maxsize=1)
def git_commit() -> str:
    """The detbench source tree's commit (with ``-dirty`` when modified), or ``unknown``."""
    root = Path(__file__).resolve().parent   # any folder of the tree: the module may move
    try:
        sha = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True,
                             text=True, timeout=5, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=5).stdout.strip()
        return sha + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def make_meta(stage: str, options: dict | None = None, inputs: dict | None = None, **extra) -> dict:
    """A provenance record: ``stage``, ``options``, ``inputs`` (name -> hash or path), versions, commit."""
    meta = {
        "stage": stage,
        "command": " ".join(Path(sys.argv[0]).name.split() + sys.argv[1:]),
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "options": options or {},
        "inputs": inputs or {},
        "versions": package_versions(),
        "git_commit": git_commit(),
    }
    meta.update(extra)
    return meta
