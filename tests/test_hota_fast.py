"""FastHOTA equals TrackEval's HOTA exactly: every field, ``==`` (no tolerance), same types.

Seeded random data dicts: crowded and sparse frames, empty frames on either side, whole
sequences empty on either side, ids that appear late, similarities on a coarse grid (ties in
the assignment, values exactly on the alpha thresholds) and continuous ones. Plus real
sequences through detbench's matching (per class and agnostic) and the combine rules.
"""
from __future__ import annotations

import numpy as np
import pytest
from trackeval.metrics import HOTA

from detbench.evaluate.hota_fast import FastHOTA

REF, FAST = HOTA(), FastHOTA()


def random_data(rng: np.random.Generator) -> dict:
    """A TrackEval data dict with random ids, presence and similarities."""
    T = int(rng.integers(1, 25))
    n_gt_ids, n_tr_ids = int(rng.integers(0, 12)), int(rng.integers(0, 15))
    p_gt, p_tr = rng.uniform(0.1, 1.0), rng.uniform(0.1, 1.0)
    grid = rng.random() < 0.5  # coarse grid: ties and values exactly on alpha thresholds
    gt_ids, tr_ids, sims = [], [], []
    for _ in range(T):
        g = np.flatnonzero(rng.random(n_gt_ids) < p_gt)
        r = np.flatnonzero(rng.random(n_tr_ids) < p_tr)
        if rng.random() < 0.15:
            g = g[:0]
        if rng.random() < 0.15:
            r = r[:0]
        g, r = rng.permutation(g), rng.permutation(r)
        if grid:
            s = rng.integers(0, 21, size=(len(g), len(r))) * 0.05
        else:
            s = rng.random((len(g), len(r)))
        s[rng.random(s.shape) < 0.4] = 0.0
        gt_ids.append(g.astype(np.int64))
        tr_ids.append(r.astype(np.int64))
        sims.append(s)
    # TrackEval's ids are contiguous over the sequence: relabel the ids present
    for ids in (gt_ids, tr_ids):
        present = np.unique(np.concatenate(ids)) if ids else np.zeros(0, np.int64)
        lut = np.full(max(n_gt_ids, n_tr_ids) + 1, -1, dtype=np.int64)
        lut[present] = np.arange(len(present))
        for t in range(T):
            ids[t] = lut[ids[t]]
    return {"num_timesteps": T, "gt_ids": gt_ids, "tracker_ids": tr_ids, "similarity_scores": sims,
            "num_gt_dets": sum(len(g) for g in gt_ids), "num_tracker_dets": sum(len(r) for r in tr_ids),
            "num_gt_ids": len(np.unique(np.concatenate(gt_ids))),
            "num_tracker_ids": len(np.unique(np.concatenate(tr_ids)))}


def assert_identical(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for k in a:
        x, y = a[k], b[k]
        assert type(x) is type(y), k
        if isinstance(x, np.ndarray):
            assert x.dtype == y.dtype and x.shape == y.shape, k
            assert np.array_equal(x, y), (k, x, y)
        else:
            assert x == y, (k, x, y)


@pytest.mark.parametrize("seed", range(400))
def test_equal_to_trackeval_random(seed):
    data = random_data(np.random.default_rng(seed))
    assert_identical(FAST.eval_sequence(data), REF.eval_sequence(data))


def test_random_cases_cover_the_edges():
    """The seeded cases above include the situations the docstring promises."""
    seen = {"empty_gt_seq": 0, "empty_tr_seq": 0, "empty_frame": 0, "on_threshold": 0}
    for seed in range(400):
        d = random_data(np.random.default_rng(seed))
        seen["empty_gt_seq"] += d["num_gt_dets"] == 0
        seen["empty_tr_seq"] += d["num_tracker_dets"] == 0
        seen["empty_frame"] += any(len(g) == 0 or len(r) == 0 for g, r in zip(d["gt_ids"], d["tracker_ids"]))
        seen["on_threshold"] += any(np.isin(np.round(s, 12), np.round(REF.array_labels, 12)).any()
                                    for s in d["similarity_scores"])
    assert all(v >= 5 for v in seen.values()), seen


def test_combined_over_sequences_equal():
    """TrackEval's own combine rules give the same combined result from either class's output."""
    datas = [random_data(np.random.default_rng(1000 + i)) for i in range(30)]
    fast = {str(i): FAST.eval_sequence(d) for i, d in enumerate(datas)}
    ref = {str(i): REF.eval_sequence(d) for i, d in enumerate(datas)}
    assert_identical(FAST.combine_sequences(fast), REF.combine_sequences(ref))
    assert_identical(FAST.combine_classes_det_averaged(fast), REF.combine_classes_det_averaged(ref))


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("per_class", [True, False])
def test_equal_through_detbench_matching(seed, per_class):
    """Data dicts built by detbench from synthetic sequences (3 classes, jitter, drops, FPs)."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
    from bench_eval import make_sequence

    from detbench.evaluate.matching import match_sequence, trackeval_data

    gt, res = make_sequence(np.random.default_rng(seed), frames=12, objects=10 + 5 * seed)
    seq = match_sequence("s", gt, res, 12, per_class=per_class)
    for g in seq.groups():
        data = trackeval_data(seq, g)
        assert_identical(FAST.eval_sequence(data), REF.eval_sequence(data))


@pytest.mark.parametrize("classes", ["per-class", "agnostic"])
def test_evaluate_folders_same_json_with_trackeval_hota(tmp_path, classes):
    """``evaluate_folders`` (FastHOTA) and its reference path (``trackeval_hota=True``) agree on
    every figure, per sequence, per class and overall (and with the cross-check on)."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
    from bench_eval import make_sequence

    from detbench.data.mot import write_mot
    from detbench.evaluate.api import evaluate_folders

    rng = np.random.default_rng(7)
    for i in range(4):
        gt, res = make_sequence(rng, frames=10, objects=12)
        write_mot(tmp_path / "gt" / f"s{i}" / "gt" / "gt.txt", gt)
        write_mot(tmp_path / "res" / f"s{i}.txt", res)
    fast = evaluate_folders(tmp_path / "gt", tmp_path / "res", classes=classes, check=True, hota_counts=True)
    ref = evaluate_folders(tmp_path / "gt", tmp_path / "res", classes=classes, trackeval_hota=True,
                           hota_counts=True)
    assert fast == ref
