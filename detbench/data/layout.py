"""The prepared dataset's layout: the one module that spells its paths.

``detbench prepare`` writes (``docs/contracts.md`` section 1)::

    <root>/meta.json
    <root>/coco/<split>.json
    <root>/sequences/<split>/<seq>/gt/gt.txt
                                  /seqinfo.ini
                                  /frames.json
                                  /frames_all.json      (only when the dataset has 12 Hz sweeps)

A sequence folder ``<seq>/`` is the MOTChallenge one, also met outside a prepared dataset
(``eval --gt``, ``track --sequences``, ``sensitivity --gt``, ``train-motion --eval-data``): the
functions :func:`gt_file`, :func:`seqinfo_file`, :func:`frames_file`, :func:`is_sequence_dir`
and :func:`gt_hashes` take such a folder (or a folder of them); :class:`PreparedDataset` adds
the dataset around them; :func:`find_dataset` resolves ``--data``.

Single owner: outside this module and ``tests/``, nothing spells these paths; the grep that
shows it is in ``docs/contracts.md`` ("Prepared dataset layout") and ``tests/test_layout.py``
runs it. Every ``meta.json`` left elsewhere is another artifact's (a detection cache, a tracks
folder, a motion model, the base weights).
"""
from __future__ import annotations

from functools import cached_property
from pathlib import Path

from detbench.core import paths
from detbench.core.errors import InputError
from detbench.core.fileio import read_json, sha256_file

META = "meta.json"
COCO_DIR = "coco"
SEQUENCES_DIR = "sequences"
GT_FILE = "gt/gt.txt"             # relative to a sequence folder
SEQINFO = "seqinfo.ini"
FRAMES = "frames.json"
FRAMES_ALL = "frames_all.json"
GT_FILES = (GT_FILE, SEQINFO)     # a sequence's ground truth, as cache keys hash it (labels kept)


# --- one sequence folder (MOTChallenge layout) ---------------------------------------------------

def gt_file(seq_dir: str | Path) -> Path:
    return Path(seq_dir) / GT_FILE


def seqinfo_file(seq_dir: str | Path) -> Path:
    return Path(seq_dir) / SEQINFO


def frames_file(seq_dir: str | Path, all_frames: bool = False) -> Path:
    """``frames.json`` (keyframes), or ``frames_all.json`` (every camera frame) with ``all_frames``."""
    return Path(seq_dir) / (FRAMES_ALL if all_frames else FRAMES)


def is_sequence_dir(path: str | Path) -> bool:
    """A folder with ``seqinfo.ini`` or ``gt/gt.txt``."""
    p = Path(path)
    return p.is_dir() and (seqinfo_file(p).is_file() or gt_file(p).is_file())


def gt_hashes(seq_root: str | Path) -> dict:
    """``{seq: {"gt/gt.txt": sha256, "seqinfo.ini": sha256}}`` (files present only) for every
    sub-folder of ``seq_root``, in name order; ``{}`` when ``seq_root`` is not a folder."""

    root = Path(seq_root)
    if not root.is_dir():
        return {}
    return {s.name: {f: sha256_file(s / f) for f in GT_FILES if (s / f).is_file()}
            for s in sorted(root.iterdir()) if s.is_dir()}


# --- the prepared dataset ------------------------------------------------------------------------

class PreparedDataset:
    """``runs/data/<name>/`` (or any folder ``detbench prepare --out`` wrote): paths and ``meta``."""

    def __init__(self, root: str | Path):
        self.root = Path(root)

    def __repr__(self) -> str:
        return f"PreparedDataset({str(self.root)!r})"

    @property
    def meta_file(self) -> Path:
        return self.root / META

    def exists(self) -> bool:
        """Whether ``meta.json`` is there (prepare writes the folder atomically, so: complete)."""
        return self.meta_file.is_file()

    @cached_property
    def meta(self) -> dict:
        """``meta.json``, read once; InputError naming the file when missing or not JSON."""

        return read_json(self.meta_file, "prepared dataset meta.json not found (run detbench prepare)")

    def splits(self) -> list[str]:
        """The splits ``meta.json`` lists sequences for, sorted."""
        return sorted(self.meta.get("sequences") or {})

    def sequences(self, split: str) -> list[str]:
        """The sequence names of ``split`` from ``meta.json``, sorted ([] for an unknown split)."""
        return sorted((self.meta.get("sequences") or {}).get(split, []))

    def coco_file(self, split: str) -> Path:
        return self.root / COCO_DIR / f"{split}.json"

    @property
    def sequences_root(self) -> Path:
        return self.root / SEQUENCES_DIR

    def gt_dir(self, split: str) -> Path:
        """The split's folder of sequences (a MOTChallenge-layout ground-truth folder)."""
        return self.sequences_root / split

    def has_split(self, split: str) -> bool:
        return self.gt_dir(split).is_dir()

    def seq_dir(self, split: str, seq: str) -> Path:
        return self.gt_dir(split) / seq

    def gt_file(self, split: str, seq: str) -> Path:
        return gt_file(self.seq_dir(split, seq))

    def seqinfo(self, split: str, seq: str) -> Path:
        return seqinfo_file(self.seq_dir(split, seq))

    def frames_file(self, split: str, seq: str, all_frames: bool = False) -> Path:
        return frames_file(self.seq_dir(split, seq), all_frames)


def find_dataset(data: str | Path | None = None, require_sequences: bool = False) -> Path:
    """``--data``: a prepared dataset folder, or a name under ``runs/data/``; None: the only
    prepared dataset (folder with ``meta.json``) under ``runs/data/``. ``require_sequences``: the
    folder must hold ``sequences/``. InputError (one line) otherwise."""

    if data is None:
        root = paths.runs_root() / "data"
        found = sorted(p for p in root.iterdir() if PreparedDataset(p).exists()) if root.is_dir() else []
        if not found:
            raise InputError(f"{root}: no prepared dataset (run detbench prepare, or pass --data)")
        if len(found) > 1:
            raise InputError(f"{root}: pass --data (prepared datasets found: {', '.join(p.name for p in found)})")
        found_dir = found[0]
    else:
        p = Path(data)
        named = paths.data_dir(str(data))
        if p.is_dir():
            found_dir = p
        elif named.is_dir():
            found_dir = named
        else:
            raise InputError(f"{data}: no prepared dataset here or at {named} (run detbench prepare)")
    if require_sequences and not PreparedDataset(found_dir).sequences_root.is_dir():
        raise InputError(f"{found_dir}: not a prepared dataset (no sequences/ folder); run detbench prepare first")
    return found_dir
