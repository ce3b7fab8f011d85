"""Track and evaluate every (detector, tracker) pair of a split, reusing every cache.

The stages are the other parts' public entry points: ``detbench.detect.api.ensure_detections``
(detection cache), ``detbench.tracking.run`` (tracking results) and
:func:`detbench.evaluate.cached.evaluate_cached` (metrics). Each reuse is counted in the result's
``reused`` ({"detections", "tunings", "tracks", "metrics": times served from a cache}), so callers
(and tests) can see that a second comparison recomputed nothing.
"""
from __future__ import annotations

import json
from collections import Counter
from contextlib import nullcontext
from dataclasses import replace
from pathlib import Path

from detbench.compare.attribution import (
    AttributionRules,
    Switch,
    check_totals,
    count_causes,
    sequence_switches,
    switches_per_class,
)
from detbench.compare.bootstrap import paired_bootstrap, scene_of
from detbench.compare.options import ComparisonOptions, RunContext
from detbench.compare.permutation import EXACT_MAX_SCENES, N_DRAWS
from detbench.core import paths
from detbench.core.errors import InputError
from detbench.core.fileio import ensure_writable, sha256_file
from detbench.data import layout, mot
from detbench.detect.resolved import ResolvedDetector, ensure_all
from detbench.evaluate import metric_specs
from detbench.evaluate.api import load_matched
from detbench.evaluate.cached import evaluate_cached
from detbench.evaluate.hota_counts import flatten_hota
from detbench.evaluate.loading import pair_sequences
from detbench.executors import LocalExecutor
from detbench.motion.weights import uses_motion_model, with_default_weights
from detbench.runs import parse_epoch_name
from detbench.tracking.run import TrackingFailed, check_tracker, resolve_params, track_cache
from detbench.tracking.sources import check_split_calibration
from detbench.tuning.settings import pair_settings
from detbench.warmup import warm_trackers
from trackers import tracker_spec


def attribute_pair(gt_dir: Path, res_dir: Path, rules: AttributionRules, executor=None) -> list[Switch]:
    """Every switch of one pair with its cause: each sequence read exactly as eval scores it
    (:func:`detbench.evaluate.api.load_matched`), the switches TrackEval's CLEAR counts; one task
    of ``executor`` per sequence (default: this process), gathered in sequence order."""

    tasks = [(k, files, rules) for k, files in enumerate(pair_sequences(gt_dir, res_dir))]
    per_sequence = {}
    with nullcontext(executor) if executor is not None else LocalExecutor(1) as ex:
        for k, switches in ex.map(_sequence_switches, tasks):
            per_sequence[k] = switches
    return [s for k in sorted(per_sequence) for s in per_sequence[k]]


def warm_worker(trackers: tuple[str, ...]) -> None:
    """What a comparison's tasks import, imported ahead in a worker (:meth:`Executor.warm`): the
    stages' modules (this module's own imports bring them), then :func:`detbench.warmup.warm_trackers`."""
    warm_trackers(trackers)


def _sequence_switches(args) -> tuple[int, list[Switch]]:
    k, files, rules = args
    info = mot.read_seqinfo(files.seqinfo_path) if files.seqinfo_path else None
    size = (info.width, info.height) if info else (1600, 900)
    return k, sequence_switches(load_matched(files, per_class=True), *size, rules=rules)


# how comparison.json's verdicts are decided (detbench.compare.bootstrap, detbench.compare.permutation)
VERDICT_RULE = {"test": "paired permutation over scenes (the detectors' counts swapped within scenes)",
                "alpha": 0.05, "sides": 2, "exact_up_to_scenes": EXACT_MAX_SCENES, "draws_beyond": N_DRAWS}


def bootstrap_deltas(pairs: list[dict], detectors: list[str], trackers: list[str], n_resamples: int,
                     seed: int) -> list[dict]:
    """Per tracker, the change from the first to the last detector with 95 % intervals from a
    paired bootstrap over scenes (:mod:`detbench.compare.bootstrap`) and the permutation test's
    p-value, which decides the verdict (:data:`VERDICT_RULE`), for each metric of the
    ``compare_change`` table (:mod:`detbench.evaluate.metric_specs`)."""
    by = {(p["detector"], p["tracker"]): p for p in pairs if p["status"] == "ok"}
    out = []
    for trk in trackers:
        a, b = by.get((detectors[0], trk)), by.get((detectors[-1], trk))
        if a is None or b is None or len(detectors) < 2:
            continue
        metrics = {}
        for metric in metric_specs.shown("compare_change"):
            r = paired_bootstrap(a["per_sequence_counts"], b["per_sequence_counts"], metric,
                                 n_resamples=n_resamples, seed=seed)
            metrics[metric] = dict(r.to_dict(), verdict=r.verdict(detectors[0], detectors[-1]))
        out.append({"tracker": trk, "from": detectors[0], "to": detectors[-1], "metrics": metrics})
    return out


def per_sequence_counts(metrics: dict) -> dict[str, dict]:
    """Counts per sequence for the bootstrap: the summary counts the ``compare_change`` metrics'
    rules read (:mod:`detbench.evaluate.metric_specs`) and HOTA's per-alpha sums."""

    summary = set(metric_specs.names())
    fields = list(dict.fromkeys(f for name in metric_specs.shown("compare_change")
                                for f in metric_specs.spec(name).counts if f in summary))
    out = {}
    for seq, m in metrics["per_sequence"].items():
        h = metrics["hota_counts"][seq]
        out[seq] = {k: m[k] for k in fields}
        out[seq].update(flatten_hota(h["HOTA_TP"], h["HOTA_FN"], h["HOTA_FP"], h["AssA"]))
    return out


def run_pair(detector: str, tracker: str, cache_dir: Path, data_dir: Path, split: str, options: dict,
             out_root: Path, rules: AttributionRules, executor) -> tuple[dict, Counter]:
    """Track + evaluate + attribute one (detector, tracker) pair; failures become a gap, not a
    crash. -> (the pair's record, the caches it reused: "tracks", "metrics")."""

    out_dir = out_root / detector / tracker
    pair = {"detector": detector, "tracker": tracker, "epoch": parse_epoch_name(detector), "options": options,
            "tracks": str(out_dir)}
    reused = Counter()
    try:
        before = _meta_hash(out_dir)
        track_cache(cache_dir, data_dir, split, tracker, options, out_dir=out_dir, detector=detector,
                    n_jobs=executor.workers, executor=executor)
        reused["tracks"] += before is not None and before == _meta_hash(out_dir)
    except TrackingFailed as e:
        return dict(pair, status="failed", error=str(e)), reused
    gt_dir = layout.PreparedDataset(data_dir).gt_dir(split)
    evaluated = evaluate_cached(gt_dir, out_dir, check=False, executor=executor)  # TrackEval only, no motmetrics check
    reused["metrics"] += evaluated.reused
    metrics = evaluated.metrics
    switches = attribute_pair(gt_dir, out_dir, rules, executor)
    check_totals(f"{detector} x {tracker}", switches, metrics["overall"], metrics["per_class"])
    return dict(pair, status="ok", overall=metrics["overall"], per_class=metrics["per_class"],
                per_sequence=metrics["per_sequence"], per_class_idsw=switches_per_class(switches),
                attribution=count_causes(switches),
                per_sequence_counts=per_sequence_counts(metrics)), reused


def _tracker_input_files(out_dir: Path) -> dict:
    """{label: sha256} of the files the pair's tracker read (TrackSSM weights, ReID weights)."""
    try:
        return json.loads((out_dir / "meta.json").read_text(encoding="utf-8")).get("input_files", {})
    except (OSError, json.JSONDecodeError):
        return {}


def _meta_hash(out_dir: Path) -> str | None:
    meta = out_dir / "meta.json"
    return sha256_file(meta) if meta.is_file() else None


def _check_trackers(trackers, tracker_options, data_dir, splits) -> None:
    """Every tracker and option is checked before any work (InputError), so a typo in the last
    name does not cost the tracking of the first; a tracker that needs camera calibration gets
    every frame of ``splits`` checked for it here, before any detection. (The detectors were
    checked when they were resolved: :func:`detbench.detect.resolved.resolve_detectors`.)"""

    for trk in trackers:
        opts = dict((tracker_options or {}).get(trk, {}))   # tuned values are checked by pair_settings
        spec = tracker_spec(trk, opts)
        check_tracker(spec)
        if spec.needs_calibration:
            for split in splits:
                check_split_calibration(data_dir, split, trk)


def _run_pairs(detectors: tuple[ResolvedDetector, ...], trackers, options: ComparisonOptions, progress,
               executor) -> tuple[list[dict], dict, Counter]:
    """Every pair's record, in (detector, tracker) order: tunings (as the mode says), detections,
    then tracking, scoring and attribution of each pair; which run, checkpoint and cache each
    detector name meant; and what was served from a cache."""

    rules = AttributionRules()
    out_root = paths.runs_root() / "compare" / options.name / "tracks"
    mode = "none" if not options.use_tuned else ("tune" if options.tune_missing else "tuned")
    settings, reused = pair_settings(detectors, trackers, options.tracker_options, mode, options.tune_split, progress,
                                     executor=executor)
    pairs, sources = [], {}
    data_dir, split = detectors[0].data_dir, detectors[0].split
    for resolved, res in zip(detectors, ensure_all(detectors, executor)):
        det = resolved.name
        reused["detections"] += bool(getattr(res, "cache_hit", False))
        sources[det] = {"run": res.ref.run, "epoch": res.ref.epoch, "checkpoint": str(res.ref.checkpoint),
                        "detections": str(res.cache_dir), "used": res.used()}
        for trk in trackers:
            opts = settings[det, trk]["options"]
            if progress:
                progress(f"{det} x {trk}")
            pair, pair_reused = run_pair(det, trk, res.cache_dir, data_dir, split, opts, out_root, rules, executor)
            reused.update(pair_reused)
            pairs.append(dict(pair, params=resolve_params(trk, opts), tuning=settings[det, trk]["tuning"],
                              input_files=_tracker_input_files(out_root / det / trk)))
    return pairs, sources, reused


def run_comparison(detectors: tuple[ResolvedDetector, ...], trackers: list[str],
                   options: ComparisonOptions = ComparisonOptions(), context: RunContext = RunContext()) -> dict:
    """Every (detector, tracker) pair on the detectors' split; tables, intervals and plots in
    ``<context.results_root>/<options.name>/``.

    ``detectors``: resolved on one dataset and split (:func:`detbench.detect.resolved.resolve_detectors`;
    the change is reported from the first to the last). ``context.executor``
    (:mod:`detbench.executors`) runs the detection, tracking and scoring tasks (default: a pool of
    ``context.jobs`` processes on this machine); the files do not depend on it.

    Options per pair: see :func:`detbench.tuning.settings.pair_settings` (``options.use_tuned``: the
    pair's own tuning, an InputError when missing unless ``options.tune_missing``; otherwise the
    untuned defaults). Each pair records ``options``, the full resolved ``params``, ``tuning``
    (where its options came from) and ``input_files`` ({label: sha256} of the files its tracker
    read). The returned dict is comparison.json's content plus ``reused`` ({cache: times served}:
    detections, tunings, tracks, metrics).
    """
    from detbench.compare import plots, report

    first = detectors[0]
    data_dir, split, run, name = first.data_dir, first.split, first.run, options.name
    if any((d.data_dir, d.split, d.run) != (data_dir, split, run) for d in detectors):
        raise ValueError("run_comparison: the detectors must be resolved on one dataset, split and run")
    if not layout.PreparedDataset(data_dir).has_split(split):
        raise InputError(f"{data_dir}: no split {split!r} (prepare it first)")
    out_dir = Path(context.results_root or "results") / name
    ensure_writable(out_dir, "comparison", inputs={"--data": data_dir})  # before the work, not after it
    given = options.tracker_options or {}
    named = {t: with_default_weights(t, given.get(t)) for t in trackers if uses_motion_model(t)}
    named = {t: o for t, o in named.items() if o}   # TrackSSM's unset weights: the latest model, named
    if named:
        options = replace(options, tracker_options={**given, **named})
    use_tuned, tune_split, executor = options.use_tuned, options.tune_split, context.executor
    tuned_here = ([tune_split] if use_tuned and options.tune_missing and layout.PreparedDataset(data_dir).has_split(tune_split)
                  else [])
    _check_trackers(trackers, options.tracker_options, data_dir, [split, *tuned_here])
    if executor is not None:  # its workers import the trackers' libraries while this process computes keys
        executor.warm(warm_worker, tuple(trackers))   # (after the checks: a bad input exits at once)
    with nullcontext(executor) if executor is not None else LocalExecutor(context.jobs) as ex:
        pairs, sources, reused = _run_pairs(detectors, trackers, options, context.progress, ex)
    names = [d.name for d in detectors]
    n_resamples, seed, tracker_options = options.n_resamples, options.seed, options.tracker_options
    scored = next((p["per_sequence"] for p in pairs if p["status"] == "ok"), {})
    result = {
        "name": name, "data": str(data_dir), "split": split, "run": run, "detectors": names,
        "trackers": trackers, "detector_sources": sources, "tracker_options": dict(tracker_options or {}),
        "tuning": {"mode": "tuned" if use_tuned else "untuned", "split": tune_split if use_tuned else None},
        "n_sequences": len(scored), "n_scenes": len({scene_of(s) for s in scored}),
        "pairs": pairs, "bootstrap": {"n_resamples": n_resamples, "seed": seed, "level": 0.95, "unit": "scene",
                                "interval": "expanded percentile", "verdict": VERDICT_RULE},
        "deltas": bootstrap_deltas(pairs, names, trackers, n_resamples, seed),
        "attribution_rules": AttributionRules().describe(),
    }
    result["plots"] = [str(plots.pair_bars(result, out_dir / "comparison.png"))]
    if len(names) > 2 and any(p.get("epoch") is not None for p in pairs):
        result["plots"].append(str(plots.metrics_vs_epoch(result, out_dir / "metrics_vs_epoch.png")))
    public = dict(result, pairs=[{k: v for k, v in p.items() if k != "per_sequence_counts"} for p in pairs])
    report.write_all(public, out_dir)
    result["reused"] = dict(reused)    # what was served from a cache: said, never written
    return result
