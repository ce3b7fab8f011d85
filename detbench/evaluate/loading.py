"""Pair ground-truth sequences with result files and load both, validated.

``gt_dir``: MOTChallenge layout, ``<seq>/gt/gt.txt`` (+ optional ``<seq>/seqinfo.ini`` giving
the sequence length). ``results_dir``: one ``<seq>.txt`` per sequence. Every GT sequence needs a
result file and every result file a GT sequence; an empty result *file* is fine (the tracker
found nothing), an empty results *folder* is an error. Row validation is
:func:`detbench.data.mot.read_mot`'s (non-integer frames, non-positive sizes, duplicate ids ...).
:func:`load_sequence` reads the ground truth's ignore rows too and applies
:func:`detbench.evaluate.ignore.apply_ignore_rows`, so everything scored (TrackEval, the
motmetrics cross-check) sees the same filtered inputs.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from detbench.core.classes import NUM_CLASSES
from detbench.core.errors import InputError
from detbench.data.layout import gt_file, seqinfo_file
from detbench.data.mot import (
    CLASS,
    CONSIDER,
    FRAME,
    ID,
    IGNORE_CLASS,
    MOT_COLS,
    MOT_WORLD_COLS,
    NO_CLASS,
    VIS,
    H,
    W,
    class_less,
    considered,
    read_mot,
    read_seqinfo,
)
from detbench.evaluate.ignore import apply_ignore_rows


@dataclass(frozen=True)
class SequenceFiles:
    name: str
    gt_path: Path
    res_path: Path
    seqinfo_path: Path | None


def _names(paths, limit: int = 5) -> str:
    paths = sorted(paths)
    more = f" (+{len(paths) - limit} more)" if len(paths) > limit else ""
    return ", ".join(paths[:limit]) + more


def pair_sequences(gt_dir: str | Path, results_dir: str | Path) -> list[SequenceFiles]:
    """Match ``<gt_dir>/<seq>/gt/gt.txt`` with ``<results_dir>/<seq>.txt``, sorted by name."""
    gt_dir, results_dir = Path(gt_dir), Path(results_dir)
    if not gt_dir.is_dir():
        raise InputError(f"{gt_dir}: ground-truth folder not found")
    if not results_dir.is_dir():
        raise InputError(f"{results_dir}: results folder not found")
    gt = {p.name: p for p in gt_dir.iterdir() if p.is_dir() and gt_file(p).is_file()}
    if not gt:
        raise InputError(f"{gt_dir}: no ground truth (<seq>/gt/gt.txt) found")
    res = {p.stem: p for p in results_dir.glob("*.txt") if p.is_file()}
    if not res:
        raise InputError(f"{results_dir}: results folder holds no <seq>.txt result files")
    extra = set(res) - set(gt)
    if extra:
        raise InputError(f"{results_dir}: result file(s) for sequence(s) without ground truth in "
                         f"{gt_dir}: {_names(f'{n}.txt' for n in extra)}")
    missing = set(gt) - set(res)
    if missing:
        raise InputError(f"{results_dir}: no result file for ground-truth sequence(s): "
                         f"{_names(f'{n}.txt' for n in missing)}")
    out = []
    for name in sorted(gt):
        ini = seqinfo_file(gt[name])
        out.append(SequenceFiles(name, gt_file(gt[name]), res[name], ini if ini.is_file() else None))
    return out


def read_table(path: Path, kind: str, include_ignored: bool = False) -> np.ndarray:
    """:func:`read_mot` with a vectorised fast path (same array, same validation, same
    ``include_ignored`` rule for ground truth).

    Well-formed files are parsed by ``np.loadtxt`` and checked column-wise; anything unusual
    (ragged rows, a failed check) goes through :func:`read_mot`, whose message names the line.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # loadtxt warns on an empty file
            a = np.loadtxt(path, delimiter=",", ndmin=2, dtype=np.float64, comments=None)
    except (ValueError, OSError):
        return read_mot(path, kind=kind, include_ignored=include_ignored)
    results = kind != "gt"
    if a.size == 0 or not 6 <= a.shape[1] <= (MOT_WORLD_COLS if results else MOT_COLS):
        return read_mot(path, kind=kind, include_ignored=include_ignored)
    out = np.ones((len(a), MOT_COLS), dtype=np.float64)
    out[:, :min(a.shape[1], MOT_COLS)] = a[:, :MOT_COLS]
    if results and a.shape[1] <= CLASS:
        out[:, CLASS] = NO_CLASS  # no class column: class-less, never class 1
    if a.shape[1] == MOT_WORLD_COLS:
        out[:, VIS] = 1.0  # columns 8-10 are world coordinates there, not a visibility
    ints = out[:, [FRAME, ID, CLASS]]
    frame_id = out[:, FRAME] * (1 << 32) + out[:, ID]
    cls = out[:, CLASS]
    if results:  # 1..7 on every row, or -1 (no class) on every row
        cls_ok = ((cls >= 1) & (cls <= NUM_CLASSES)).all() or (cls == NO_CLASS).all()
    else:
        lowest = np.where(out[:, CONSIDER] == 0, IGNORE_CLASS, 1)
        cls_ok = ((cls >= lowest) & (cls <= NUM_CLASSES)).all()
    ok = (np.isfinite(a).all() and (ints == np.round(ints)).all() and (out[:, FRAME] >= 1).all()
          and (out[:, ID] >= 0).all()
          and (out[:, W] > 0).all() and (out[:, H] > 0).all()
          and cls_ok
          and len(np.unique(frame_id)) == len(out))
    if not ok:
        read_mot(path, kind=kind)  # raises with the offending line
        raise InputError(f"{path}: malformed MOT rows")  # pragma: no cover (read_mot disagrees)
    if kind == "gt" and not include_ignored:
        out = out[considered(out)]
    return out


def load_sequence(files: SequenceFiles, per_class: bool = True) -> tuple[np.ndarray, np.ndarray, int]:
    """(considered gt rows, result rows left after the ignore rows took theirs, number of frames).

    ``per_class`` is the scoring mode (:func:`apply_ignore_rows`); class-less results are scored
    class-agnostically whatever it says (:func:`load_scored`). Frames beyond seqinfo's length
    are an error."""
    return load_scored(files, per_class)[:3]


def load_scored(files: SequenceFiles, per_class: bool = True) -> tuple[np.ndarray, np.ndarray, int, bool]:
    """:func:`load_sequence`'s tables plus the mode they were filtered in: ``per_class`` unless
    the results file has no class (no class column, or class -1 on every row), which is scored
    class-agnostically (every result box may match a ground-truth box of any class) rather than
    re-labelled as some class."""
    gt = read_table(files.gt_path, kind="gt", include_ignored=True)
    res = read_table(files.res_path, kind="results")
    if files.seqinfo_path is not None:
        length = read_seqinfo(files.seqinfo_path).length
        for table, path in ((gt, files.gt_path), (res, files.res_path)):
            if len(table) and table[:, FRAME].max() > length:
                raise InputError(f"{path}: frame {int(table[:, FRAME].max())} is beyond the sequence "
                                 f"length {length} in {files.seqinfo_path}")
    else:
        length = int(max(gt[:, FRAME].max(initial=0), res[:, FRAME].max(initial=0)))
    per_class = per_class and not class_less(res)
    gt, res = apply_ignore_rows(gt, res, per_class)
    return gt, res, length, per_class
