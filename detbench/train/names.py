"""Detector names -> checkpoint files, without importing torch (so a wrong name fails fast).

``epoch<N>`` -> ``runs/train/<run>/epoch_<N>.pth``, ``last`` -> the run's highest epoch, or a
path to a ``.pth``. The default run is the most recently modified run *with a checkpoint*: a run
interrupted before its first epoch ended holds none and is never the default.
"""
from __future__ import annotations

import re
from pathlib import Path

from detbench import paths
from detbench.errors import InputError


def _epoch_files(run_dir: Path) -> dict[int, Path]:
    out = {}
    for p in run_dir.glob("epoch_*.pth"):
        m = re.fullmatch(r"epoch_(\d+)\.pth", p.name)
        if m:
            out[int(m.group(1))] = p
    return dict(sorted(out.items()))


def latest_run() -> Path:
    """The most recently modified run that holds at least one ``epoch_<N>.pth``."""
    root = paths.train_root()
    runs = [d for d in root.iterdir() if d.is_dir() and not d.name.startswith(".")] if root.is_dir() else []
    if not runs:
        raise InputError(f"{root}: no training runs (run `detbench train` first)")
    with_ckpt = [d for d in runs if _epoch_files(d)]
    if not with_ckpt:
        raise InputError(f"{root}: no training run has a checkpoint yet (runs without one: "
                         f"{', '.join(sorted(d.name for d in runs))}; resume one with "
                         f"`detbench train --resume --name NAME ...`)")
    return max(with_ckpt, key=lambda d: d.stat().st_mtime)


def resolve_detector(name: str, run: str | None = None) -> Path:
    """``epoch<N>`` -> ``epoch_<N>.pth`` of ``run`` (default: the most recently modified run),
    ``last`` -> its highest epoch, or a path to a ``.pth``. InputError listing the names otherwise."""
    as_path = Path(name)
    if as_path.suffix == ".pth" or as_path.is_file():
        if not as_path.is_file():
            raise InputError(f"{as_path}: checkpoint not found")
        return as_path
    run_dir = paths.train_dir(run) if run else latest_run()
    if not run_dir.is_dir():
        raise InputError(f"{run_dir}: training run not found")
    files = _epoch_files(run_dir)
    m = re.fullmatch(r"epoch_?(\d+)", name)
    if m and int(m.group(1)) in files:
        return files[int(m.group(1))]
    if name == "last" and files:
        return files[max(files)]
    names = ", ".join(f"epoch{n}" for n in files) or "none"
    raise InputError(f"detector {name!r}: not in run {run_dir} (available: {names}, last, or a .pth path)")
