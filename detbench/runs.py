"""Training runs and their checkpoints: which folders are runs, the default run, epoch names.

Imports no torch, so a wrong detector name fails fast.

- A *run* is a folder under its root (``runs/train/``) whose name does not start with a dot.
  Dot-folders are :func:`detbench.fileio.atomic_dir`'s temporary folders (a run still being
  written, or what a crash left) and hidden folders: never a run, never the default, never
  listed (:func:`run_dirs`; ``detbench ls`` lists through it too).
- A run's checkpoints are ``epoch_<N>.pth`` (N 1-based; :func:`epoch_files`); any other file
  (``latest.pth``, ``epoch_best.pth``) is not an epoch.
- Detector names: ``epoch<N>`` or ``epoch_<N>`` -> ``epoch_<N>.pth`` of the run, ``last`` -> its
  highest epoch, or a path to a ``.pth`` (:func:`resolve_detector`; :func:`parse_epoch_name`).
- The default run is the most recently modified run *with a checkpoint* (:func:`latest_run`): a
  run interrupted before its first epoch ended holds none and is never the default.
"""
from __future__ import annotations

import re
from pathlib import Path

from detbench import paths
from detbench.errors import InputError

_EPOCH_NAME = re.compile(r"epoch_?(\d+)")


def run_dirs(root: Path) -> list[Path]:
    """The runs under ``root``, sorted by name: its folders, dot-folders left out."""
    root = Path(root)
    return sorted(d for d in root.iterdir() if d.is_dir() and not d.name.startswith(".")) if root.is_dir() else []


def parse_epoch_name(name: str) -> int | None:
    """The epoch of a detector name or checkpoint file: ``epoch3``, ``epoch_3``, ``epoch_3.pth``
    or a path ending in one -> 3; None for anything else (``last``, ``latest.pth``)."""
    name = str(name)
    m = _EPOCH_NAME.fullmatch(Path(name).stem if name.endswith(".pth") else name)
    return int(m.group(1)) if m else None


def epoch_files(run_dir: Path) -> dict[int, Path]:
    """{epoch: ``epoch_<N>.pth``} of a run, in epoch order."""
    out = {}
    for p in Path(run_dir).glob("epoch_*.pth"):
        n = parse_epoch_name(p.name)
        if n is not None:
            out[n] = p
    return dict(sorted(out.items()))


def latest_run() -> Path:
    """The most recently modified run under ``runs/train/`` that holds at least one ``epoch_<N>.pth``."""
    root = paths.train_root()
    runs = run_dirs(root)
    if not runs:
        raise InputError(f"{root}: no training runs (run `detbench train` first)")
    with_ckpt = [d for d in runs if epoch_files(d)]
    if not with_ckpt:
        raise InputError(f"{root}: no training run has a checkpoint yet (runs without one: "
                         f"{', '.join(sorted(d.name for d in runs))}; resume one with "
                         f"`detbench train --resume --name NAME ...`)")
    return max(with_ckpt, key=lambda d: d.stat().st_mtime)


def run_dir(run: str | None) -> Path:
    """``run``: a run folder, or a run name under ``runs/train/``; None: :func:`latest_run`."""
    if not run:
        return latest_run()
    p = Path(run)
    return p if p.is_dir() else paths.train_dir(run)


def resolve_detector(name: str, run: str | None = None) -> Path:
    """``epoch<N>`` -> ``epoch_<N>.pth`` of ``run`` (default: :func:`latest_run`), ``last`` -> its
    highest epoch, or a path to a ``.pth``. InputError listing the names otherwise."""
    as_path = Path(name)
    if as_path.suffix == ".pth" or as_path.is_file():
        if not as_path.is_file():
            raise InputError(f"{as_path}: checkpoint not found")
        return as_path
    run_path = paths.train_dir(run) if run else latest_run()
    if not run_path.is_dir():
        raise InputError(f"{run_path}: training run not found")
    files = epoch_files(run_path)
    epoch = parse_epoch_name(name)
    if epoch is not None and epoch in files:
        return files[epoch]
    if name == "last" and files:
        return files[max(files)]
    names = ", ".join(f"epoch{n}" for n in files) or "none"
    raise InputError(f"detector {name!r}: not in run {run_path} (available: {names}, last, or a .pth path)")


def run_detectors(run: str | None) -> list[str]:
    """Every ``epoch<N>`` detector name of a run (:func:`run_dir`), in epoch order."""
    path = run_dir(run)
    files = epoch_files(path)
    if not files:
        raise InputError(f"{path}: no epoch_<N>.pth checkpoints")
    return [f"epoch{n}" for n in files]
