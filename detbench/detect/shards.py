"""Detection as executor tasks: checkpoints, and shards of a checkpoint's frames, over GPUs or CPUs.

:func:`ensure_many` (detector names) and :func:`ensure_keyed` (detectors already resolved and
keyed: :func:`detbench.detect.resolved.ensure_all`) give the detection cache of each detector on
a split, like :func:`detbench.detect.api.detect` one after the other, with the missing entries computed by an
executor's tasks (:mod:`detbench.executors`): each task loads one checkpoint on its own device
(``num_gpus=1`` on CUDA: Ray gives it one GPU; none on the CPU) and detects one shard of its
frames. With several checkpoints to compute, the GPUs (or, on the CPU, the workers) are shared
among them; one checkpoint gets them all.

A shard is a run of whole batches of the split's frames in the order one process detects them
(sequences sorted, frames in time order, ``batch_size`` frames a batch), so every frame is
detected in the same batch as in one process, and the entry the driver writes from the gathered
shards holds the same bytes (meta.json's time, date and speed aside). The driver holds each
entry's lock while its shards run, then writes it atomically, as ``detect`` does.
"""
from __future__ import annotations

import time
from contextlib import ExitStack
from dataclasses import dataclass, replace
from pathlib import Path

from detbench import threads as thread_policy
from detbench.core import paths
from detbench.core.devices import check_device
from detbench.core.errors import InputError
from detbench.detect import api, cache
from detbench.runs import DetectorRef, detector_ref


@dataclass
class _Plan:
    detector: str
    ref: DetectorRef
    keyed: api.DetectionKey
    art: object

    @property
    def key(self) -> str:
        return self.keyed.key


def ensure_many(detectors: list[str], data_dir: str | Path, split: str = "val", run: str | None = None,
                conf: float = 0.01, nms: float = 0.65, device: str = "cpu", batch_size: int = 8,
                frames: str = "keyframes", cameras: list[str] | None = None, max_det: int = 300,
                executor=None, progress=None, compile: bool = False) -> list[api.DetectResult]:
    """The cache of every detector name on ``split`` (:class:`detbench.detect.api.DetectResult`
    each, in order). Without ``executor``, or with a local one, each is
    :func:`detbench.detect.api.detect` in this process (``progress`` as there, per detector:
    ``progress(detector, done, total, seq, rate)``); otherwise the missing ones are computed by
    ``executor``'s tasks (:func:`ensure_keyed`)."""
    if executor is None or executor.name == "local":
        return [api.detect(d, data_dir, split, run, conf, nms, device, batch_size, frames, cameras,
                           progress=(lambda *a, d=d: progress(d, *a)) if progress else None, compile=compile)
                for d in detectors]
    data_dir, device = Path(data_dir), cluster_device(device, executor)
    keyed = []
    for det in detectors:
        ref = detector_ref(det, run)
        keyed.append((det, ref, api.DetectionKey(*api._key(ref.checkpoint, data_dir, split, conf, nms, device,
                                                             frames, cameras, max_det))))
    return ensure_keyed(keyed, executor, data_dir, device, run, batch_size, compile)


def ensure_keyed(keyed: list[tuple[str, DetectorRef, api.DetectionKey]], executor, data_dir: Path, device: str,
                 run: str | None = None, batch_size: int = 8, compile: bool = False) -> list[api.DetectResult]:
    """The cache of each already resolved and keyed ``(name, ref, key)`` (one dataset, split and
    options; ``device``: that of ``executor``'s machines, :func:`cluster_device`), in order: the
    missing ones computed by ``executor``'s tasks. :func:`detbench.detect.resolved.ensure_all`
    passes its values' keys."""
    plans = [_Plan(name, ref, key, cache.artifact(paths.detections_root() / key.key, list(key.seq_frames)))
             for name, ref, key in keyed]
    results: dict[str, api.DetectResult] = {}
    with ExitStack() as locks:
        todo = []
        for plan in sorted({p.key: p for p in plans}.values(), key=lambda p: p.key):  # one lock order: no deadlock
            locks.enter_context(plan.art.lock(paths.runs_root() / ".locks", on_wait=api._say_waiting))
            problems = plan.art.problems() if plan.art.path.exists() else []
            if plan.art.path.exists() and not problems:
                api.CACHE_STATS["hit"] += 1
                results[plan.key] = api.DetectResult(plan.art.path, True)
            else:
                api.CACHE_STATS["corrupt" if problems else "miss"] += 1
                todo.append((plan, problems))
        if todo:
            results.update(_compute(todo, executor, device, batch_size, compile, data_dir, run))
    return [replace(results[p.key], ref=p.ref) for p in plans]


def cluster_device(device: str, executor) -> str:
    """``--device`` for tasks of a Ray ``executor``: ``auto`` -> cuda when the cluster has a GPU,
    else cpu; ``cuda``/``cuda:N`` -> cuda (each task is given one GPU of its machine), an
    InputError when the cluster has none; ``cpu`` as it is."""

    if device == "auto":
        return "cuda" if executor.gpus_available() else "cpu"
    if str(device).startswith("cuda"):
        if not executor.gpus_available():
            raise InputError(f"--device {device}: the Ray cluster has no GPU (use cpu)")
        return "cuda"
    return check_device(device)


def shard_ranges(n_frames: int, batch_size: int, n_shards: int) -> list[tuple[int, int]]:
    """``[start, end)`` frame ranges of at most ``n_shards`` shards, each a run of whole batches."""
    n_batches = -(-n_frames // batch_size)
    if n_batches == 0:
        return []
    per = -(-n_batches // max(1, min(n_shards, n_batches)))
    return [(b * batch_size, min((b + per) * batch_size, n_frames)) for b in range(0, n_batches, per)]


def _compute(todo, executor, device, batch_size, compile, data_dir, run) -> dict:
    options = todo[0][0].keyed.options  # one dataset, split and options for all, as the key records them
    conf, nms, max_det = options["conf"], options["nms"], options["max_det"]
    cuda = str(device).startswith("cuda")
    slots = executor.gpus_available() if cuda else executor.workers
    per_checkpoint = max(1, slots // len(todo))
    tasks, orders = [], {}
    for plan, _ in todo:
        order = [(seq, f) for seq, items in plan.keyed.seq_frames.items() for f in items]
        orders[plan.key] = order
        for i, (a, b) in enumerate(shard_ranges(len(order), batch_size, per_checkpoint)):
            tasks.append((plan.key, i, str(plan.ref.checkpoint), order[a:b], "cuda" if cuda else device, conf, nms,
                          batch_size, max_det, compile))
    t0 = time.perf_counter()
    shards: dict[str, dict] = {p.key: {} for p, _ in todo}
    epochs, sizes, counts = {}, {}, {}
    for key, i, per_frame, epoch, input_size, threads in executor.map(detect_shard, tasks, gpus=1 if cuda else 0):
        shards[key][i], epochs[key], sizes[key] = per_frame, epoch, input_size
        counts.setdefault(key, set()).add(threads)
    seconds = time.perf_counter() - t0
    out = {}
    for plan, problems in todo:
        per_frame = [d for i in sorted(shards[plan.key]) for d in shards[plan.key][i]]
        blobs, recs, n_images = api.pack_sequences(plan.keyed.seq_frames, per_frame)
        api.write_entry(plan.art.path, plan.key, plan.keyed.options, plan.ref.checkpoint,
                        plan.keyed.checkpoint_sha256, data_dir, plan.keyed.data_sha256, plan.detector, plan.ref.run or run, epochs[plan.key], sizes[plan.key],
                        batch_size, device, blobs, recs, seconds,
                        threads=min(counts[plan.key]) if len(counts[plan.key]) == 1 else sorted(counts[plan.key]))
        out[plan.key] = api.DetectResult(plan.art.path, False, n_images, seconds, problems)
    return out


def detect_shard(args):
    """One task: load the checkpoint on this worker's device, detect the shard's frames ->
    (key, shard index, per-frame detections, the checkpoint's epoch, its input size, its torch
    thread count)."""
    key, index, checkpoint, order, device, conf, nms, batch_size, max_det, compile = args
    model, info, input_size = api.load_checked(api.load_detector, Path(checkpoint), device)
    per_frame = api.detect_frames(model, input_size, order, conf, nms, device, batch_size, max_det, compile=compile)
    return key, index, per_frame, api._safe(info, "epoch"), input_size, thread_policy.decide().count
