"""Resolve ``--detector`` values to per-sequence detections and measure them on the axes.

A value is one of: a detection cache directory (``runs/detections/<key>/``: ``meta.json`` +
``<seq>.npz``), a folder of MOT detection files (``<seq>.txt``: ``frame,-1,x,y,w,h,score[,class]``),
or a detector name (``epoch<N>`` or a ``.pth``) of a training run, resolved once when the study is
built (:func:`resolve_values`) and detected on ``--data``'s split through the detection cache
(computed when missing, reused when present).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from detbench.core.errors import InputError
from detbench.data.mot import read_mot, read_mot_dets
from detbench.detect.cache import read_sequence_detections
from detbench.detect.resolved import ResolvedDetector, detect, resolve
from detbench.sensitivity import placement
from detbench.sensitivity.run import Split


@dataclass(frozen=True)
class DetectionFolder:
    """A ``--detector`` value naming a folder: a detection cache (``meta.json``) or MOT files."""

    given: str  # as on the command line


Placed = ResolvedDetector | DetectionFolder


def resolve_values(values: list[str], data_dir: Path | None, split_name: str = "val", run: str | None = None,
                   device: str = "cpu") -> tuple[Placed, ...]:
    """Each ``--detector`` value, once: a folder as it is, a detector name resolved on ``data_dir``'s
    split (:func:`detbench.detect.resolved.resolve`; InputError without ``data_dir``)."""
    out = []
    for value in values:
        if Path(value).is_dir():
            out.append(DetectionFolder(value))
        elif data_dir is None:
            raise InputError(f"--detector {value}: a detector name needs --data (the prepared dataset whose split "
                             "is scored); or pass a detection cache directory or a folder of MOT detection files")
        else:
            out.append(resolve(value, data_dir, split_name, run, device=device))
    return tuple(out)


def given(value: Placed) -> str:
    """The ``--detector`` value as the command line gave it."""
    return value.given if isinstance(value, DetectionFolder) else value.name


def _load(value: Placed, split: Split) -> tuple[str, callable]:
    if isinstance(value, ResolvedDetector):
        cache = detect(value).cache_dir
        return value.name, lambda seq: read_sequence_detections(cache, seq.name)
    p = Path(value.given)
    if (p / "meta.json").is_file():
        return p.name, lambda seq: read_sequence_detections(p, seq.name)
    missing = [s.name for s in split.sequences if not (p / f"{s.name}.txt").is_file()]
    if missing:
        raise InputError(f"{p}: neither a detection cache (meta.json) nor MOT detections for every "
                         f"sequence (missing {', '.join(missing[:3])}{' ...' if len(missing) > 3 else ''})")
    return p.name, lambda seq: read_mot_dets(p / f"{seq.name}.txt", num_frames=seq.length)


def place(values: tuple[Placed, ...], split: Split, tau: float = placement.TAU) -> list[dict]:
    """[{"name", "source", "measured": {axis: value}}] for each ``--detector`` value (resolved by
    :func:`resolve_values`)."""

    out = []
    for value in values:
        name, load = _load(value, split)
        pairs = []
        for seq in split.sequences:
            dets = load(seq)
            if len(dets) != seq.length:
                raise InputError(f"{given(value)}: {len(dets)} frames of detections for {seq.name}, "
                                 f"its seqinfo.ini says {seq.length}")
            # ignore rows too: placement leaves detections on them out (neither matched nor false)
            pairs.append((read_mot(seq.gt_path, kind="gt", include_ignored=True), dets))
        out.append({"name": name, "source": given(value), "measured": placement.measure_split(pairs, tau)})
    return out
