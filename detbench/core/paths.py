"""The run layout. Every stage reads and writes under one root (``./runs`` by default).

Set ``DETBENCH_RUNS`` (or pass ``--runs-dir`` to the CLI) to move it.

::

    runs/
      data/<name>/                 detbench prepare: meta.json, coco/<split>.json,
                                   sequences/<split>/<scene>_<CAM>/{gt/gt.txt,seqinfo.ini,frames.json}
      train/<run>/                 detbench train: recipe.json, run.json, log.jsonl, epoch_<N>.pth, latest.pth
      detections/<key>/            detbench detect: meta.json, <seq>.npz (one per sequence)
      motion/<name>/               detbench train-motion: TrackSSM checkpoints
      tracks/<source>/<tracker>/   detbench track: <seq>.txt (MOT results), meta.json; <source> is
                                   <run>-epoch<N> (a run's checkpoint), <stem>-<sha8> (a .pth) or the --dets folder
      tune/<tracker>/<run>-<detector>__<data>__<split>__<key>.json   detbench tune (one per pair)
      .image-index/<folder hash>.json   each image's sha256, remembered (detbench.core.imageprints)
      demo/<time>-seed<N>-*/       detbench demo: one invocation, the runs root of every stage it ran
    results/<name>/                detbench compare: small committed tables and plots

Inside ``data/<name>/`` the paths belong to :mod:`detbench.data.layout` (``PreparedDataset``).
"""
from __future__ import annotations

import os
from pathlib import Path

ENV_VAR = "DETBENCH_RUNS"


def runs_root() -> Path:
    return Path(os.environ.get(ENV_VAR, "runs"))


def data_dir(name: str) -> Path:
    return runs_root() / "data" / name


def train_root(root: Path | None = None) -> Path:
    """``root``: another runs root (a demo's ``runs/demo/<invocation>/``); default :func:`runs_root`."""
    return (root or runs_root()) / "train"


def train_dir(run: str) -> Path:
    return train_root() / run


def detections_root(root: Path | None = None) -> Path:
    return (root or runs_root()) / "detections"


def motion_root(root: Path | None = None) -> Path:
    return (root or runs_root()) / "motion"


def demo_root() -> Path:
    """``runs/demo/``: one folder per ``detbench demo`` invocation, each the runs root of its stages."""
    return runs_root() / "demo"


def tracks_dir(source: str, tracker: str) -> Path:
    """``source``: :meth:`detbench.runs.DetectorRef.label` of a checkpoint, or a ``--dets`` folder's name."""
    return runs_root() / "tracks" / source / tracker


def results_dir(name: str) -> Path:
    return Path("results") / name


def run_dirs(root: Path) -> list[Path]:
    """The runs under ``root``, sorted by name: its folders, dot-folders left out."""
    root = Path(root)
    return sorted(d for d in root.iterdir() if d.is_dir() and not d.name.startswith(".")) if root.is_dir() else []
