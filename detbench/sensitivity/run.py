"""Run a sensitivity study: every (point, seed, tracker) unit tracked, scored and cached.

A unit generates the point's detections for every sequence of the split (seeded per sequence,
:func:`detbench.sensitivity.degrade.sequence_seed`), tracks them with a fresh tracker per
sequence (:func:`detbench.tracking.run.track_sequence`), and scores the results with
:func:`detbench.evaluate.api.evaluate_folders` (per class, IoU 0.5, motmetrics cross-check).
Its summary is cached under ``runs/sensitivity/cache/<key>.json``; the key hashes the content
of every input (GT files, seqinfo, timestamps, image bytes, the degradation, the seed, the
tracker's name, resolved parameters and, for TrackSSM, the motion model's bytes) and the code
that generates, tracks with that tracker and scores, with its libraries' versions
(:func:`unit_code`), so a changed input is never served a stale result and a rerun with the
same inputs recomputes nothing. Units run in ``jobs`` worker processes; results do not depend on
``jobs``.

A series is a registered tracker or, with ``--cleanup``, ``<tracker>+cleanup``: the same tracker
with the detection clean-up options added (:mod:`trackers.cleanup`); :func:`base_tracker` maps a
series back to its tracker.
"""
from __future__ import annotations

import json
import shutil
import tempfile
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from detbench import codekeys
from detbench.compare.pipeline import per_sequence_counts
from detbench.core.errors import InputError
from detbench.core.fileio import atomic_write_json, sha256_file, sha256_json
from detbench.core.imageprints import fingerprints
from detbench.data.layout import gt_file, seqinfo_file
from detbench.data.mot import SeqInfo, list_sequences, read_mot, read_seqinfo, write_mot
from detbench.evaluate.api import evaluate_folders
from detbench.executors import LocalExecutor
from detbench.motion.weights import resolve_weights, weights_unset
from detbench.sensitivity.axes import Degradation
from detbench.threads import current
from detbench.tracking.run import track_sequence
from detbench.tracking.sources import read_frame_records
from detbench.warmup import warm_trackers
from trackers import tracker_spec

CLEANUP_SUFFIX = "+cleanup"


def base_tracker(series: str) -> str:
    """``"botsort+cleanup"`` -> ``"botsort"``; a plain tracker name is its own series."""
    return series[: -len(CLEANUP_SUFFIX)] if series.endswith(CLEANUP_SUFFIX) else series


def series_names(trackers: list[str], cleanup: dict | None) -> list[str]:
    """Each tracker, followed by its ``+cleanup`` series when clean-up options are given."""
    return [s for t in trackers for s in ([t, t + CLEANUP_SUFFIX] if cleanup else [t])]


@dataclass(frozen=True)
class Sequence:
    name: str
    gt_path: str
    length: int
    width: int
    height: int
    frame_rate: float
    timestamps: tuple[float, ...]
    images: tuple[str | None, ...]
    intrinsics: tuple = ()      # per frame, from frames.json (see tracking.sources.FrameRecords)
    cam2global: tuple = ()
    frames_path: str | None = None


@dataclass(frozen=True)
class Split:
    gt_dir: str
    sequences: tuple[Sequence, ...]

    def content(self) -> dict:
        # images by their bytes: BoT-SORT's camera-motion compensation reads them where they exist
        prints = iter(fingerprints([i for s in self.sequences for i in s.images]))
        return {s.name: {"gt": sha256_file(s.gt_path), "length": s.length, "size": [s.width, s.height],
                         "frame_rate": s.frame_rate, "timestamps": s.timestamps,
                         "images": [next(prints) for _ in s.images],
                         "calibration": sha256_json([s.intrinsics, s.cam2global])} for s in self.sequences}


def load_split(gt_dir: str | Path, image_roots: tuple = ()) -> Split:
    """Every ``<seq>/gt/gt.txt`` (+ seqinfo.ini, frames.json) under ``gt_dir``; frames.json image
    paths are looked up under the sequence folder, ``gt_dir``, its parent and ``image_roots``
    (a prepared dataset's dataroot), as ``detbench track`` does."""

    root = Path(gt_dir)
    if not root.is_dir():
        raise InputError(f"{root}: ground-truth folder not found (expected <seq>/gt/gt.txt + seqinfo.ini)")
    names = list_sequences(root)
    if not names:
        raise InputError(f"{root}: no sequences (<seq>/seqinfo.ini with <seq>/gt/gt.txt) found")
    seqs = []
    for n in names:
        gt, ini = gt_file(root / n), seqinfo_file(root / n)
        if not gt.is_file():
            raise InputError(f"{gt}: file not found (every sequence needs its ground truth)")
        if not ini.is_file():
            raise InputError(f"{ini}: file not found (the sequence length and frame rate come from it)")
        info = read_seqinfo(ini)
        rec = read_frame_records(root / n, info, [root / n, root, root.parent, *map(Path, image_roots)])
        seqs.append(Sequence(n, str(gt), info.length, info.width, info.height, info.frame_rate, rec.timestamps,
                             rec.images, rec.intrinsics, rec.cam2global, rec.path))
    return Split(str(root), tuple(seqs))


class GeneratedJob:
    """What :func:`detbench.tracking.run.track_sequence` needs, with detections in memory."""

    def __init__(self, seq: Sequence, dets: list[np.ndarray]):
        self.name = seq.name
        self.info = SeqInfo(seq.name, seq.frame_rate, seq.width, seq.height, seq.length)
        self.timestamps, self.images, self._dets = seq.timestamps, seq.images, dets
        self.intrinsics, self.cam2global, self.frames_path = seq.intrinsics, seq.cam2global, seq.frames_path

    def load_detections(self):
        return self._dets


def generate(seq: Sequence, spec: Degradation, seed: int):
    from detbench.sensitivity.degrade import degrade_sequence, sequence_seed

    gt = read_mot(seq.gt_path, kind="gt")
    return gt, degrade_sequence(gt, seq.length, seq.width, seq.height, spec, sequence_seed(seed, seq.name))


def run_unit(split: Split, spec: Degradation, seed: int, tracker) -> dict:
    """Track + evaluate one unit -> {"overall", "per_class", "per_sequence_counts"}; ``tracker``:
    the series' :class:`trackers.TrackerSpec`."""

    tmp = Path(tempfile.mkdtemp(prefix="detbench-sens-"))
    try:
        for seq in split.sequences:
            _, gen = generate(seq, spec, seed)
            write_mot(tmp / f"{seq.name}.txt",
                      track_sequence(GeneratedJob(seq, gen.dets), tracker))
        m = evaluate_folders(split.gt_dir, tmp, classes="per-class", iou=0.5, hota_counts=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return {"overall": m["overall"], "per_class": m["per_class"], "per_sequence_counts": per_sequence_counts(m)}


def unit_code(tracker_cls) -> dict:
    """The code of a unit (generate, track with ``tracker_cls``, score) and its libraries'
    versions (:func:`detbench.codekeys.code_key`)."""

    return codekeys.code_key(*codekeys.SENSITIVITY, codekeys.tracker_entry(tracker_cls))


def unit_key(split_content: dict, spec: Degradation, seed: int, tracker: str, params: dict,
             code: dict, extra: dict) -> str:
    return sha256_json({"split": split_content, "spec": spec.to_dict(), "seed": seed, "tracker": tracker,
                        "params": params, "code": code, "extra": extra,
                        "eval": {"classes": "per-class", "iou": 0.5}})


def _worker(args):
    split, spec, seed, tracker, cache_path, key = args
    import time


    cpu = time.process_time()
    try:
        result = run_unit(split, spec, seed, tracker)
        # what the unit ran on: its CPU time and each library's thread count (a pool worker: its share)
        result["cpu_s"], result["threads"] = round(time.process_time() - cpu, 3), current()
    except Exception as e:  # a failing tracker is a gap in the table, not a crashed study
        return key, None, f"{type(e).__name__}: {e}".splitlines()[0]
    atomic_write_json(cache_path, {"key": key, "result": result})
    return key, result, None


def warm_worker(trackers: tuple[str, ...]) -> None:
    """What a study's tasks import, imported ahead in a worker (:meth:`Executor.warm`): this
    module's stages, then :func:`detbench.warmup.warm_trackers`."""
    warm_trackers(trackers)


def resolve_trackssm_weights(options: dict) -> tuple[dict, dict, str | None]:
    """TrackSSM's weights made explicit: (options, extra key content, note or None).

    ``weights`` unset: the latest model under ``runs/motion/`` (what track, tune and compare would
    load); none there: ``weights=random`` (an untrained, seeded model), with a note for the report.
    """

    w = None if weights_unset(options) else options["weights"]
    if w == "random":
        return options, {"weights": "random"}, "TrackSSM ran with weights=random (an untrained seeded model)."
    try:
        d = resolve_weights(w)
    except InputError:
        if w is not None:
            raise
        return ({**options, "weights": "random"}, {"weights": "random"},
                "No trained TrackSSM motion model under runs/motion/ and no weights option: TrackSSM "
                "ran with weights=random (an untrained, seeded model; its boxes come from the last "
                "detection gate, so its curve measures ByteTrack-style association, not TrackSSM motion).")
    digest = sha256_file(d / "model.pth")
    return ({**options, "weights": str(d)}, {"weights": digest},
            f"TrackSSM motion model: {d} (model.pth sha256 {digest[:12]}).")


def tracker_options(trackers: list[str], overrides: dict[str, dict],
                    cleanup: dict | None = None) -> tuple[dict, dict, list]:
    """Per series (:func:`series_names`): options (the tracker's defaults, then ``--tracker-opt``,
    then for a ``+cleanup`` series the ``cleanup`` options), extra cache-key content, and notes
    for the report.

    A ``detbench tune`` result belongs to one detector checkpoint (see :mod:`detbench.tuning.tunings`);
    the degraded ground truth of a sensitivity study has none, so every tracker runs with its
    defaults (the same source for all) unless options are given."""
    opts, extra, notes = {}, {}, []
    for t in trackers:
        o = dict(overrides.get(t, {}))
        extra[t] = {}
        if t in ("trackssm", "trackssm-gated"):   # both read a motion model
            o, extra[t], note = resolve_trackssm_weights(o)
            if note:
                notes.append(note)
        opts[t] = o
        if cleanup:
            opts[t + CLEANUP_SUFFIX], extra[t + CLEANUP_SUFFIX] = {**o, **cleanup}, extra[t]
    return opts, extra, notes


def run_units(split: Split, units: list[tuple[str, Degradation, int, str]], options: dict, extra: dict,
              cache_root: Path, jobs: int = 1, progress: Callable[[str], None] | None = None,
              executor=None) -> tuple[dict, dict]:
    """``units`` of (point key, spec, seed, tracker) -> ({(point, seed, tracker): result or None},
    {"cached": n, "computed": n, "failed": {unit: error}}). The units run as ``executor``'s tasks
    (:mod:`detbench.executors`), or in a pool of ``jobs`` processes made for this call."""

    content = split.content()
    specs = {t: tracker_spec(base_tracker(t), options[t]) for t in {u[3] for u in units}}  # resolved once
    if executor is not None:  # its workers import while this process computes the units' keys
        executor.warm(warm_worker, tuple(sorted({base_tracker(t) for t in specs})))
    params = {t: s.resolved for t, s in specs.items()}
    code = {t: unit_code(s.cls) for t, s in specs.items()}
    results, todo, stats = {}, [], {"cached": 0, "computed": 0, "failed": {}, "cpu_s": 0.0}
    for point, spec, seed, trk in units:
        key = unit_key(content, spec, seed, trk, params[trk], code[trk], extra.get(trk, {}))
        path = cache_root / key[:2] / f"{key}.json"
        if path.is_file():
            try:
                stored = json.loads(path.read_text(encoding="utf-8"))
                if stored.get("key") == key:
                    results[(point, seed, trk)] = stored["result"]
                    stats["cached"] += 1
                    if progress:
                        progress(f"{trk} {point} seed {seed} (cached)")
                    continue
            except (json.JSONDecodeError, KeyError):
                pass
        todo.append(((point, seed, trk), (split, spec, seed, specs[trk], path, key)))
    # slow trackers first so that the pool's last minutes are not one long unit
    weight = {"trackssm": 0, "trackssm-gated": 0, "ocsort": 1, "botsort": 2, "bytetrack": 3, "iou": 4}
    todo.sort(key=lambda t: weight.get(base_tracker(t[0][2]), 0))
    by_key = {args[-1]: unit for unit, args in todo}
    def handle(key, result, error):
        unit = by_key[key]
        results[unit] = result
        if error:
            stats["failed"]["/".join(map(str, unit))] = error
        else:
            stats["computed"] += 1
            stats["cpu_s"] = round(stats["cpu_s"] + result.get("cpu_s", 0.0), 3)
        if progress:
            progress(f"{unit[2]} {unit[0]} seed {unit[1]}")


    with nullcontext(executor) if executor is not None else LocalExecutor(min(jobs, max(1, len(todo)))) as ex:
        for out in ex.map(_worker, [a for _, a in todo]):
            handle(*out)
    return results, stats
