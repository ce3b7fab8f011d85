"""Bootstrap intervals and IDSW attribution on constructed cases with known answers."""
from __future__ import annotations

import numpy as np
import pytest

from detbench.compare.attribution import AttributionRules, count_causes, find_switches
from detbench.compare.bootstrap import paired_bootstrap


def _seqs(idsw, tp=100, fn=10, fp=5):
    return {f"s{i:02d}": {"IDSW": v, "TP": tp, "FN": fn, "FP": fp} for i, v in enumerate(idsw)}


def test_bootstrap_known_difference_is_covered_and_excludes_zero():
    rng = np.random.default_rng(1)
    a_idsw = rng.integers(8, 15, size=40)
    b_idsw = a_idsw - 3 + rng.integers(-1, 2, size=40)   # about 3 fewer switches per sequence
    a, b = _seqs(a_idsw), _seqs(b_idsw)
    res = paired_bootstrap(a, b, "IDSW", n_resamples=2000, seed=0)
    true_delta = int(b_idsw.sum() - a_idsw.sum())
    assert res.delta == true_delta
    assert res.low <= true_delta <= res.high
    assert res.high < 0 and res.excludes_zero
    assert "better" in res.verdict("epoch10", "epoch30")  # fewer switches is better
    assert res.n_resamples == 2000 and res.n_sequences == 40


def test_bootstrap_mota_from_summed_counts():
    a = {"x": {"TP": 90, "FN": 10, "FP": 5, "IDSW": 5}, "y": {"TP": 40, "FN": 60, "FP": 0, "IDSW": 0}}
    b = {"x": {"TP": 95, "FN": 5, "FP": 5, "IDSW": 0}, "y": {"TP": 40, "FN": 60, "FP": 0, "IDSW": 0}}
    res = paired_bootstrap(a, b, "MOTA", n_resamples=200, seed=0)
    # by hand: GT = 200 for both; a errors 10+5+5+60 = 80 -> 0.6; b errors 5+5+0+60 = 70 -> 0.65
    assert res.value_a == pytest.approx(0.6)
    assert res.value_b == pytest.approx(0.65)


def test_bootstrap_identical_inputs_includes_zero_and_gives_no_verdict():
    a = _seqs(np.arange(20) % 7)
    res = paired_bootstrap(a, dict(a), "IDSW", n_resamples=500, seed=3)
    assert res.low == 0 and res.high == 0 and res.delta == 0
    assert not res.excludes_zero and res.verdict("a", "b") is None


def _rows(frames, tid, box, cls=1, score=1.0):
    x, y, w, h = box
    return [[f, tid, x, y, w, h, score, cls, 1.0] for f in frames]


def test_attribution_gap():
    gt = np.array(_rows(range(1, 7), 1, (500, 400, 50, 50)))
    res = np.array(_rows([1, 2], 10, (500, 400, 50, 50)) + _rows([4, 5, 6], 11, (500, 400, 50, 50)))
    sw = find_switches(gt, res, num_frames=6)
    assert [(s.frame, s.gt_id, s.prev_track_id, s.track_id, s.cause, s.gap_frames) for s in sw] == \
        [(4, 1, 10, 11, "gap", 1)]


def test_attribution_crossing_swap():
    a, b = (500, 400, 100, 100), (560, 400, 100, 100)   # IoU(a, b) = 40*100 / (2*10000 - 4000) = 0.25
    b = (550, 400, 100, 100)                             # IoU = 50*100 / 15000 = 0.333 >= 0.3
    gt = np.array(_rows(range(1, 5), 1, a) + _rows(range(1, 5), 2, b))
    res = np.array(_rows([1, 2], 20, a) + _rows([1, 2], 21, b) + _rows([3, 4], 21, a) + _rows([3, 4], 20, b))
    sw = find_switches(gt, res, num_frames=4)
    assert len(sw) == 2 and {s.cause for s in sw} == {"crossing"} and {s.frame for s in sw} == {3}


@pytest.mark.parametrize("box,score,expected", [
    ((800, 400, 60, 60), 0.3, "low_score"),
    ((0, 400, 60, 60), 0.9, "border"),
    ((800, 400, 60, 60), 0.9, "other"),
])
def test_attribution_low_score_border_other(box, score, expected):
    gt = np.array(_rows(range(1, 5), 1, box))
    res = np.array(_rows([1, 2], 10, box) + _rows([3, 4], 11, box, score=score))
    sw = find_switches(gt, res, num_frames=4)
    assert [s.cause for s in sw] == [expected]
    assert count_causes(sw)[expected] == 1 and sum(count_causes(sw).values()) == 1


def test_attribution_class_change_only_agnostic():
    gt = np.array(_rows(range(1, 5), 1, (800, 400, 60, 60), cls=1))
    res = np.array(_rows([1, 2], 10, (800, 400, 60, 60), cls=1) + _rows([3, 4], 11, (800, 400, 60, 60), cls=2))
    assert [s.cause for s in find_switches(gt, res, 4, per_class=False)] == ["class_change"]
    # per class, the class-2 track never matches the class-1 object: a miss, not a switch
    assert find_switches(gt, res, 4, per_class=True) == []


def test_rules_are_stated():
    assert len(AttributionRules().describe()) == 6
