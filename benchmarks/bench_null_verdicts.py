"""How often does `compare` give a verdict when nothing changed? (a null simulation)

    python benchmarks/bench_null_verdicts.py                      # 1,000 runs at 8 and 30 scenes (the README table)
    python benchmarks/bench_null_verdicts.py --runs 200 --scenes 30 --per-sequence   # the tests' 200-run design

Two detectors with no true difference on N scenes x 6 cameras (:func:`simulate`): every run is
one comparison, with the counts `compare` feeds its statistics (per sequence TP, FN, FP, IDSW and
HOTA's per-alpha sums). For each run and metric (IDSW, MOTA, HOTA) it calls
:func:`detbench.compare.bootstrap.paired_bootstrap` exactly as `compare` does (seed = the run's
index) and counts

- **old rule**: a verdict when the 95 % expanded-percentile scene bootstrap interval excludes zero
  (what `compare` did before the permutation test);
- **new rule**: a verdict when the paired permutation test over scenes gives p < 0.05 (what
  `compare` does now: :mod:`detbench.compare.permutation`);
- with ``--per-sequence``: the old rule with camera sequences resampled as if independent (what
  `compare` did before it resampled scenes).

Each rate is a false-verdict rate; a rule at its stated level gives at most 5 %. The binomial
sampling error of a rate near 5 % over R runs is sqrt(0.05 * 0.95 / R): 0.7 points at 1,000 runs.
Prints the table benchmarks/README.md records (and the figures docs/tuning-and-comparison.md and
the module docstrings cite); nothing is timed.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

CAMS = ("CAM_FRONT", "CAM_FRONT_RIGHT", "CAM_BACK_RIGHT", "CAM_BACK", "CAM_BACK_LEFT", "CAM_FRONT_LEFT")
METRICS = ("IDSW", "MOTA", "HOTA")
ALPHAS = np.arange(1, 20) * 0.05   # TrackEval's HOTA localisation thresholds 0.05 .. 0.95


def simulate(rng: np.random.Generator, n_scenes: int = 30,
             hota_rng: np.random.Generator | None = None) -> list[dict[str, dict[str, float]]]:
    """Two detectors with no true difference on ``n_scenes`` scenes x 6 cameras -> [per_seq_a, per_seq_b].

    Each scene has a difficulty shared by both detectors and, per detector, a scene-level quality
    (its failures in that scene's weather and traffic) shared by the scene's six cameras, plus a
    little per-camera noise; the two detectors are exchangeable, so the expected change in every
    metric is zero. ``rng`` draws TP, FN, FP and IDSW per sequence (the design of
    tests/test_compare_scene_bootstrap.py, draw for draw). With ``hota_rng`` (a separate stream, so
    the counts above stay the same) each sequence also gets HOTA's per-alpha sums
    (:mod:`detbench.evaluate.hota_counts`): matched pairs at alpha 0.05 (the CLEAR matches plus
    some looser ones), thinned alpha by alpha with the survival of a logistic IoU (scale 0.07) whose
    median (0.60 .. 0.85) rises with difficulty + quality, and an association accuracy that falls
    with IDSW / TP.
    """
    names = [f"scene-{j:04d}_{c}" for j in range(n_scenes) for c in CAMS]
    difficulty = np.repeat(rng.normal(0, 0.5, n_scenes), len(CAMS))
    gt = rng.poisson(150 * np.exp(np.repeat(rng.normal(0, 0.3, n_scenes), len(CAMS))))
    out = []
    for _ in range(2):
        quality = np.repeat(rng.normal(0, 0.4, n_scenes), len(CAMS)) + rng.normal(0, 0.05, len(names))
        tp = rng.binomial(gt, 1 / (1 + np.exp(-(1.0 + difficulty + quality))))
        fp = rng.poisson(20 * np.exp(-difficulty - quality))
        idsw = rng.poisson(4 * np.exp(-difficulty - quality))
        per_seq = {n: {"TP": int(t), "FN": int(g - t), "FP": int(f), "IDSW": int(i)}
                   for n, t, g, f, i in zip(names, tp, gt, fp, idsw)}
        if hota_rng is not None:
            hota = _hota_sums(hota_rng, gt, tp, fp, idsw, difficulty + quality)
            for n, row in zip(names, hota):
                per_seq[n].update(row)
        out.append(per_seq)
    return out


def _hota_sums(rng, gt, tp, fp, idsw, skill) -> list[dict[str, float]]:
    """Per sequence, HOTA's flat per-alpha count fields (HOTA_TP, HOTA_FN, HOTA_FP, AssA_TP)."""
    from detbench.evaluate.hota_counts import FIELDS

    mean_iou = 0.60 + 0.25 / (1 + np.exp(-skill))
    survival = 1.0 / (1.0 + np.exp((ALPHAS[None, :] - mean_iou[:, None]) / 0.07))   # P(IoU >= alpha)
    matched = np.empty((len(gt), len(ALPHAS)))
    alive = tp + rng.binomial(np.minimum(gt - tp, fp), 0.3)
    previous = np.ones(len(gt))
    for i in range(len(ALPHAS)):   # nested thinning: fewer matches at every stricter threshold
        alive = rng.binomial(alive, np.clip(survival[:, i] / np.maximum(previous, 1e-12), 0.0, 1.0))
        matched[:, i], previous = alive, survival[:, i]
    assa = (1.0 / (1.0 + 5.0 * idsw / np.maximum(tp, 1)) * rng.uniform(0.9, 1.0, len(gt)))[:, None] \
        * (1.0 - 0.25 * ALPHAS[None, :] ** 2)
    dets = (tp + fp)[:, None]
    rows = np.concatenate([matched, gt[:, None] - matched, dets - matched, assa * matched], axis=1)
    return [dict(zip(FIELDS, r.tolist())) for r in rows]


def null_runs(n_runs: int, n_scenes: int, seed: int = 2026) -> list[list[dict]]:
    """``n_runs`` seeded simulations (``rng`` seeded with ``seed`` as in the tests; HOTA from
    ``seed + 1``)."""
    rng, hota_rng = np.random.default_rng(seed), np.random.default_rng(seed + 1)
    return [simulate(rng, n_scenes, hota_rng) for _ in range(n_runs)]


def verdict_counts(runs, metric: str, n_resamples: int = 1000, n_draws: int = 10_000,
                   per_sequence: bool = False) -> dict[str, int]:
    """{"old", "new"[, "old_per_sequence"]}: runs with a verdict under each rule."""
    from detbench.compare.bootstrap import paired_bootstrap

    out = {"old": 0, "new": 0}
    if per_sequence:
        out["old_per_sequence"] = 0
    for i, (a, b) in enumerate(runs):
        r = paired_bootstrap(a, b, metric, n_resamples=n_resamples, seed=i, n_draws=n_draws)
        out["old"] += r.excludes_zero
        out["new"] += r.significant
        if per_sequence:
            # only the interval is read: the test's draws are cut to 100 (180 units make them slow)
            out["old_per_sequence"] += paired_bootstrap(a, b, metric, n_resamples=n_resamples, seed=i, n_draws=100,
                                                        cluster_of=lambda s: s).excludes_zero
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=1000)
    ap.add_argument("--scenes", default="8,30", help="comma-separated numbers of scenes (6 cameras each)")
    ap.add_argument("--metrics", default=",".join(METRICS))
    ap.add_argument("--resamples", type=int, default=1000, help="bootstrap resamples per run")
    ap.add_argument("--draws", type=int, default=10_000, help="test patterns drawn when not all are enumerated")
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--per-sequence", action="store_true", help="also the old rule with sequences resampled")
    args = ap.parse_args(argv)
    from detbench.compare.permutation import EXACT_MAX_SCENES

    t0 = time.perf_counter()
    print(f"null simulation: {args.runs} runs per size, no true change, 6 cameras per scene, seed {args.seed}; "
          f"bootstrap {args.resamples} resamples (seed = run index); permutation test exact up to "
          f"{EXACT_MAX_SCENES} scenes, else {args.draws} random swap patterns")
    print("| scenes | metric | old rule: interval excludes 0 | new rule: test p < 0.05 |"
          + (" old rule, sequences resampled |" if args.per_sequence else ""))
    print("|---:|---|---:|---:|" + ("---:|" if args.per_sequence else ""))
    for n_scenes in (int(s) for s in args.scenes.split(",")):
        runs = null_runs(args.runs, n_scenes, args.seed)
        for metric in args.metrics.split(","):
            c = verdict_counts(runs, metric, args.resamples, args.draws, args.per_sequence)
            cells = [f"{c[k]}/{args.runs} = {100 * c[k] / args.runs:.1f} %"
                     for k in ("old", "new", "old_per_sequence") if k in c]
            print(f"| {n_scenes} | {metric} | " + " | ".join(cells) + " |", flush=True)
    print(f"({time.perf_counter() - t0:.0f} s wall, load average {os.getloadavg()[0]:.1f}, {os.cpu_count()} CPUs)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
