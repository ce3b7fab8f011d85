"""A detector resolved once, at the command boundary, and passed down as one value.

A command turns ``--detector(s)``, ``--run``, ``--data``, ``--split``, the score threshold and
``--device`` into :class:`ResolvedDetector` values (:func:`resolve_detectors`): the name's
checkpoint, run and epoch (:func:`detbench.runs.detector_ref`) and the checkpoint's sha256 are
found there, once; the detection cache key (:func:`detbench.detect.api._key`) is computed the
first time a stage asks for it and kept on the value. Compare, tune, eval-det, track and
sensitivity build them at the command and pass them down instead of re-resolving the strings at
every floor; :func:`detect` and :func:`ensure_all` give their caches.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path

from detbench.core.devices import check_device
from detbench.core.errors import InputError
from detbench.core.fileio import sha256_file
from detbench.detect import api
from detbench.detect.shards import cluster_device, ensure_keyed
from detbench.runs import DetectorRef, detector_ref, run_detectors


@dataclass(frozen=True)
class ResolvedDetector:
    """One detector on one split of a prepared dataset, with the options its detections are made with."""

    ref: DetectorRef              # the name as given, its checkpoint, run and epoch
    run: str | None               # the --run the name was resolved in (None: the latest)
    checkpoint_sha256: str
    data_dir: Path
    split: str
    conf: float = 0.01            # the cache's score threshold
    nms: float = 0.65
    device: str = "cpu"
    frames: str = "keyframes"
    cameras: tuple[str, ...] | None = None
    max_det: int = 300

    @property
    def name(self) -> str:
        return self.ref.name

    @property
    def checkpoint(self) -> Path:
        return self.ref.checkpoint

    def on(self, split: str) -> ResolvedDetector:
        """The same detector and options on another split of the dataset (its own key)."""
        return replace(self, split=split)

    @cached_property
    def detections(self) -> api.DetectionKey:
        """The key of this detector's cache on its split (computed on first use, then kept)."""
        return api.DetectionKey(*api._key(self.checkpoint, self.data_dir, self.split, self.conf, self.nms,
                                          self.device, self.frames, list(self.cameras) if self.cameras else None,
                                          self.max_det, ckpt_sha=self.checkpoint_sha256))

    def detection_key(self) -> dict:
        """``{"key", "checkpoint", "checkpoint_sha256"}``, as :func:`detbench.detect.api.detection_key`."""
        return {"key": self.detections.key, "checkpoint": str(self.checkpoint),
                "checkpoint_sha256": self.checkpoint_sha256}


@dataclass(frozen=True)
class ExternalDetections:
    """Detections made elsewhere: a folder of MOT files ``<seq>.txt`` for a split of a prepared dataset."""

    dets_dir: Path
    data_dir: Path
    split: str


def resolve(name: str, data_dir: str | Path, split: str = "val", run: str | None = None, conf: float = 0.01,
            nms: float = 0.65, device: str = "cpu", cameras: list[str] | None = None) -> ResolvedDetector:
    """``name`` (``epoch<N>``, ``last`` or a ``.pth``) of ``run`` -> its :class:`ResolvedDetector`
    (InputError naming the checkpoints when there is no such one)."""
    ref = detector_ref(name, run)
    return ResolvedDetector(ref, run, sha256_file(ref.checkpoint), Path(data_dir), split, conf, nms, device,
                            cameras=tuple(cameras) if cameras else None)


def resolve_detectors(names: list[str], data_dir: str | Path, split: str = "val", run: str | None = None,
                      conf: float = 0.01, device: str = "cpu", executor=None) -> tuple[ResolvedDetector, ...]:
    """Every name of ``names`` resolved (``["all"]``: every checkpoint of ``run``, the latest run
    by default), each checked before any is used. ``device`` is checked here; with a Ray
    ``executor`` it is the device of the cluster's machines
    (:func:`detbench.detect.shards.cluster_device`), which detect there."""
    if not names:
        raise InputError("--detectors: no detector named")
    if executor is not None and executor.name == "ray":
        device = cluster_device(device, executor)
    else:
        check_device(device)
    if list(names) == ["all"]:
        names = run_detectors(run)
    return tuple(resolve(name, data_dir, split, run, conf=conf, device=device) for name in names)


def detect(detector: ResolvedDetector, batch_size: int = 8, progress: api.DetectProgress | None = None,
           compile: bool = False) -> api.DetectResult:
    """``detector``'s cache on its split, computed in this process when missing
    (:func:`detbench.detect.api.ensure_detections_for`, with the key the value holds)."""
    res = api.ensure_detections_for(detector.checkpoint, api.load_detector, detector.data_dir, detector.split,
                                    detector=detector.name, conf=detector.conf, nms=detector.nms,
                                    device=detector.device, batch_size=batch_size, frames=detector.frames,
                                    cameras=list(detector.cameras) if detector.cameras else None,
                                    max_det=detector.max_det, run=detector.ref.run or detector.run,
                                    progress=progress, compile=compile, keyed=detector.detections)
    res.ref = detector.ref
    return res


def ensure_all(detectors: list[ResolvedDetector], executor=None) -> list[api.DetectResult]:
    """The cache of every detector (all of one dataset, split and options), in order: each in this
    process (no ``executor``, or a local one), else the missing ones computed by ``executor``'s
    tasks (:func:`detbench.detect.shards.ensure_keyed`, given each value's name, reference and
    key: nothing is resolved or keyed again; the device is the cluster's, as
    :func:`resolve_detectors` made it)."""
    if executor is None or executor.name == "local":
        return [detect(d) for d in detectors]
    first = detectors[0]
    return ensure_keyed([(d.name, d.ref, d.detections) for d in detectors], executor, first.data_dir,
                        first.device, run=first.run)
