"""Resolve ``--detector`` values to per-sequence detections and measure them on the axes.

A value is one of: a detection cache directory (``runs/detections/<key>/``: ``meta.json`` +
``<seq>.npz``), a folder of MOT detection files (``<seq>.txt``: ``frame,-1,x,y,w,h,score[,class]``),
or a detector name (``epoch<N>`` or a ``.pth``) of a training run, detected on ``--data``'s split
through the detection cache (computed when missing, reused when present).
"""
from __future__ import annotations

from pathlib import Path

from detbench.core.errors import InputError
from detbench.data.mot import read_mot, read_mot_dets
from detbench.detect.api import ensure_detections
from detbench.sensitivity import placement
from detbench.sensitivity.run import Split


def _load(value: str, split: Split, data_dir: Path | None, split_name: str, run: str | None,
          device: str) -> tuple[str, callable]:
    p = Path(value)
    if p.is_dir() and (p / "meta.json").is_file():
        from detbench.detect.cache import read_sequence_detections

        return p.name, lambda seq: read_sequence_detections(p, seq.name)
    if p.is_dir():
        missing = [s.name for s in split.sequences if not (p / f"{s.name}.txt").is_file()]
        if missing:
            raise InputError(f"{p}: neither a detection cache (meta.json) nor MOT detections for every "
                             f"sequence (missing {', '.join(missing[:3])}{' ...' if len(missing) > 3 else ''})")
        return p.name, lambda seq: read_mot_dets(p / f"{seq.name}.txt", num_frames=seq.length)
    if data_dir is None:
        raise InputError(f"--detector {value}: a detector name needs --data (the prepared dataset whose split "
                         "is scored); or pass a detection cache directory or a folder of MOT detection files")

    cache = ensure_detections(value, data_dir, split_name, run=run, device=device)
    return value, lambda seq: read_sequence_detections(cache, seq.name)


def place(values: list[str], split: Split, data_dir: Path | None = None, split_name: str = "val",
          run: str | None = None, device: str = "cpu", tau: float = placement.TAU) -> list[dict]:
    """[{"name", "source", "measured": {axis: value}}] for each ``--detector`` value."""

    out = []
    for value in values:
        name, load = _load(value, split, data_dir, split_name, run, device)
        pairs = []
        for seq in split.sequences:
            dets = load(seq)
            if len(dets) != seq.length:
                raise InputError(f"{value}: {len(dets)} frames of detections for {seq.name}, "
                                 f"its seqinfo.ini says {seq.length}")
            # ignore rows too: placement leaves detections on them out (neither matched nor false)
            pairs.append((read_mot(seq.gt_path, kind="gt", include_ignored=True), dets))
        out.append({"name": name, "source": value, "measured": placement.measure_split(pairs, tau)})
    return out
