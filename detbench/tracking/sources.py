"""Where a tracking run's sequences and detections come from.

A :class:`SequenceJob` is everything one worker needs to track one sequence, and is picklable:
the sequence info (``seqinfo.ini``), per-frame timestamps (seconds from the first frame) and
image paths (only where the image exists), and where to read the detections:

- ``("cache", cache_dir)``: the detection cache (:func:`detbench.detect.cache.read_sequence_detections`);
- ``("mot", path)``: an external MOT detection file ``frame,-1,x,y,w,h,score[,class]`` (or
  MOTChallenge's ``...,score,-1,-1,-1``: class-less, tracked as one class).

Sequences come from a prepared dataset (``runs/data/<name>/sequences/<split>/``, images under the
dataset's ``dataroot``) or any MOTChallenge-layout folder (``--sequences``: ``<seq>/seqinfo.ini``,
optional ``frames.json``; image paths are tried relative to the sequence folder, the folder
holding the sequences and its parent).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from detbench.core import paths
from detbench.core.errors import InputError
from detbench.core.fileio import sha256_file
from detbench.core.pose_camera import float_camera
from detbench.data.layout import PreparedDataset, frames_file, seqinfo_file
from detbench.data.mot import MotDetections, SeqInfo, list_sequences, read_frames_json, read_mot_det_file, read_seqinfo
from detbench.detect.resolved import ResolvedDetector, detect
from trackers.base import Frame


@dataclass(frozen=True)
class SequenceJob:
    """One sequence to track. ``intrinsics`` / ``cam2global``: per frame, the camera calibration
    from frames.json as nested tuples (None where the frame has none); ``frames_path``: that
    frames.json (None when the sequence has none)."""

    name: str
    info: SeqInfo
    timestamps: tuple[float, ...]
    images: tuple[str | None, ...]
    det_kind: str  # "cache" | "mot"
    det_path: str
    intrinsics: tuple = ()
    cam2global: tuple = ()
    frames_path: str | None = None

    def load_detections(self) -> list[np.ndarray]:
        """(N, 6) detections per frame, exactly ``info.length`` frames."""
        return self.read_detections().frames

    def read_detections(self) -> MotDetections:
        """The detections per frame and whether they have classes (a detection cache always does;
        a class-less MOT file's rows all carry class index 0: :func:`read_mot_det_file`)."""
        if self.det_kind == "cache":
            from detbench.detect.cache import read_sequence_detections

            det = MotDetections(read_sequence_detections(self.det_path, self.name), has_class=True)
        else:
            det = read_mot_det_file(self.det_path, num_frames=self.info.length)
        if len(det.frames) != self.info.length:
            raise InputError(f"{self.det_path}: {len(det.frames)} frames of detections for sequence {self.name}, "
                             f"seqinfo.ini says {self.info.length}")
        return det

    def input_hash(self) -> str:
        """Hash of the detections this job reads (the cache's recorded sha256 or the file's)."""
        if self.det_kind == "cache":
            from detbench.detect.cache import read_meta

            return str(read_meta(self.det_path)["sequences"].get(self.name, {}).get("sha256", ""))
        return sha256_file(self.det_path)


@dataclass(frozen=True)
class FrameRecords:
    """What a sequence's frames.json says per frame: timestamps (seconds from the first frame),
    image paths found on disk, camera calibration (nested tuples or None) and the file itself."""

    timestamps: tuple[float, ...]
    images: tuple[str | None, ...]
    intrinsics: tuple
    cam2global: tuple
    path: str | None


def _matrix(value, shape: tuple[int, int], path: Path, frame: int, key: str):
    if value is None:
        return None
    m = np.asarray(value, dtype=np.float64) if isinstance(value, list) else None
    if m is None or m.shape != shape or not np.isfinite(m).all():
        raise InputError(f"{path}: frame {frame} has a malformed {key!r} "
                         f"(expected a {shape[0]}x{shape[1]} list of finite numbers)")
    return tuple(tuple(float(v) for v in row) for row in m)


def read_frame_records(seq_dir: Path, info: SeqInfo, image_roots: list[Path]) -> FrameRecords:
    path = frames_file(seq_dir)
    if not path.is_file():
        none = (None,) * info.length
        return FrameRecords(tuple((i / info.frame_rate) for i in range(info.length)), none, none, none, None)
    rows = read_frames_json(path)
    if len(rows) != info.length:
        raise InputError(f"{path}: {len(rows)} frames, but {seqinfo_file(seq_dir)} says {info.length}")
    t0 = rows[0].get("timestamp") if rows else None
    stamps, images, intrinsics, poses = [], [], [], []
    for i, r in enumerate(rows):
        ts = r.get("timestamp")
        stamps.append((ts - t0) * 1e-6 if ts is not None and t0 is not None else i / info.frame_rate)
        found = None
        if r.get("image"):
            for root in image_roots:
                if (root / r["image"]).is_file():
                    found = str(root / r["image"])
                    break
        images.append(found)
        intrinsics.append(_matrix(r.get("intrinsics"), (3, 3), path, i + 1, "intrinsics"))
        poses.append(_matrix(r.get("cam2global"), (4, 4), path, i + 1, "cam2global"))
    return FrameRecords(tuple(stamps), tuple(images), tuple(intrinsics), tuple(poses), str(path))


def frame_of(job, i: int):
    """Frame ``i`` (0-based) of ``job`` (a :class:`SequenceJob` or anything with its fields) as the
    :class:`trackers.base.Frame` a tracker receives."""

    intrinsics = getattr(job, "intrinsics", ()) or (None,) * job.info.length
    poses = getattr(job, "cam2global", ()) or (None,) * job.info.length
    return Frame(index=i, timestamp=job.timestamps[i], frame_rate=job.info.frame_rate, width=job.info.width,
                 height=job.info.height, image_path=job.images[i],
                 intrinsics=None if intrinsics[i] is None else np.array(intrinsics[i]),
                 cam2global=None if poses[i] is None else np.array(poses[i]))


def check_calibration(jobs, tracker_name: str) -> None:
    """InputError (one line, naming the sequence's frames.json, the frame and the missing field)
    unless every frame of every job has a usable camera calibration; for trackers that need it."""

    need = f"tracker {tracker_name!r} needs every frame's camera calibration (intrinsics, cam2global)"
    for job in jobs:
        where = job.frames_path or f"sequence {job.name}: frames.json"
        if job.frames_path is None:
            raise InputError(f"{where} not found ({need})")
        for i in range(job.info.length):
            for key, values in (("intrinsics", job.intrinsics), ("cam2global", job.cam2global)):
                if not values or values[i] is None:
                    raise InputError(f"{where}: frame {i + 1} has no {key!r} ({need})")
            try:  # Camera's checks; the camera is remembered by content, so a run in this process reuses it
                float_camera(np.array(job.intrinsics[i]), np.array(job.cam2global[i]), job.info.width, job.info.height)
            except ValueError as e:
                raise InputError(f"{where}: frame {i + 1}: {e}") from None


def check_split_calibration(data_dir: str | Path, split: str, tracker_name: str) -> None:
    """:func:`check_calibration` on a prepared dataset's ``split`` from its frames.json files alone,
    before any detection is computed (``compare`` and ``tune`` call it at their input checks)."""
    data = PreparedDataset(data_dir)
    names = data.sequences(split)
    roots = [Path(data.meta["dataroot"])] if data.meta.get("dataroot") else []
    check_calibration(_jobs(data.gt_dir(split), names, roots, "cache", ""), tracker_name)


def _jobs(seq_root: Path, names: list[str], image_roots: list[Path], det_kind: str, det_path) -> list[SequenceJob]:
    jobs = []
    for name in names:
        sdir = seq_root / name
        info = read_seqinfo(seqinfo_file(sdir))
        rec = read_frame_records(sdir, info, [sdir, *image_roots])
        path = det_path if det_kind == "cache" else Path(det_path) / f"{name}.txt"
        jobs.append(SequenceJob(name, info, rec.timestamps, rec.images, det_kind, str(path),
                                rec.intrinsics, rec.cam2global, rec.path))
    return jobs


def from_external(dets_dir: str | Path, sequences_dir: str | Path) -> list[SequenceJob]:
    """Jobs for ``--dets DIR`` (``<seq>.txt``) + ``--sequences DIR`` (MOTChallenge layout)."""
    dets_dir, seq_root = Path(dets_dir), Path(sequences_dir)
    if not dets_dir.is_dir():
        raise InputError(f"{dets_dir}: detections folder not found")
    names = list_sequences(seq_root)
    if not names:
        raise InputError(f"{seq_root}: no sequences (<seq>/seqinfo.ini) found")
    missing = [n for n in names if not (dets_dir / f"{n}.txt").is_file()]
    if missing:
        raise InputError(f"{dets_dir}: no detection file for sequence(s) {', '.join(missing[:5])}"
                         + (f" (+{len(missing) - 5} more)" if len(missing) > 5 else ""))
    extra = sorted(p.stem for p in dets_dir.glob("*.txt") if p.stem not in set(names))
    if extra:
        raise InputError(f"{dets_dir}: detection file(s) for unknown sequence(s) {', '.join(extra[:5])} "
                         f"(not in {seq_root})")
    return _jobs(seq_root, names, [seq_root, seq_root.parent], "mot", dets_dir)


def check_detections(jobs: list[SequenceJob]) -> list[str]:
    """Read every external detection file once, before any tracking: a bad row anywhere is one
    InputError naming the file and line, and nothing is written. Returns the names of the
    sequences whose detections have no class (detection caches are checksummed and classed)."""
    return [j.name for j in jobs if j.det_kind != "cache" and not j.read_detections().has_class]


def from_cache(cache_dir: str | Path, data_dir: str | Path, split: str) -> list[SequenceJob]:
    """Jobs for a prepared dataset's split with detections from a detection cache."""
    data = PreparedDataset(data_dir)
    meta_path, meta = data.meta_file, data.meta
    names = data.sequences(split)
    if not names:
        raise InputError(f"{meta_path}: no sequences in split {split!r}")
    roots = [Path(meta["dataroot"])] if meta.get("dataroot") else []
    return _jobs(data.gt_dir(split), names, roots, "cache", Path(cache_dir))


@dataclass(frozen=True)
class TrackSource:
    """Where ``detbench track`` reads from and writes to: the jobs, the output folder, what
    meta.json records of the source (``extra_meta`` of :func:`detbench.tracking.run.track_split`)
    and, for a detector, the line saying which run, checkpoint and detection cache it used."""

    jobs: list[SequenceJob]
    out_dir: Path
    extra_meta: dict
    used: str | None = None


def check_source_options(detector, dets_dir, seq_dir) -> None:
    """InputError unless exactly one source is named: ``detector`` (``--detector``) or
    ``dets_dir`` with ``seq_dir`` (``--dets`` with ``--sequences``); checked before the detector
    is resolved, so a wrong combination is the first thing said."""
    if dets_dir or seq_dir:
        if not (dets_dir and seq_dir):
            raise InputError("--dets and --sequences go together (detections + sequence info)")
        if detector:
            raise InputError("give either --detector or --dets/--sequences, not both")
    elif not detector:
        raise InputError("give --detector (detection cache) or --dets with --sequences")


def select_source(tracker: str, detector: ResolvedDetector | None = None, dets_dir: str | Path | None = None,
                  seq_dir: str | Path | None = None, out_dir: str | Path | None = None) -> TrackSource:
    """The sequences and detections of a tracking run, one of:

    - ``detector`` (resolved at the command, :func:`detbench.detect.resolved.resolve`): its
      detection cache on its split of its prepared dataset, computed on its device when missing;
      output by default ``runs/tracks/<run>-epoch<N>/<tracker>/`` (``last`` resolved to its
      epoch; a ``.pth`` outside a run: ``<stem>-<sha256[:8]>``,
      :meth:`detbench.runs.DetectorRef.label`), so two runs' checkpoints never share a folder;
    - ``dets_dir`` with ``seq_dir``: external MOT detection files with their MOTChallenge-layout
      sequences (:func:`from_external`); output by default ``runs/tracks/<dets folder>/<tracker>/``.

    InputError when neither or both are given, or ``dets_dir`` without ``seq_dir``
    (:func:`check_source_options`).
    """

    check_source_options(detector, dets_dir, seq_dir)
    if dets_dir:
        jobs = from_external(dets_dir, seq_dir)
        out = Path(out_dir) if out_dir else paths.tracks_dir(Path(dets_dir).resolve().name, tracker)
        return TrackSource(jobs, out, {"dets_dir": str(dets_dir), "sequences_dir": str(seq_dir)})

    found = detect(detector)
    cache_dir, ref, data, split = found.cache_dir, found.ref, detector.data_dir, detector.split
    jobs = from_cache(cache_dir, data, split)
    out = Path(out_dir) if out_dir else paths.tracks_dir(ref.label(), tracker)
    return TrackSource(jobs, out, {"detector": detector.name, "run": ref.run or detector.run, "epoch": ref.epoch,
                                   "checkpoint": str(ref.checkpoint), "cache_dir": str(cache_dir),
                                   "data_dir": str(data), "split": split}, found.used())
