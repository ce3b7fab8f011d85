"""Training runs and their checkpoints: which folders are runs, the default run, epoch names.

Imports no torch, so a wrong detector name fails fast.

- A *run* is a folder under its root (``runs/train/``) whose name does not start with a dot.
  Dot-folders are :func:`detbench.core.fileio.atomic_dir`'s temporary folders (a run still being
  written, or what a crash left) and hidden folders: never a run, never the default, never
  listed (:func:`run_dirs`; ``detbench ls`` lists through it too).
- A run's checkpoints are ``epoch_<N>.pth`` (N 1-based; :func:`epoch_files`); any other file
  (``latest.pth``, ``epoch_best.pth``) is not an epoch.
- Detector names: ``epoch<N>`` or ``epoch_<N>`` -> ``epoch_<N>.pth`` of the run, ``last`` -> its
  highest epoch, or a path to a ``.pth`` (:func:`resolve_detector`; :func:`parse_epoch_name`).
- The default run is the most recently modified run *with a checkpoint* (:func:`latest_run`): a
  run interrupted before its first epoch ended holds none and is never the default.
- What ``detbench ls`` shows of the whole runs root (datasets, runs, caches, motion models,
  tracking runs, trackers): :func:`listing`, data the command formats.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from detbench.core import paths
from detbench.core.errors import InputError
from detbench.core.fileio import sha256_file
from detbench.core.paths import run_dirs

_EPOCH_NAME = re.compile(r"epoch_?(\d+)")


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


@dataclass(frozen=True)
class DetectorRef:
    """What a detector name resolved to: the checkpoint file and, when it is an epoch of a training
    run, that run's folder name and the epoch (``last`` becomes the epoch it stands for)."""

    name: str                 # as given: epoch10, last, a .pth path
    checkpoint: Path
    run: str | None = None    # the run folder's name (a .pth given by path: its run when it is one's epoch_<N>.pth)
    epoch: int | None = None

    def label(self) -> str:
        """One folder name per checkpoint, for outputs named after the detector
        (``runs/tracks/<label>/<tracker>/``): ``<run>-epoch<N>`` for a run's epoch, else the
        file's stem and the first 8 hex digits of its sha256 (two ``model.pth`` never share one)."""
        if self.run and self.epoch is not None:
            return f"{self.run}-epoch{self.epoch}"

        return f"{self.checkpoint.stem}-{sha256_file(self.checkpoint)[:8]}"

    def describe(self) -> str:
        """``last = epoch 20 of run r1 (runs/train/r1/epoch_20.pth)``, or the checkpoint path."""
        if self.run and self.epoch is not None:
            alias = "" if parse_epoch_name(self.name) == self.epoch else f"{self.name} = "
            return f"{alias}epoch {self.epoch} of run {self.run} ({self.checkpoint})"
        return str(self.checkpoint)


def _in_run(checkpoint: Path, root: Path | None = None) -> tuple[str | None, int | None]:
    """(run name, epoch) of a ``<runs root>/train/<run>/epoch_<N>.pth`` given by path, else (None, None)."""
    epoch = parse_epoch_name(checkpoint.name)
    try:
        inside = checkpoint.resolve().parent.parent == paths.train_root(root).resolve()
    except OSError:
        inside = False
    return (checkpoint.parent.name, epoch) if inside and epoch is not None else (None, None)


def detector_ref(name: str, run: str | None = None) -> DetectorRef:
    """``epoch<N>`` -> ``epoch_<N>.pth`` of ``run`` (default: :func:`latest_run`), ``last`` -> its
    highest epoch, or a path to a ``.pth``. InputError listing the names otherwise (one saying
    the run has no checkpoint yet when it has none)."""
    as_path = Path(name)
    if as_path.suffix == ".pth" or as_path.is_file():
        if not as_path.is_file():
            raise InputError(f"{as_path}: checkpoint not found")
        return DetectorRef(name, as_path, *_in_run(as_path))
    run_path = paths.train_dir(run) if run else latest_run()
    if not run_path.is_dir():
        raise InputError(f"{run_path}: training run not found")
    files = epoch_files(run_path)
    epoch = parse_epoch_name(name)
    if epoch is None and name == "last" and files:
        epoch = max(files)
    if epoch is not None and epoch in files:
        return DetectorRef(name, files[epoch], run_path.name, epoch)
    if not files:
        raise InputError(f"detector {name!r}: run {run_path} has no checkpoint yet (no epoch_<N>.pth: still in "
                         f"its first epoch, or stopped there; `detbench train --resume --name {run_path.name} "
                         f"...` continues a stopped one); give another --run or a .pth path")
    names = ", ".join(f"epoch{n}" for n in files)
    raise InputError(f"detector {name!r}: not in run {run_path} (available: {names}, last, or a .pth path)")


def resolve_detector(name: str, run: str | None = None) -> Path:
    """The checkpoint file of a detector name (:func:`detector_ref`)."""
    return detector_ref(name, run).checkpoint


def run_detectors(run: str | None) -> list[str]:
    """Every ``epoch<N>`` detector name of a run (:func:`run_dir`), in epoch order."""
    path = run_dir(run)
    files = epoch_files(path)
    if not files:
        raise InputError(f"{path}: no epoch_<N>.pth checkpoints")
    return [f"epoch{n}" for n in files]


# --- what ``detbench ls`` lists -------------------------------------------------------------------

LISTABLE = ("datasets", "runs", "checkpoints", "caches", "motion", "tracks", "trackers")


@dataclass(frozen=True)
class CacheEntry:
    """A detection cache folder: its ``meta.json`` (None when it has none, or it is not JSON), and
    the training run and checkpoint it was computed from (``run``: the recorded run, else the run
    whose ``epoch_<N>.pth`` the recorded checkpoint path is; None for a ``.pth`` outside a run)."""

    name: str
    meta: dict | None
    unreadable: bool = False  # a meta.json that is not JSON
    run: str | None = None
    checkpoint: str | None = None


@dataclass(frozen=True)
class TracksEntry:
    """A tracking run ``runs/tracks/<source>/<tracker>/`` or, with ``comparison``, one that
    ``detbench compare`` keeps under ``runs/compare/<comparison>/tracks/``."""

    detector: str
    tracker: str
    comparison: str | None = None


@dataclass(frozen=True)
class Listing:
    """One kind of thing under a runs root: ``kind`` (one of :data:`LISTABLE`, ``runs`` also
    standing for ``checkpoints``), the folder listed (None for ``trackers``) and its entries:

    - ``datasets``, ``motion``: folder names;
    - ``runs``: ``(run name, [epoch numbers])``;
    - ``caches``: :class:`CacheEntry`;
    - ``tracks``: :class:`TracksEntry` (``runs/tracks`` first, then the comparisons');
    - ``trackers``: the registered tracker names, sorted; None when the package is not importable.

    ``demo``: None for the runs root itself, else the ``runs/demo/<invocation>/`` folder (the runs
    root of one ``detbench demo``) the entries are in.
    """

    kind: str
    root: Path | None
    entries: list | None
    demo: Path | None = None


def _cache_entry(folder: Path, root: Path) -> CacheEntry:
    import json

    meta, bad, run, ckpt = None, False, None, None
    if (folder / "meta.json").is_file():
        try:
            meta = json.loads((folder / "meta.json").read_text())
        except json.JSONDecodeError:
            bad = True
    if isinstance(meta, dict):
        ckpt = (meta.get("inputs") or {}).get("checkpoint")
        run = meta.get("run") or (_in_run(Path(ckpt), root)[0] if ckpt else None)
        run = Path(run).name if run else None
    return CacheEntry(folder.name, meta, bad, run, ckpt)


def _listing_at(root: Path, show, demo: Path | None) -> list[Listing]:
    """Datasets, runs, caches, motion models and tracking runs under one runs root."""
    out = []
    if show("datasets"):
        out.append(Listing("datasets", root / "data", [d.name for d in run_dirs(root / "data")], demo))
    if show("runs") or show("checkpoints"):
        out.append(Listing("runs", paths.train_root(root),
                           [(d.name, list(epoch_files(d))) for d in run_dirs(paths.train_root(root))], demo))
    if show("caches"):
        out.append(Listing("caches", paths.detections_root(root),
                           [_cache_entry(d, root) for d in run_dirs(paths.detections_root(root))], demo))
    if show("motion"):
        out.append(Listing("motion", paths.motion_root(root), [d.name for d in run_dirs(paths.motion_root(root))],
                           demo))
    if show("tracks"):
        tracks = [TracksEntry(det.name, trk.name) for det in run_dirs(root / "tracks") for trk in run_dirs(det)]
        tracks += [TracksEntry(det.name, trk.name, name.name)   # detbench compare keeps its own
                   for name in run_dirs(root / "compare") for det in run_dirs(name / "tracks")
                   for trk in run_dirs(det)]
        out.append(Listing("tracks", root / "tracks", tracks, demo))
    return out


def listing(what: str = "all") -> list[Listing]:
    """What exists under the runs root, for ``what`` (``all`` or one of :data:`LISTABLE`), in
    the order above, then the same kinds inside each ``runs/demo/<invocation>/`` (only those with
    entries); dot-folders (unfinished writes) are never listed (:func:`run_dirs`)."""
    if what != "all" and what not in LISTABLE:
        raise InputError(f"ls: unknown kind {what!r} (all, {', '.join(LISTABLE)})")
    show = (lambda k: what in ("all", k))
    out = _listing_at(paths.runs_root(), show, None)
    if show("trackers"):
        try:
            from trackers import TRACKERS
            names = sorted(TRACKERS)
        except ImportError:
            names = None
        out.append(Listing("trackers", None, names))
    for demo in run_dirs(paths.demo_root()):
        out += [item for item in _listing_at(demo, show, demo) if item.entries]
    return out
