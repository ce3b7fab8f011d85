"""Run a tracker over a split: one worker process per sequence batch, MOT results + meta.json.

Output directory (``runs/tracks/<detector>/<tracker>/`` by default)::

    <seq>.txt    MOT rows frame,id,x,y,w,h,score,class,1 (1-based frames, class ids 1..7; -1 for
                 the tracks of class-less detections, tracked as one class)
    meta.json    make_meta("track", ...) + inputs_hash, tracker, params (resolved, clean-up
                 options included), cleanup (the clean-up options alone, trackers.cleanup),
                 class_agnostic (the sequences whose detections had no class), and
                 sequences: {seq: {"status": "ok" | "failed", "rows": n, "error": "..."}}

Every external detection file is read and checked before any tracking (a bad row: one
InputError naming file and line, nothing written). The directory is written atomically (all or
nothing). A tracker failing on one sequence does not stop the others: the failure is recorded
in meta.json and :class:`TrackingFailed` is raised after
the directory is written. The tracker name is resolved once into a :class:`trackers.TrackerSpec`
(class, parameters, clean-up), which the cache key and every worker use. ``inputs_hash`` covers
the tracker (name, resolved parameters), the code that tracks with it and its libraries' versions
(:func:`tracking_code`: the closure of this module's tracking and the tracker's class, not the
other trackers), the bytes of every file the tracker reads (:func:`trackers.base.input_files`:
TrackSSM's motion model, ReID weights; never their paths), each sequence's detections (hash),
seqinfo, timestamps and images (their bytes, :mod:`detbench.core.imageprints`: BoT-SORT's camera-motion
compensation reads them): a run whose ``meta.json`` has the same hash and no failures is reused
instead of recomputed (``force=True`` recomputes).
Results do not depend on the number of worker processes.
"""
from __future__ import annotations

import json
import sys
import time
from contextlib import nullcontext
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Callable

import numpy as np

from detbench import codekeys, threads
from detbench.artifacts import KeyedArtifact
from detbench.core import paths
from detbench.core.errors import DetbenchError, InputError
from detbench.core.fileio import atomic_write_json, sha256_files, sha256_json
from detbench.core.imageprints import fingerprints
from detbench.core.provenance import make_meta
from detbench.data.mot import CLASS, MOT_COLS, NO_CLASS, MotDetections, tracks_to_mot, write_mot
from detbench.executors import LocalExecutor
from detbench.tracking.sources import SequenceJob, check_detections, frame_of, from_cache
from trackers import TrackerSpec, tracker_spec

if TYPE_CHECKING:
    from detbench.executors import Executor
    from trackers import TrackerSpec


class TrackingFailed(DetbenchError):
    """The tracker failed on some sequences (the others were written; see meta.json)."""

    exit_code = 1


def as_spec(tracker: str | TrackerSpec, options: dict | None = None) -> TrackerSpec:
    """``tracker`` resolved into a :class:`trackers.TrackerSpec` (a spec is returned as it is)."""

    return tracker if isinstance(tracker, TrackerSpec) else tracker_spec(tracker, options)


def resolve_params(tracker: str | TrackerSpec, options: dict | None = None) -> dict:
    """The tracker's full parameter set (defaults + ``options``) as a JSON-able dict: its own
    parameters and the detection clean-up's (:mod:`trackers.cleanup`), one flat dict."""
    return as_spec(tracker, options).resolved


def check_tracker(tracker: str | TrackerSpec, options: dict | None = None, frame_rate: float = 2.0) -> None:
    """Build the tracker once, before any work, so a bad option value (``cmc=xyz``, weights that
    are not a model) is one InputError naming the option, not a failed sequence in meta.json."""

    name, options = (tracker, options) if isinstance(tracker, str) else (tracker.name, tracker.options)
    try:
        as_spec(tracker, options).build(frame_rate)
    except InputError as e:
        if str(e).startswith("tracker "):
            raise
        given = ", ".join(f"{k}={v}" for k, v in (options or {}).items())
        raise InputError(f"tracker {name!r}" + (f" with {given}" if given else "") + f": {e}") from None


def track_sequence(job: SequenceJob, tracker: str | TrackerSpec, options: dict | None = None) -> np.ndarray:
    """Track one sequence from a fresh tracker -> (K, 9) MOT rows (class -1 when its detections
    have none: :meth:`SequenceJob.read_detections`)."""

    # a job that only loads detections (the sensitivity study's, in memory) has classes
    det = job.read_detections() if hasattr(job, "read_detections") else MotDetections(job.load_detections(), True)
    dets = det.frames
    trk = as_spec(tracker, options).build(job.info.frame_rate)
    # small ops per frame: 1 torch thread unless the user says otherwise (the tracks are the same
    # on any count); a tracker without torch never loads it
    with threads.using(threads.decide(small_ops=True)) if "torch" in sys.modules else nullcontext():
        trk.begin_sequence(dets)  # the clean-up's per-sequence score recalibration (trackers.cleanup)
        rows = [np.zeros((0, MOT_COLS))]
        for i, d in enumerate(dets):
            rows.append(tracks_to_mot(i + 1, trk.update(d, frame_of(job, i))))
    rows = np.concatenate(rows)
    if not det.has_class:  # tracked as one class; written class-less, so eval never scores them as cars
        rows[:, CLASS] = NO_CLASS
    return rows


def _worker(args):
    job, spec = args
    t0 = time.perf_counter()
    try:
        return job.name, track_sequence(job, spec), None, time.perf_counter() - t0
    except Exception as e:  # recorded per sequence; the run goes on
        return job.name, None, f"{type(e).__name__}: {e}".splitlines()[0], time.perf_counter() - t0


def _own_executor(executor: Executor | None, n_jobs: int, n_tasks: int):
    """``executor`` as it is (its owner closes it), else a pool of ``n_jobs`` workers for this call."""

    return nullcontext(executor) if executor is not None else LocalExecutor(min(n_jobs, max(1, n_tasks)))


def tracker_files(tracker: str | TrackerSpec, options: dict | None = None) -> dict[str, str]:
    """``{label: sha256}`` of every file ``tracker`` with ``options`` reads (see
    :func:`trackers.base.input_files`); InputError when one is missing."""
    return sha256_files(as_spec(tracker, options).input_files())


def tracking_code(spec: TrackerSpec) -> dict:
    """The tracking code of ``spec``'s tracker and its libraries' versions (:mod:`detbench.codekeys`)."""

    return codekeys.code_key(*codekeys.TRACK, codekeys.tracker_entry(spec.cls))


def inputs_hash(jobs: list[SequenceJob], spec: TrackerSpec, files: dict[str, str] | None = None) -> str:
    """The key of a tracking run; ``files``: :func:`tracker_files` (content hashes, not paths)."""

    calibrated = spec.needs_calibration  # only such trackers read it: others keep their keys
    prints = iter(fingerprints([p for j in jobs for p in j.images]))
    images = {j.name: [next(prints) for _ in j.images] for j in jobs}
    return sha256_json({
        "tracker": spec.name, "params": spec.resolved, "files": files or {}, "code": tracking_code(spec),
        "sequences": {j.name: {"dets": j.input_hash(), "info": asdict(j.info), "timestamps": j.timestamps,
                               "images": images[j.name],
                               **({"calibration": [j.intrinsics, j.cam2global]} if calibrated else {})}
                      for j in jobs},
    })


def _artifact(out_dir: Path, digest: str) -> KeyedArtifact:
    """``out_dir`` as a keyed artifact: served when meta.json's ``inputs_hash`` is ``digest`` and
    every sequence is ok with its results file present."""
    return KeyedArtifact(out_dir, digest, key_field="inputs_hash", check=_all_sequences_ok)


def _all_sequences_ok(art: KeyedArtifact) -> list[str]:
    seqs = art.meta().get("sequences", {}).items()
    return ([f"{art.meta_path}: sequence {n} {s.get('status')}" for n, s in seqs if s.get("status") != "ok"]
            + [f"{art.path / n}.txt: missing" for n, s in seqs
               if s.get("status") == "ok" and not (art.path / f"{n}.txt").is_file()])


def _reusable(out_dir: Path, digest: str) -> bool:
    return _artifact(out_dir, digest).is_complete()


def track_split(jobs: list[SequenceJob], tracker: str | TrackerSpec, out_dir: str | Path, options: dict | None = None,
                n_jobs: int = 1, extra_meta: dict | None = None, force: bool = False,
                progress: Callable[[str], None] | None = None, executor: Executor | None = None) -> dict:
    """Track every job's sequence, write ``out_dir`` atomically, return its meta.json dict.

    The sequences are tracked by ``executor`` (:mod:`detbench.executors`: a task per sequence;
    the results are written here), or by a pool of ``n_jobs`` processes made for this call.

    Returns the existing meta (with ``"reused": True``) when ``out_dir`` already holds a complete
    run with the same inputs hash. Raises :class:`TrackingFailed` (after writing) if any
    sequence failed.
    """

    out_dir = Path(out_dir)
    spec = as_spec(tracker, options)  # resolved once; unknown tracker / option: InputError before any work
    tracker, options, params = spec.name, spec.options, spec.resolved
    check_tracker(spec, frame_rate=jobs[0].info.frame_rate if jobs else 2.0)
    class_less = check_detections(jobs)  # every input file read once: a bad row stops here, nothing written
    if spec.needs_calibration:
        from detbench.tracking.sources import check_calibration

        check_calibration(jobs, tracker)
    files = tracker_files(spec)
    digest = inputs_hash(jobs, spec, files)
    if not force and _reusable(out_dir, digest):
        meta = json.loads((out_dir / "meta.json").read_text(encoding="utf-8"))
        return {**meta, "reused": True}
    tasks = [(j, spec) for j in jobs]
    results: dict[str, tuple] = {}
    t0 = time.perf_counter()
    with _own_executor(executor, n_jobs, len(tasks)) as ex:
        for name, rows, error, secs in ex.map(_worker, tasks):
            results[name] = (rows, error, secs)
            if progress:
                progress(name)
    seqs = {}
    with _artifact(out_dir, digest).build() as tmp:
        for name in sorted(results):
            rows, error, secs = results[name]
            if error is None:
                write_mot(tmp / f"{name}.txt", rows)
                seqs[name] = {"status": "ok", "rows": int(len(rows)), "seconds": round(secs, 3)}
            else:
                seqs[name] = {"status": "failed", "error": error}
        meta = make_meta("track", {"tracker": tracker, "tracker_options": dict(options or {}), "jobs": n_jobs},
                         {j.name: j.input_hash() for j in jobs}, tracker=tracker, params=params,
                         cleanup=asdict(spec.cleanup), input_files=files, inputs_hash=digest, sequences=seqs,
                         class_agnostic=class_less,
                         seconds=round(time.perf_counter() - t0, 3), **(extra_meta or {}))
        atomic_write_json(tmp / "meta.json", meta)
    failed = [n for n, s in seqs.items() if s["status"] == "failed"]
    if failed:
        raise TrackingFailed(f"{out_dir / 'meta.json'}: tracker {tracker!r} failed on {len(failed)} of "
                             f"{len(seqs)} sequence(s): {failed[0]}: {seqs[failed[0]]['error']}")
    return meta


def track_cache(cache_dir: str | Path, data_dir: str | Path, split: str, tracker: str,
                options: dict | None = None, out_dir: str | Path | None = None, detector: str | None = None,
                n_jobs: int = 1, force: bool = False, executor: Executor | None = None) -> Path:
    """Track ``split`` of a prepared dataset from a detection cache; return the output directory.

    ``out_dir`` defaults to ``runs/tracks/<detector or cache dir name>/<tracker>/``. Skips the
    work when that directory holds a complete run with the same inputs hash.
    """

    out = Path(out_dir) if out_dir else paths.tracks_dir(detector or Path(cache_dir).name, tracker)
    jobs = from_cache(cache_dir, data_dir, split)
    track_split(jobs, tracker, out, options, n_jobs=n_jobs, force=force, executor=executor,
                extra_meta={"detector": detector, "cache_dir": str(cache_dir), "data_dir": str(data_dir),
                            "split": split})
    return out
