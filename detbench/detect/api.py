"""``ensure_detections``: the detection cache of a checkpoint on a prepared split, computed once.

A call computes the key (checkpoint file sha256, the dataset's meta.json sha256, the frame lists
read from each sequence's frames.json, the bytes of every image, the options, the detection code and
its libraries' versions: :mod:`detbench.codekeys`),
serves ``runs/detections/<key>/`` when :func:`detbench.detect.cache.check_cache` finds it intact,
and otherwise runs the model over every frame and writes the cache atomically (a
:class:`detbench.artifacts.KeyedArtifact`, :func:`detbench.detect.cache.artifact`, locked per key). Every call adds
one to :data:`CACHE_STATS` (``hit``, ``miss`` or ``corrupt`` (a broken entry recomputed)), so
reuse is observable without timing.
"""
from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from detbench import codekeys
from detbench import threads as thread_policy
from detbench.core import imageprints, paths
from detbench.core.classes import CLASSES, NUM_CLASSES
from detbench.core.errors import InputError
from detbench.core.fileio import sha256_file, sha256_json
from detbench.core.provenance import make_meta
from detbench.data.layout import PreparedDataset
from detbench.data.mot import read_frames_json
from detbench.detect import cache
from detbench.runs import DetectorRef, detector_ref, resolve_detector

CACHE_STATS: Counter = Counter()
# progress(done images, total images, sequence, images per second or None)
DetectProgress = Callable[[int, int, str, float | None], None]


@dataclass
class DetectResult:
    cache_dir: Path
    cache_hit: bool
    num_images: int = 0
    seconds: float = 0.0
    problems: list[str] = field(default_factory=list)  # why an existing entry was recomputed
    ref: DetectorRef | None = None  # what the detector name resolved to (set by :func:`detect`)

    def used(self) -> str:
        """The line a command prints of what it used: ``detector last = epoch 20 of run r1
        (runs/train/r1/epoch_20.pth); detections runs/detections/<key> (reused)``."""
        return (f"detector {self.ref.describe() if self.ref is not None else '?'}; detections {self.cache_dir} "
                f"({'reused' if self.cache_hit else 'computed'})")


@dataclass(frozen=True)
class FrameImage:
    """One image to detect on (not :class:`trackers.base.Frame`, what a tracker knows of a frame)."""

    image: Path
    keyframe: int  # 1-based keyframe number, 0 for a sweep
    timestamp: int


def split_frames(data_dir: str | Path, split: str, frames: str = "keyframes",
                 cameras: list[str] | None = None) -> dict[str, list[FrameImage]]:
    """The frames to run on: {sequence: [FrameImage, ...]} in time order, sequences sorted."""

    data = PreparedDataset(data_dir)
    meta = data.meta
    if split not in data.splits():
        splits = data.splits()
        raise InputError(f"{data.meta_file}: dataset has no split {split!r} "
                         + (f"(available: {', '.join(splits)})" if splits else "(it has no splits)"))
    if frames not in ("keyframes", "all"):
        raise InputError(f"--frames must be 'keyframes' or 'all', got {frames!r}")
    dataroot = Path(meta.get("dataroot", ""))
    names = data.sequences(split)
    if cameras:
        unknown = [c for c in cameras if not any(n.endswith("_" + c) for n in names)]
        if unknown:
            raise InputError(f"{data.meta_file}: split {split!r} has no sequence from camera(s) "
                             f"{', '.join(unknown)} (cameras: {', '.join(meta.get('cameras', []))})")
        names = [n for n in names if any(n.endswith("_" + c) for c in cameras)]
    out = {}
    for seq in names:
        sdir = data.seq_dir(split, seq)
        use_all = frames == "all" and data.frames_file(split, seq, all_frames=True).is_file()
        rows = read_frames_json(data.frames_file(split, seq, all_frames=use_all))
        items = []
        for i, r in enumerate(rows):
            if "image" not in r:
                raise InputError(f"{sdir}: frame {i + 1} has no 'image' path")
            kf = (r.get("keyframe") or 0) if use_all else int(r.get("frame", i + 1))
            items.append(FrameImage(dataroot / r["image"], int(kf), int(r.get("timestamp", 0))))
        out[seq] = items
    return out


@dataclass(frozen=True)
class DetectionKey:
    """What names one detection cache, computed once (:func:`_key`): the key (the cache folder's
    name), the options it hashes, the frames it runs on and the two input hashes."""

    key: str
    options: dict
    seq_frames: dict
    checkpoint_sha256: str
    data_sha256: str


def _key(checkpoint: Path, data_dir: Path, split, conf, nms, device, frames, cameras, max_det, ckpt_sha=None):
    """-> (key, options, frames per sequence, checkpoint sha256, dataset meta sha256); ``ckpt_sha``:
    the checkpoint's sha256 when the caller has it already."""
    from detbench.detect.infer import precision_for

    if not checkpoint.is_file():
        raise InputError(f"{checkpoint}: checkpoint not found")
    seq_frames = split_frames(data_dir, split, frames, cameras)
    if not seq_frames:
        raise InputError(f"{PreparedDataset(data_dir).meta_file}: split {split!r} has no sequences")
    options = {"split": split, "conf": float(conf), "nms": float(nms), "max_det": int(max_det),
               "frames": frames, "cameras": sorted(cameras) if cameras else None,
               "precision": precision_for(device)}
    ckpt_sha = ckpt_sha or sha256_file(checkpoint)
    data_sha = sha256_file(PreparedDataset(data_dir).meta_file)
    key = cache.cache_key(ckpt_sha, data_sha, options, frames_sha256(seq_frames), images_sha256(seq_frames),
                          codekeys.code_key(*codekeys.DETECT))
    return key, options, seq_frames, ckpt_sha, data_sha


def detection_key(detector: str, data_dir: str | Path, split: str = "val", run: str | None = None,
                  conf: float = 0.01, nms: float = 0.65, device: str = "cpu", frames: str = "keyframes",
                  cameras: list[str] | None = None, max_det: int = 300) -> dict:
    """What names ``detector``'s cache on ``split``, without running anything: ``{"key"`` (the
    cache directory's name), ``"checkpoint"``, ``"checkpoint_sha256"}`` (tunings are stored under it)."""
    ckpt = resolve_checkpoint(detector, run)
    key, _, _, ckpt_sha, _ = _key(ckpt, Path(data_dir), split, conf, nms, device, frames, cameras, max_det)
    return {"key": key, "checkpoint": str(ckpt), "checkpoint_sha256": ckpt_sha}


def frames_sha256(seq_frames: dict[str, list[FrameImage]]) -> str:
    """Hash of the frame lists a cache is computed from (images, keyframe numbers, timestamps as
    read from frames.json): an edited frames.json gets its own cache entry."""
    return sha256_json({seq: [[str(f.image), f.keyframe, f.timestamp] for f in items]
                        for seq, items in seq_frames.items()})


def images_sha256(seq_frames: dict[str, list[FrameImage]]) -> str:
    """Hash of the bytes of every image (:mod:`detbench.core.imageprints`): an image replaced at the
    same path gets its own cache entry."""
    prints = iter(imageprints.fingerprints([f.image for items in seq_frames.values() for f in items]))
    return sha256_json({seq: [next(prints) for _ in items] for seq, items in seq_frames.items()})


def _info(info, key):
    return info[key] if isinstance(info, dict) else getattr(info, key)


def ensure_detections_for(checkpoint: Path, load: Callable, data_dir: str | Path, split: str = "val",
                          detector: str | None = None, conf: float = 0.01, nms: float = 0.65,
                          device: str = "cpu", batch_size: int = 8, frames: str = "keyframes",
                          cameras: list[str] | None = None, max_det: int = 300, run: str | None = None,
                          progress: DetectProgress | None = None, compile: bool = False,
                          keyed: DetectionKey | None = None) -> DetectResult:
    """The cache for ``checkpoint`` (loaded with ``load(path, device) -> (model, info)``);
    ``compile``: run the network through ``torch.compile`` (the same detections, not in the key).
    ``progress(done, total, sequence, images_per_s)``: called as images are detected (not on a
    cache hit); ``images_per_s`` is None before the first batch. ``keyed``: the key of exactly
    these arguments when the caller has computed it (:class:`detbench.detect.resolved.ResolvedDetector`)."""
    checkpoint, data_dir = Path(checkpoint), Path(data_dir)
    keyed = keyed or DetectionKey(*_key(checkpoint, data_dir, split, conf, nms, device, frames, cameras, max_det))
    key, options, seq_frames, ckpt_sha, data_sha = (keyed.key, keyed.options, keyed.seq_frames,
                                                    keyed.checkpoint_sha256, keyed.data_sha256)
    art = cache.artifact(paths.detections_root() / key, list(seq_frames))
    cache_dir = art.path
    # one computation per key: a second `detect` of the same key waits here, then finds the cache
    with art.lock(paths.runs_root() / ".locks", on_wait=_say_waiting):
        problems = art.problems() if cache_dir.exists() else []
        if cache_dir.exists() and not problems:
            CACHE_STATS["hit"] += 1
            return DetectResult(cache_dir, True)
        CACHE_STATS["corrupt" if problems else "miss"] += 1

        model, info, input_size = load_checked(load, checkpoint, device)
        t0 = time.perf_counter()
        blobs, recs, n_images = _run(model, input_size, seq_frames, conf, nms, device, batch_size, max_det,
                                     progress, compile)
        seconds = time.perf_counter() - t0
        write_entry(cache_dir, key, options, checkpoint, ckpt_sha, data_dir, data_sha, detector, run,
                    _safe(info, "epoch"), input_size, batch_size, device, blobs, recs, seconds,
                    threads=thread_policy.decide().count)
        return DetectResult(cache_dir, False, n_images, seconds, problems)


def load_checked(load: Callable, checkpoint: Path, device: str):
    """``load(checkpoint, device)`` -> (model, info, input size (h, w)); InputError unless the model
    has detbench's classes."""
    model, info = load(checkpoint, device)
    if int(_info(info, "num_classes")) != NUM_CLASSES:
        raise InputError(f"{checkpoint}: model has {_info(info, 'num_classes')} classes, detbench needs "
                         f"{NUM_CLASSES} ({', '.join(CLASSES)})")
    return model, info, tuple(int(v) for v in _info(info, "input_size"))


def write_entry(cache_dir: Path, key: str, options: dict, checkpoint: Path, ckpt_sha: str, data_dir: Path,
                data_sha: str, detector: str | None, run: str | None, epoch, input_size, batch_size: int,
                device: str, blobs: dict, recs: dict, seconds: float, threads: int | list | None = None) -> None:
    """Write a detection cache entry (meta.json and the sequence files, atomically); ``threads``:
    the torch thread count that computed it (a list: shards that ran different counts)."""
    n_images = sum(r["num_frames"] for r in recs.values())
    meta = make_meta("detect", options=dict(options, input_size=list(input_size), batch_size=batch_size,
                                            device=str(device)),
                     inputs={"checkpoint": str(checkpoint), "checkpoint_sha256": ckpt_sha,
                             "data_dir": str(data_dir), "data_meta_sha256": data_sha},
                     key=key, detector=detector or checkpoint.stem, run=run, split=options["split"],
                     class_names=list(CLASSES), epoch=epoch, sequences=recs,
                     num_images=n_images, seconds=round(seconds, 3),
                     images_per_s=round(n_images / seconds, 2) if seconds > 0 else None,
                     **({"threads": threads} if threads is not None else {}))
    cache.write_cache(cache_dir, meta, blobs)


def _say_waiting(lock_path: Path) -> None:
    import sys

    print(f"waiting for another detect of the same checkpoint, data and options ({lock_path})",
          file=sys.stderr, flush=True)


def _safe(info, key):
    try:
        return _info(info, key)
    except (KeyError, AttributeError):
        return None


def _run(model, input_size, seq_frames, conf, nms, device, batch_size, max_det, progress, compile=False):
    # one loader over the whole split (workers never drain at a sequence boundary), cut per sequence
    order = [(seq, f) for seq, items in seq_frames.items() for f in items]
    per_frame = detect_frames(model, input_size, order, conf, nms, device, batch_size, max_det, progress, compile)
    return pack_sequences(seq_frames, per_frame)


def detect_frames(model, input_size, order, conf, nms, device, batch_size, max_det, progress=None,
                  compile=False) -> list:
    """Detections (N, 6) of each frame of ``order`` ([(sequence, FrameImage)]), batched in order,
    on :func:`detbench.threads.decide`'s torch thread count."""
    from detbench.detect.infer import Detector, iter_batches

    chosen = thread_policy.decide()  # fixed for the run: YOLOX's outputs follow the count in their last bits
    det = Detector(model, input_size, device=device, conf=conf, nms=nms, max_det=max_det, compile=compile)
    total = len(order)
    per_frame = []
    if progress:
        progress(0, total, "", None)
    t0 = time.perf_counter()
    with thread_policy.using(chosen):
        for batch, ratios, shapes in iter_batches([f.image for _, f in order], input_size, batch_size,
                                                  pin_memory=det.cuda):
            per_frame.extend(det.finish(batch, ratios, shapes))
            done = len(per_frame)
            if progress:
                progress(done, total, order[done - 1][0], done / max(time.perf_counter() - t0, 1e-9))
    return per_frame


def pack_sequences(seq_frames, per_frame) -> tuple[dict, dict, int]:
    """Every frame's detections (in ``seq_frames`` order) -> ({seq: npz bytes}, {seq: record}, frames)."""
    blobs, recs, start = {}, {}, 0
    for seq, items in seq_frames.items():
        dets, start = per_frame[start:start + len(items)], start + len(items)
        blobs[seq] = cache.pack_sequence(dets, [f.keyframe for f in items], [f.timestamp for f in items])
        recs[seq] = {"num_frames": len(items), "num_keyframes": sum(f.keyframe > 0 for f in items),
                     "num_dets": int(sum(len(d) for d in dets))}
    return blobs, recs, len(per_frame)


def load_detector(path: Path, device: str):
    """:func:`detbench.train.checkpoint.load_detector`, imported only when a checkpoint is loaded:
    serving a cached entry never imports torch (seconds, and ~600 MiB resident in the driver)."""
    from detbench.train.checkpoint import load_detector as load

    return load(path, device)


def resolve_checkpoint(detector: str, run: str | None = None) -> Path:
    """A detector name (``epoch<N>``, ``last``) or a ``.pth`` path -> checkpoint file."""

    return Path(resolve_detector(detector, run=run))


def detect(detector: str, data_dir: str | Path, split: str = "val", run: str | None = None, conf: float = 0.01,
           nms: float = 0.65, device: str = "cpu", batch_size: int = 8, frames: str = "keyframes",
           cameras: list[str] | None = None, progress: DetectProgress | None = None,
           compile: bool = False) -> DetectResult:
    """Resolve ``detector`` with the training stage's names and return its cache (see module doc);
    ``progress``: as for :func:`ensure_detections_for`."""
    ref = detector_ref(detector, run)  # no torch yet: a wrong name fails fast
    res = ensure_detections_for(ref.checkpoint, load_detector, data_dir, split, detector=detector, conf=conf,
                                nms=nms, device=device, batch_size=batch_size, frames=frames, cameras=cameras,
                                run=ref.run or run, progress=progress, compile=compile)
    res.ref = ref
    return res


def ensure_detections(detector: str, data_dir: str | Path, split: str = "val", run: str | None = None,
                      conf: float = 0.01, nms: float = 0.65, device: str = "cpu", batch_size: int = 8,
                      frames: str = "keyframes", cameras: list[str] | None = None) -> Path:
    """The cache directory of ``detector`` on ``split``: computed when missing, reused when present."""
    return detect(detector, data_dir, split, run, conf, nms, device, batch_size, frames, cameras).cache_dir
