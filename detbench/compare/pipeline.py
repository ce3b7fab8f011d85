"""Track and evaluate every (detector, tracker) pair of a split, reusing every cache.

The stages are the other parts' public entry points: ``detbench.detect.api.ensure_detections``
(detection cache), ``detbench.tracking.run`` (tracking results) and
``detbench.evaluate.api.evaluate_folders`` (metrics). Each reuse is counted in
:data:`REUSE`, so callers (and tests) can see that a second comparison recomputed nothing.
"""
from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

from detbench.classes import CLASSES
from detbench.compare.attribution import AttributionRules, count_causes, find_switches
from detbench.compare.bootstrap import paired_bootstrap
from detbench.data import mot
from detbench.errors import InputError
from detbench.fileio import atomic_write_json, sha256_file, sha256_json

REUSE: Counter = Counter()          # "detections", "tracks", "metrics" -> times served from cache
BOOTSTRAP_METRICS = ("IDSW", "MOTA", "HOTA")


def epoch_of(detector: str) -> int | None:
    m = re.fullmatch(r"epoch_?(\d+)", Path(detector).stem if detector.endswith(".pth") else detector)
    return int(m.group(1)) if m else None


def list_run_detectors(run: str | None) -> list[str]:
    """Every ``epoch<N>`` checkpoint of a training run, in epoch order."""
    run_dir = _run_dir(run)
    names = sorted((int(p.stem.split("_")[1]) for p in run_dir.glob("epoch_*.pth")))
    if not names:
        raise InputError(f"{run_dir}: no epoch_<N>.pth checkpoints")
    return [f"epoch{n}" for n in names]


def _run_dir(run: str | None) -> Path:
    from detbench import paths

    if run:
        p = Path(run)
        return p if p.is_dir() else paths.train_dir(run)
    from detbench.train.names import latest_run

    return latest_run()  # the most recent run with a checkpoint (not one interrupted in epoch 1)


def evaluate_cached(gt_dir: Path, res_dir: Path, classes: str = "per-class", iou: float = 0.5) -> dict:
    """``evaluate_folders`` with its result stored beside the results, keyed by the inputs' hashes."""
    from detbench.evaluate.api import evaluate_folders

    files = sorted(res_dir.glob("*.txt"))
    key = sha256_json({"results": {f.name: sha256_file(f) for f in files},
                       "gt": {s: sha256_file(gt_dir / s / "gt" / "gt.txt") for s in sorted(p.stem for p in files)
                              if (gt_dir / s / "gt" / "gt.txt").is_file()},
                       "classes": classes, "iou": iou, "with": "hota_counts"})
    cache = res_dir / "metrics.json"
    if cache.is_file():
        try:
            stored = json.loads(cache.read_text())
            if stored.get("key") == key:
                REUSE["metrics"] += 1
                return stored["metrics"]
        except json.JSONDecodeError:
            pass
    metrics = evaluate_folders(gt_dir, res_dir, classes=classes, iou=iou, hota_counts=True)
    atomic_write_json(cache, {"key": key, "metrics": metrics})
    return metrics


def attribute_pair(gt_dir: Path, res_dir: Path, rules: AttributionRules) -> tuple[dict, dict]:
    """IDSW causes summed over sequences, and switches per class, for one pair."""
    causes: Counter = Counter()
    per_class: Counter = Counter()
    for res_file in sorted(res_dir.glob("*.txt")):
        seq_dir = gt_dir / res_file.stem
        info = mot.read_seqinfo(seq_dir / "seqinfo.ini")
        gt = mot.read_mot(seq_dir / "gt" / "gt.txt", kind="gt")
        res = mot.read_mot(res_file)
        switches = find_switches(gt, res, info.length, info.width, info.height, per_class=True, rules=rules)
        causes.update(count_causes(switches))
        gt_class = {int(r[mot.ID]): int(r[mot.CLASS]) for r in gt}
        per_class.update(CLASSES[gt_class[s.gt_id] - 1] for s in switches)
    return dict(causes), {c: int(per_class.get(c, 0)) for c in CLASSES}


def bootstrap_deltas(pairs: list[dict], detectors: list[str], trackers: list[str], n_resamples: int,
                     seed: int) -> list[dict]:
    """Per tracker, the change from the first to the last detector with 95 % intervals."""
    from detbench.compare.hota_bootstrap import HOTA_METRIC

    by = {(p["detector"], p["tracker"]): p for p in pairs if p["status"] == "ok"}
    out = []
    for trk in trackers:
        a, b = by.get((detectors[0], trk)), by.get((detectors[-1], trk))
        if a is None or b is None or len(detectors) < 2:
            continue
        metrics = {}
        for metric in BOOTSTRAP_METRICS:
            r = paired_bootstrap(a["per_sequence_counts"], b["per_sequence_counts"], metric,
                                 n_resamples=n_resamples, seed=seed, metrics={"HOTA": HOTA_METRIC})
            metrics[metric] = dict(r.to_dict(), verdict=r.verdict(detectors[0], detectors[-1]))
        out.append({"tracker": trk, "from": detectors[0], "to": detectors[-1], "metrics": metrics})
    return out


def per_sequence_counts(metrics: dict) -> dict[str, dict]:
    """Counts per sequence for the bootstrap: CLEAR counts and HOTA's per-alpha sums."""
    from detbench.compare.hota_bootstrap import flatten_hota

    out = {}
    for seq, m in metrics["per_sequence"].items():
        h = metrics["hota_counts"][seq]
        out[seq] = {k: m[k] for k in ("IDSW", "TP", "FN", "FP")}
        out[seq].update(flatten_hota(h["HOTA_TP"], h["HOTA_FN"], h["HOTA_FP"], h["AssA"]))
    return out


def run_pair(detector: str, tracker: str, cache_dir: Path, data_dir: Path, split: str, options: dict,
             out_root: Path, rules: AttributionRules, jobs: int = 1) -> dict:
    """Track + evaluate + attribute one (detector, tracker) pair; failures become a gap, not a crash."""
    from detbench.tracking.run import TrackingFailed, track_cache

    out_dir = out_root / detector / tracker
    pair = {"detector": detector, "tracker": tracker, "epoch": epoch_of(detector), "options": options,
            "tracks": str(out_dir)}
    try:
        before = _meta_hash(out_dir)
        track_cache(cache_dir, data_dir, split, tracker, options, out_dir=out_dir, detector=detector, n_jobs=jobs)
        if before is not None and before == _meta_hash(out_dir):
            REUSE["tracks"] += 1
    except TrackingFailed as e:
        return dict(pair, status="failed", error=str(e))
    gt_dir = Path(data_dir) / "sequences" / split
    metrics = evaluate_cached(gt_dir, out_dir)
    causes, per_class_idsw = attribute_pair(gt_dir, out_dir, rules)
    return dict(pair, status="ok", overall=metrics["overall"], per_class=metrics["per_class"],
                per_sequence=metrics["per_sequence"], per_class_idsw=per_class_idsw, attribution=causes,
                per_sequence_counts=per_sequence_counts(metrics))


def _meta_hash(out_dir: Path) -> str | None:
    meta = out_dir / "meta.json"
    return sha256_file(meta) if meta.is_file() else None


def tuned_options(tracker: str) -> dict | None:
    """Options chosen by ``detbench tune`` for ``tracker``, if it has been tuned."""
    from detbench import paths

    path = paths.runs_root() / "tune" / f"{tracker}.json"
    if not path.is_file():
        return None
    return json.loads(path.read_text())["best"]["options"]


def _check_inputs(detectors, trackers, run, tracker_options, use_tuned, device) -> None:
    """Every detector name, tracker and option is checked before any work (InputError), so a
    typo in the last name does not cost the tracking of the first."""
    from detbench.detect.api import resolve_checkpoint
    from detbench.devices import check_device
    from detbench.tracking.run import check_tracker, resolve_params

    check_device(device)
    for det in detectors:
        resolve_checkpoint(det, run)
    for trk in trackers:
        opts = dict((tracker_options or {}).get(trk, {}))
        tuned = tuned_options(trk) if use_tuned else None
        opts = {**(tuned or {}), **opts}
        resolve_params(trk, opts)
        check_tracker(trk, opts)


def run_comparison(detectors: list[str], trackers: list[str], data_dir: Path, split: str = "val",
                   run: str | None = None, name: str = "default", tracker_options: dict | None = None,
                   use_tuned: bool = True, n_resamples: int = 2000, seed: int = 0, device: str = "cpu",
                   conf: float = 0.01, jobs: int = 1, results_root: Path | None = None,
                   progress=None) -> dict:
    """Every (detector, tracker) pair on ``split``; tables, intervals and plots in ``results/<name>/``."""
    from detbench import paths
    from detbench.compare import plots, report
    from detbench.detect.api import detect

    data_dir = Path(data_dir)
    if not (data_dir / "sequences" / split).is_dir():
        raise InputError(f"{data_dir}: no split {split!r} (prepare it first)")
    if detectors == ["all"]:
        detectors = list_run_detectors(run)
    _check_inputs(detectors, trackers, run, tracker_options, use_tuned, device)
    rules = AttributionRules()
    out_root = paths.runs_root() / "compare" / name / "tracks"
    pairs, options_used = [], {}
    for det in detectors:
        res = detect(det, data_dir, split, run=run, conf=conf, device=device)
        if getattr(res, "cache_hit", False):
            REUSE["detections"] += 1
        for trk in trackers:
            opts = dict((tracker_options or {}).get(trk, {}))
            tuned = tuned_options(trk) if use_tuned else None
            if tuned:
                opts = {**tuned, **opts}
            options_used[trk] = opts
            if progress:
                progress(f"{det} x {trk}")
            pairs.append(run_pair(det, trk, res.cache_dir, data_dir, split, opts, out_root, rules, jobs))
    result = {
        "name": name, "data": str(data_dir), "split": split, "run": run, "detectors": detectors,
        "trackers": trackers, "tracker_options": options_used,
        "n_sequences": len(next((p["per_sequence"] for p in pairs if p["status"] == "ok"), {})),
        "pairs": pairs, "bootstrap": {"n_resamples": n_resamples, "seed": seed, "level": 0.95},
        "deltas": bootstrap_deltas(pairs, detectors, trackers, n_resamples, seed),
        "attribution_rules": rules.describe(),
    }
    out_dir = Path(results_root or "results") / name
    result["plots"] = [str(plots.pair_bars(result, out_dir / "comparison.png"))]
    if len(detectors) > 2 and any(p.get("epoch") is not None for p in pairs):
        result["plots"].append(str(plots.metrics_vs_epoch(result, out_dir / "metrics_vs_epoch.png")))
    public = dict(result, pairs=[{k: v for k, v in p.items() if k != "per_sequence_counts"} for p in pairs])
    report.write_all(public, out_dir)
    return result
