"""``detbench tune``: a small grid over a tracker's main thresholds, its lost-track buffer and the
detection clean-up.

Every tracker gets the same care: a grid of the same size, 3 x 3 x 3 x 3 = 81 points (3 values
of each of 2 of the tracker's thresholds, of the lost-track buffer in seconds, and of the
clean-up's class-agnostic NMS IoU ``nms_iou``, :mod:`trackers.cleanup`, the same values for every
tracker; each tracker's ``Params.GRID`` declares its part, see :data:`trackers.base.BUFFER_GRID_S`
and :func:`tracker_grid`), the same objective (HOTA, ties broken by fewer ID
switches), on a split that is never the reporting split. The choice is stored per (tracker,
detections, dataset, tune split) under ``runs/tune/<tracker>/`` (see :mod:`detbench.tuning.tunings`);
``detbench compare --tuned`` uses, for each pair, the setting tuned for that pair.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from detbench.core import paths
from detbench.core.errors import InputError
from detbench.core.fileio import atomic_write_json, sha256_file, sha256_json
from detbench.data.layout import PreparedDataset
from detbench.data.splits import check_tune_split
from detbench.detect.resolved import ExternalDetections, ResolvedDetector, ensure_all
from detbench.evaluate import metric_specs
from detbench.evaluate.cached import evaluate_cached
from detbench.executors import LocalExecutor
from detbench.motion.weights import with_default_weights
from detbench.tracking.run import track_split
from detbench.tracking.sources import from_cache, from_external
from detbench.tuning import tunings
from detbench.warmup import warm_trackers
from trackers import TRACKERS, tracker_class, tracker_spec, tune_grid


def tracker_grid(tracker: str) -> dict[str, list]:
    """``tracker``'s tuning grid: its ``Params.GRID`` and the clean-up's (:func:`trackers.tune_grid`);
    InputError when it has none."""

    grid = tune_grid(tracker_class(tracker)) if tracker in TRACKERS else None
    if not grid:
        raise InputError(f"no tuning grid for tracker {tracker!r}; grids exist for {', '.join(tunable_trackers())}")
    return grid


def tunable_trackers() -> list[str]:
    """The registered trackers that declare a tuning grid, sorted."""

    return sorted(n for n in TRACKERS if tune_grid(tracker_class(n)))


def grid_points(tracker: str, grid: dict[str, list] | None = None) -> list[dict]:
    grid = grid or tracker_grid(tracker)
    keys = sorted(grid)
    return [dict(zip(keys, values)) for values in itertools.product(*(grid[k] for k in keys))]


@dataclass(frozen=True)
class CacheJobs:
    """A tune split's sequences with a detection cache's detections, made where a task runs
    (:func:`detbench.tracking.sources.from_cache`; once per worker process and source): a task
    carries these paths, not every sequence's calibration."""

    cache_dir: str
    data_dir: str
    split: str
    key: str        # the tuning's content key: changed inputs are never served the jobs made before


@lru_cache(maxsize=4)
def _cache_jobs(source: CacheJobs) -> list:
    return from_cache(source.cache_dir, source.data_dir, source.split)


@dataclass(frozen=True)
class _Tuning:
    jobs: object            # a list of SequenceJob, or a CacheJobs
    gt_dir: Path
    tracker: str
    work_dir: Path
    grid: dict
    base_options: dict


def tune_jobs(jobs, gt_dir: Path, tracker: str, work_dir: Path, grid: dict | None = None,
              base_options: dict | None = None, progress=None, executor=None) -> dict:
    """Track ``jobs`` with every grid point, score against ``gt_dir``; return the table and the best.
    ``jobs``: a list of :class:`detbench.tracking.sources.SequenceJob` or a :class:`CacheJobs`.
    Each point is one task of ``executor`` (:mod:`detbench.executors`; default: this process)
    that tracks and scores the whole split into ``work_dir`` (caches keyed by content);
    ``progress(options, overall)`` is called as points finish."""
    grid = grid or tracker_grid(tracker)
    return run_tunings([_Tuning(jobs, Path(gt_dir), tracker, Path(work_dir), grid, dict(base_options or {}))],
                       progress, executor)[0]


def run_tunings(plans: list[_Tuning], progress=None, executor=None) -> list[dict]:
    """Every grid point of every tuning as one task each, all submitted together; per tuning its
    table and best point (in grid order, whatever order the points finish in)."""
    from contextlib import nullcontext


    tasks, rows = [], []
    for i, t in enumerate(plans):
        points = [{**t.base_options, **point} for point in grid_points(t.tracker, t.grid)]
        rows.append([None] * len(points))
        tasks += [(i, j, t.jobs, t.gt_dir, t.tracker, t.work_dir / sha256_json(options)[:12], options)
                  for j, options in enumerate(points)]
    with nullcontext(executor) if executor is not None else LocalExecutor(1) as ex:
        for i, j, row, overall in ex.map(_tune_point, tasks):
            rows[i][j] = row
            if progress:
                progress(row["options"], overall)
    out = []
    for t, table in zip(plans, rows):
        best = max(table, key=lambda r: (round(r["HOTA"], 6), -r["IDSW"]))
        out.append({"tracker": t.tracker, "objective": tunings.OBJECTIVE, "grid": t.grid,
                    "rows": table, "best": best})
    return out


def warm_worker(trackers: tuple[str, ...]) -> None:
    """What a tuning's tasks import, imported ahead in a worker (:meth:`Executor.warm`): this
    module's stages (tracking, scoring), then :func:`detbench.warmup.warm_trackers`."""
    warm_trackers(trackers)


def _tune_point(args):
    """One task: track the split with one point's options and score it -> (tuning, point, row,
    overall)."""

    i, j, jobs, gt_dir, tracker, out, options = args
    track_split(_cache_jobs(jobs) if isinstance(jobs, CacheJobs) else jobs, tracker, out, options)
    overall = evaluate_cached(gt_dir, out, check=False).metrics["overall"]  # TrackEval only, no motmetrics check
    return i, j, {"options": options, **{m: overall[m] for m in metric_specs.shown("tune")}}, overall


def tune_target(tracker: str, source: ResolvedDetector | ExternalDetections, grid: dict | None = None,
                base_options: dict | None = None) -> dict:
    """What a tuning of ``tracker`` on ``source`` (a detector resolved on the tune split, or
    external detections) is for, without running it: ``key``, ``inputs`` (what the key hashes),
    ``path`` (where it is stored), ``existing`` (that path's stored tuning or None) and
    ``command`` (the ``detbench tune`` command that writes it)."""
    data_dir, split = Path(source.data_dir), source.split
    grid = grid or tracker_grid(tracker)  # no grid: InputError
    gt_dir = PreparedDataset(data_dir).gt_dir(split)
    if not gt_dir.is_dir():
        raise InputError(f"{data_dir}: no split {split!r} to tune on (prepare it with --splits ...,{split})")
    if isinstance(source, ExternalDetections):
        from detbench.data.mot import list_sequences

        dets_dir, detector, run, device = Path(source.dets_dir), None, None, "cpu"
        detections = {"external": {n: sha256_file(dets_dir / f"{n}.txt") for n in list_sequences(gt_dir)
                                   if (dets_dir / f"{n}.txt").is_file()}}
    else:
        detector, run, device = source.name, source.run, source.device
        det = source.detection_key()
        detections = {"key": det["key"], "checkpoint_sha256": det["checkpoint_sha256"]}
    key, inputs = tunings.tuning_key(tracker, detections, data_dir, split, base_options, grid)
    existing = tunings.find(tracker, key)
    return {"key": key, "inputs": inputs, "existing": existing,
            "path": existing or tunings.storage_path(tracker, key, detector, run, data_dir, split),
            "command": tunings.tune_command(tracker, detector or "?", data_dir, split, run, device, base_options)}


def tune(tracker: str, source: ResolvedDetector | ExternalDetections, report_split: str = "val",
         grid: dict | None = None, base_options: dict | None = None, progress=None, tell=None,
         executor=None) -> Path:
    """Tune ``tracker`` on ``source``'s split with its detections (a detector resolved on that
    split, :mod:`detbench.detect.resolved`, or external MOT det files); never reads
    ``report_split``. Returns the stored result's path (see :mod:`detbench.tuning.tunings`):
    ``best.options`` is the setting compare uses for this pair. ``base_options``: fixed for every
    point of ``grid`` (default: the tracker's, :func:`tracker_grid`). ``progress(options,
    overall)``: as points finish. ``tell(line)``: called once, before the grid, with the
    detector's run, checkpoint and detection cache (:meth:`detbench.detect.api.DetectResult.used`);
    the result records them. ``executor``: where the grid points (and the detection, when
    missing) run (:mod:`detbench.executors`; default: this process)."""
    return tune_many([dict(tracker=tracker, source=source, report_split=report_split, grid=grid,
                           base_options=base_options, tell=tell)], progress, executor)[0]


def tune_many(requests: list[dict], progress=None, executor=None) -> list[Path]:
    """:func:`tune` for every request (its keyword arguments), the grid points of all of them
    submitted to ``executor`` together; the stored results' paths, in order."""
    # TrackSSM's unset weights: the latest model, named from here on
    requests = [{**r, "base_options": with_default_weights(r["tracker"], r.get("base_options"))} for r in requests]
    prepared = [_prepare(executor=executor, **r) for r in requests]
    results = run_tunings([plan for plan, _, _ in prepared], progress, executor)
    return [atomic_write_json(path, dict(result, **record)) for (_, record, path), result in zip(prepared, results)]


def _prepare(tracker, source, report_split="val", grid=None, base_options=None, tell=None,
             executor=None) -> tuple[_Tuning, dict, Path]:
    """One tuning's checks, key and detections, before any point runs -> (plan, the record's
    other fields, where it is stored)."""

    data_dir, split = Path(source.data_dir), source.split
    check_tune_split(data_dir, split, report_split, "--split")
    target = tune_target(tracker, source, grid, base_options)
    if executor is not None:  # its workers import while this process finds the detections (after the checks)
        executor.warm(warm_worker, (tracker,))
    gt_dir = PreparedDataset(data_dir).gt_dir(split)

    if tracker_spec(tracker, base_options).needs_calibration:  # before any detection is computed
        from detbench.tracking.sources import check_split_calibration

        check_split_calibration(data_dir, split, tracker)
    if isinstance(source, ExternalDetections):
        jobs = from_external(source.dets_dir, gt_dir)
        detector, run, where = None, None, {"dets_dir": str(source.dets_dir)}
    else:
        [found] = ensure_all([source], executor)
        jobs = CacheJobs(str(found.cache_dir), str(data_dir), split, target["key"])
        ref = found.ref
        detector, run, where = source.name, source.run, {"run": ref.run, "epoch": ref.epoch,
                                                         "checkpoint": str(ref.checkpoint),
                                                         "detections": str(found.cache_dir)}
        if tell:
            tell(found.used())
    work = paths.runs_root() / "tune" / "work" / tracker / target["key"][:16]
    record = {"key": target["key"], "inputs": target["inputs"], "detector": detector, "run": run,
              "data": str(data_dir), "split": split, "report_split": report_split,
              "base_options": dict(base_options or {}), "command": target["command"],
              "source": where}
    return (_Tuning(jobs, gt_dir, tracker, work, grid or tracker_grid(tracker), dict(base_options or {})), record,
            target["path"])
