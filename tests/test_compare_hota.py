"""HOTA recombined from per-sequence counts equals TrackEval's own combination."""
from __future__ import annotations

import numpy as np
import pytest
from trackeval.metrics import HOTA

from detbench.compare.bootstrap import paired_bootstrap
from detbench.evaluate.hota_counts import flatten_hota, hota_from_counts
from detbench.evaluate.metric_specs import bootstrap_rules


def _random_sequence(rng, frames=12, n_gt=4, n_trk=5):
    gt_ids, trk_ids, sims = [], [], []
    for _ in range(frames):
        g = np.sort(rng.choice(n_gt, size=rng.integers(1, n_gt + 1), replace=False))
        t = np.sort(rng.choice(n_trk, size=rng.integers(1, n_trk + 1), replace=False))
        gt_ids.append(g)
        trk_ids.append(t)
        sims.append(rng.uniform(0, 1, size=(len(g), len(t))))
    return {"num_timesteps": frames, "gt_ids": gt_ids, "tracker_ids": trk_ids, "similarity_scores": sims,
            "num_gt_ids": n_gt, "num_tracker_ids": n_trk,
            "num_gt_dets": sum(len(g) for g in gt_ids), "num_tracker_dets": sum(len(t) for t in trk_ids)}


def _flat(res):
    return flatten_hota(res["HOTA_TP"], res["HOTA_FN"], res["HOTA_FP"], res["AssA"])


def test_hota_from_counts_matches_trackeval_combine():
    rng = np.random.default_rng(0)
    metric = HOTA()
    per_seq = {f"s{i}": metric.eval_sequence(_random_sequence(rng)) for i in range(5)}
    combined = metric.combine_sequences(per_seq)
    fields, fn, _ = bootstrap_rules()["HOTA"]
    summed = np.array([[sum(_flat(r)[f] for r in per_seq.values()) for f in fields]])
    assert fn(summed)[0] == pytest.approx(float(np.mean(combined["HOTA"])), abs=1e-12)
    # and a single sequence gives that sequence's own HOTA
    one = per_seq["s0"]
    assert hota_from_counts(np.array([[_flat(one)[f] for f in fields]]))[0] == pytest.approx(float(np.mean(one["HOTA"])))


def test_hota_bootstrap_runs_on_flat_counts():
    rng = np.random.default_rng(1)
    metric = HOTA()
    a = {f"s{i}": _flat(metric.eval_sequence(_random_sequence(rng))) for i in range(6)}
    res = paired_bootstrap(a, dict(a), "HOTA", n_resamples=100, seed=0)
    assert res.delta == 0 and res.low == 0 and res.high == 0 and 0 < res.value_a < 1
