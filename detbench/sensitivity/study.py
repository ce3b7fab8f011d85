"""A whole study: points x seeds x trackers -> one result dict (see :func:`run_study`).

Per (point, tracker) the result holds, from the counts summed over every sequence and seed:
``metrics[m] = {"value", "low", "high"}`` for IDSW (per run of the split, i.e. the mean over
seeds), HOTA, AssA, DetA, MOTA, with the scene x seed bootstrap band of :mod:`.bands`;
``per_seed`` (every seed's overall summary from ``evaluate_folders``) and ``per_class`` (each
class's summary values averaged over seeds). Per point: the requested degradation and its
measured position (:mod:`.placement`, mean over seeds).
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from detbench.core.errors import InputError
from detbench.data.layout import PreparedDataset
from detbench.evaluate import metric_specs
from detbench.sensitivity import axes as ax
from detbench.sensitivity import bands, placement, zero_point
from detbench.sensitivity.request import Study
from detbench.sensitivity.run import base_tracker, generate, load_split, run_units, series_names, tracker_options
from trackers import tracker_spec


def _mean_measures(ms: list[dict]) -> dict:
    out = {}
    for k in ax.AXES:
        vals = [m[k] for m in ms if m.get(k) is not None]
        out[k] = float(np.mean(vals)) if vals else None
    return out


def measure_point(split, spec, seeds) -> dict:
    per_seed = []
    for s in seeds:
        pairs = [(gt, gen.dets) for gt, gen in (generate(seq, spec, s) for seq in split.sequences)]
        per_seed.append(placement.measure_split(pairs))
    return {"mean": _mean_measures(per_seed), "per_seed": per_seed}


def aggregate(unit_results: dict, point: str, tracker: str, seeds: list[int], n_resamples: int) -> dict | None:
    per = {s: unit_results.get((point, s, tracker)) for s in seeds}
    if any(r is None for r in per.values()):
        return None
    cells, scenes, _ = bands.cell_counts({s: r["per_sequence_counts"] for s, r in per.items()})
    classes = sorted({c for r in per.values() for c in r["per_class"]})
    per_class = {c: {m: float(np.mean([r["per_class"][c][m] for r in per.values() if c in r["per_class"]]))
                     for m in metric_specs.shown("sensitivity_class")} for c in classes}
    return {"point": point, "tracker": tracker, "metrics": bands.scene_seed_bands(cells, n_resamples),
            "per_seed": {str(s): r["overall"] for s, r in per.items()}, "per_class": per_class,
            "n_scenes": len(scenes)}


def run_study(study: Study, cache_root: Path, executor, progress=None, on_total=None) -> dict:
    """Run (or reuse) every unit of ``study`` and aggregate. ``study.detectors`` are the
    ``--detector`` values to place (resolved when the study was built); ``study.cleanup`` (clean-up options, :mod:`trackers.cleanup`)
    adds a ``<tracker>+cleanup`` series for every tracker. ``executor`` runs the units
    (:mod:`detbench.executors`); ``on_total(n)`` is called with the number of units once the
    inputs are checked, ``progress(unit)`` as each finishes."""
    from detbench.sensitivity.detectors import place

    gt_dir, name, axes, grids, base, grid2d = (study.gt_dir, study.name, study.axes, study.grids, study.base,
                                               study.grid2d)
    seeds, n_resamples, cleanup, data_dir = list(study.seeds), study.n_resamples, study.cleanup, study.data_dir
    t0 = time.perf_counter()
    roots = ()
    if data_dir is not None and PreparedDataset(data_dir).exists():
        root = PreparedDataset(data_dir).meta.get("dataroot")
        roots = (root,) if root else ()
    split = load_split(gt_dir, roots)
    placed = place(study.detectors, split)  # bad input: before any work
    if not study.trackers:
        raise InputError("--trackers: no tracker named")
    options, extra, notes = tracker_options(list(study.trackers), study.tracker_overrides, cleanup)

    trackers = series_names(list(study.trackers), cleanup)
    specs = {t: tracker_spec(base_tracker(t), options[t]) for t in trackers}  # bad option: InputError before any work
    if any(s.needs_calibration for s in specs.values()):
        from detbench.sensitivity.run import GeneratedJob
        from detbench.tracking.sources import check_calibration

        check_calibration([GeneratedJob(seq, []) for seq in split.sequences],
                          next(base_tracker(t) for t, s in specs.items() if s.needs_calibration))
    points = ax.study_points(base, axes, grids, grid2d)
    seeds_of = {p.key: ([seeds[0]] if p.key == "perfect" else seeds) for p in points}  # perfect: no randomness
    units = [(p.key, p.spec, s, t) for p in points for s in seeds_of[p.key] for t in trackers]
    if on_total:
        on_total(len(units))
    unit_results, stats = run_units(split, units, options, extra, cache_root, executor.workers, progress, executor)
    measured = {p.key: measure_point(split, p.spec, seeds_of[p.key]) for p in points}
    results = []
    for p in points:
        for t in trackers:
            r = aggregate(unit_results, p.key, t, seeds_of[p.key], n_resamples)
            results.append(r or {"point": p.key, "tracker": t, "metrics": None,
                                 "error": next((e for u, e in stats["failed"].items()
                                                if u.startswith(f"{p.key}/") and u.endswith(f"/{t}")), "failed")})
    gt_tables = [generate(seq, ax.PERFECT, 0)[0] for seq in split.sequences]
    n_gt = sum(len(placement.detectable_rows(g)) for g in gt_tables)
    zero = []
    by = {(r["point"], r["tracker"]): r for r in results}
    for t in trackers:
        r = by[("perfect", t)]
        rules = zero_point.init_rules(base_tracker(t), specs[t].resolved, split.sequences[0].frame_rate)
        pred = {}
        for g in gt_tables:
            for k, v in zero_point.predict(g, rules).items():
                pred[k] = None if v is None or pred.get(k, 0) is None else pred.get(k, 0) + v
        if r.get("metrics") is None:
            zero.append({"tracker": t, "rules": rules, "predicted": pred, "measured": None, "text": "failed"})
            continue
        m = r["per_seed"][str(seeds_of["perfect"][0])]
        zero.append({"tracker": t, "rules": rules, "predicted": pred, "measured": m,
                     "text": zero_point.explain(t, m, pred, rules, n_gt)})
    return {
        "name": name, "gt": str(gt_dir), "sequences": [s.name for s in split.sequences],
        "scenes": sorted({bands.scene_of(s.name) for s in split.sequences}), "n_gt_boxes": n_gt,
        "trackers": trackers, "tracker_options": options, "cleanup": dict(cleanup or {}), "notes": notes,
        "seeds": seeds,
        "axes": list(axes), "grid2d": list(grid2d) if grid2d else None,
        "grids": {a: list(grids[a]) for a in axes} if not grid2d else {a: list(grids[a]) for a in grid2d},
        "base": base.to_dict(), "tau": placement.TAU, "n_resamples": n_resamples,
        "points": [{"key": p.key, "spec": p.spec.to_dict(), "axes": list(p.axes), "values": list(p.values),
                    "seeds": seeds_of[p.key], "measured": measured[p.key]["mean"],
                    "measured_per_seed": measured[p.key]["per_seed"]} for p in points],
        "results": results, "zero_point": zero, "detectors": placed,
        "units": {"total": len(units), **stats}, "seconds": round(time.perf_counter() - t0, 1),
    }
