"""TrackSSM training windows read from a prepared dataset (or a MOT folder of sequences): each
sequence's ground-truth tracks (:func:`sequence_windows`, cut into windows by
:mod:`trackers.trackssm.data`), with the ground-plane inputs of the cameras in its
``frames.json`` when asked (:func:`sequence_cameras`), a split's sequence folders and the hash of
what the windows were read from (a trained model records it)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from detbench.core.errors import InputError
from detbench.core.fileio import sha256_file, sha256_json
from detbench.core.geometry import Camera
from detbench.data.layout import PreparedDataset, frames_file, gt_file, seqinfo_file
from detbench.data.mot import list_sequences, read_mot, read_seqinfo
from detbench.tracking.sources import read_frame_records
from trackers.trackssm.data import FIELDS, Windows, jitter_boxes, segment_windows, track_segments
from trackers.trackssm.ground import NEED, windows_ground_inputs


def sequence_cameras(seq_dir, info, required: bool = False) -> tuple[list[Camera], np.ndarray] | None:
    """Every frame's :class:`Camera` and time (seconds) from the sequence's ``frames.json``; None
    when it has none or a frame lacks a field (InputError naming the file and frame if
    ``required``)."""

    rec = read_frame_records(seq_dir, info, [])
    where = rec.path or f"{seq_dir}/frames.json"
    cameras = []
    for i in range(info.length):
        missing = [k for k, v in (("intrinsics", rec.intrinsics[i]), ("cam2global", rec.cam2global[i])) if v is None]
        if rec.path is None or missing:
            if required:
                raise InputError(f"{where}: " + (f"frame {i + 1} has no {missing[0]!r}" if rec.path else "not found")
                                 + f" ({NEED})")
            return None
        try:
            cameras.append(Camera(np.array(rec.intrinsics[i]), np.array(rec.cam2global[i]), info.width, info.height))
        except ValueError as e:
            raise InputError(f"{where}: frame {i + 1}: {e}") from None
    return cameras, np.asarray(rec.timestamps, np.float64)


#: what ``sequence_windows`` does with the sequence's camera calibration
CALIBRATION = ("skip", "try", "require")


def sequence_windows(seq_dir: str | Path, history: int = 5, frame_rate: float = 2.0,
                     calibration: str = "skip", jitter: float = 0.0,
                     rng: np.random.Generator | None = None) -> Windows:
    """Windows of one MOT sequence folder (``gt/gt.txt`` + ``seqinfo.ini``) at ``frame_rate`` Hz.

    ``calibration``: ``"skip"`` (image-plane inputs only), ``"try"`` (ground-plane inputs too when
    ``frames.json`` gives every frame's camera) or ``"require"`` (they must: else InputError).
    ``jitter`` > 0: every box is jittered once (:func:`~trackers.trackssm.data.jitter_boxes`, drawn
    from ``rng`` segment by segment) and the histories and ground-plane inputs read the jittered
    boxes, as a tracker reads detections; the targets stay the exact boxes."""

    seq_dir = Path(seq_dir)
    info = read_seqinfo(seqinfo_file(seq_dir))
    ratio = info.frame_rate / frame_rate
    step = int(round(ratio))
    if step < 1 or abs(ratio - step) > 1e-6:
        raise InputError(f"{seqinfo_file(seq_dir)}: frame rate {info.frame_rate:g} Hz is not a "
                         f"whole multiple of the motion model's {frame_rate:g} Hz")
    gt = gt_file(seq_dir)
    table = read_mot(gt, kind="gt")
    segs = track_segments(table, info.width, info.height, step, source=str(gt), classes=True)
    seen = [(f, jitter_boxes(b, jitter, rng), c) for f, b, c in segs] if jitter else segs
    wins = Windows.concat([segment_windows(b, f, history, o) for (f, b, _), (_, o, _) in zip(segs, seen)], history)
    if calibration == "skip":
        return wins
    cams = sequence_cameras(seq_dir, info, required=calibration == "require")
    if cams is None:
        return wins
    g = windows_ground_inputs(seen, *cams, info.width, info.height, step, history)
    return Windows(*(getattr(wins, f) for f in FIELDS), g.hist, g.mask, g.anchor, g.ok)


def split_sequences(data_dir: str | Path, split: str) -> list[Path]:
    """Sequence folders of a prepared dataset's ``<data_dir>/sequences/<split>/``; when
    ``data_dir`` has no such split folder it is taken as a MOT folder of sequences itself
    (``<data_dir>/sequences/<seq>/`` or ``<data_dir>/<seq>/``). Missing folders -> []."""

    data_dir = Path(data_dir)
    data = PreparedDataset(data_dir)
    for root in (data.gt_dir(split), data.sequences_root, data_dir):
        if root.is_dir():
            names = list_sequences(root)
            if names:
                return [root / name for name in names]
    return []


def dataset_windows(seq_dirs: list[Path], history: int = 5, frame_rate: float = 2.0,
                    what: str = "training set", source: str = "?", calibration: str = "skip",
                    jitter: float = 0.0, seed: int = 0, copies: int = 1) -> Windows:
    """Windows of every sequence (``calibration``, ``jitter``: :func:`sequence_windows`, one
    ``seed``ed stream over the sequences in order; with ``"try"`` the ground-plane inputs are kept
    only when every sequence has them); with ``jitter`` > 0, ``copies`` passes over the sequences,
    each with its own draws from that stream (the same targets, differently jittered histories);
    an empty result raises :class:`InputError`."""
    rng = np.random.default_rng(seed)
    passes = copies if jitter else 1
    wins = Windows.concat([sequence_windows(s, history, frame_rate, calibration, jitter, rng)
                           for _ in range(passes) for s in seq_dirs], history)
    if len(wins) == 0:
        where = seq_dirs[0].parent if seq_dirs else source
        raise InputError(f"{where}: empty {what}: {len(seq_dirs)} sequence(s), no track with two "
                         f"consecutive frames at {frame_rate:g} Hz")
    return wins


def data_hash(seq_dirs: list[Path], calibration: bool = False) -> str:
    """sha256 over every sequence's name, gt.txt and seqinfo.ini contents (and, with
    ``calibration``, its frames.json: a ground-plane model reads the cameras too)."""

    def files(s: Path) -> list[str]:
        extra = [sha256_file(frames_file(s)) if frames_file(s).is_file() else None] if calibration else []
        return [sha256_file(gt_file(s)), sha256_file(seqinfo_file(s)), *extra]

    return sha256_json({s.name: files(s) for s in sorted(seq_dirs)})
