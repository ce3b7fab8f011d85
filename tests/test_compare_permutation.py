"""The verdict comes from a paired permutation test over scenes: swap the two detectors' counts
within scenes, recompute the metric from the summed counts; exact under no change."""
from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pytest

from detbench.compare.bootstrap import BootstrapResult, no_verdict_reason, paired_bootstrap
from detbench.compare.permutation import EXACT_MAX_SCENES, sign_flip_test, swap_patterns
from detbench.evaluate import metric_specs

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

from bench_null_verdicts import null_runs  # noqa: E402

RULES = metric_specs.bootstrap_rules()


def _idsw(values) -> np.ndarray:
    return np.asarray(values, dtype=float)[:, None]


def test_p_value_by_hand():
    # IDSW changes +1, +2, +4 over 3 scenes: the 8 swap patterns give sums 7, 5, 3, 1, -1, -3, -5, -7;
    # |sum| >= 7 for 2 of them: p = 2/8
    fields, fn, _ = RULES["IDSW"]
    res = sign_flip_test(_idsw([0, 0, 0]), _idsw([1, 2, 4]), fn)
    assert (res.p_value, res.n_patterns, res.exact) == (0.25, 8, True)
    # +3, +2, -1 (observed +4): sums 6, 4, 2, 0, 0, -2, -4, -6: |sum| >= 4 for 4 of 8
    assert sign_flip_test(_idsw([5, 5, 5]), _idsw([8, 7, 4]), fn).p_value == 0.5
    # no change at all: every pattern ties, p = 1
    assert sign_flip_test(_idsw([3, 1, 2]), _idsw([3, 1, 2]), fn).p_value == 1.0
    # 5 scenes, all worse: the smallest p of 5 scenes is 2/32 = 0.0625, never a verdict at 0.05
    assert sign_flip_test(_idsw([0] * 5), _idsw([9] * 5), fn).p_value == 2 / 32
    assert sign_flip_test(_idsw([0] * 6), _idsw([9] * 6), fn).p_value == 2 / 64
    assert sign_flip_test(_idsw([1]), _idsw([9]), fn) is None   # one scene: nothing to swap


@pytest.mark.parametrize("metric,n", [("IDSW", 6), ("MOTA", 7), ("HOTA", 9)])
def test_same_p_value_as_scipy_permutation_test(metric, n):
    """scipy.stats.permutation_test (paired 'samples': it swaps x[i] and y[i] itself, all 2^n ways)
    on scene indices whose statistic sums the indexed scenes' counts: the same exact p-value."""
    from scipy import stats

    fields, fn, _ = RULES[metric]
    a, b = null_runs(1, n, seed=7 + n)[0]
    rows_a = np.array([[sum(v[f] for s, v in a.items() if s.startswith(f"scene-{j:04d}_")) for f in fields]
                       for j in range(n)])
    rows_b = np.array([[sum(v[f] for s, v in b.items() if s.startswith(f"scene-{j:04d}_")) for f in fields]
                       for j in range(n)])
    rows = np.vstack([rows_a, rows_b])

    def statistic(x, y):
        return fn(rows[y.astype(int)].sum(axis=0)[None])[0] - fn(rows[x.astype(int)].sum(axis=0)[None])[0]

    ref = stats.permutation_test((np.arange(n), np.arange(n) + n), statistic, permutation_type="samples",
                                 vectorized=False, n_resamples=np.inf, alternative="two-sided")
    ours = sign_flip_test(rows_a, rows_b, fn)
    assert ours.exact and ours.n_patterns == 2 ** n
    assert ours.p_value == pytest.approx(ref.pvalue, abs=1e-12)


def test_exact_whatever_the_data():
    """Exactness, without sampling error: under no change every relabelling of a data set (which
    detector's counts of each scene are called a) is equally likely, and over all 2^n relabellings
    of any data set p < 0.05 comes up in exactly 12 of 256 at 8 scenes (4.69 %), never more."""
    for metric in ("IDSW", "MOTA", "HOTA"):
        fields, fn, _ = RULES[metric]
        a, b = null_runs(1, 8, seed=11)[0]
        res = paired_bootstrap(a, b, metric, n_resamples=10)
        assert res.test_exact and res.test_patterns == 256
        scenes = sorted({s.split("_")[0] for s in a})
        rows_a = np.array([[sum(v[f] for s, v in a.items() if s.startswith(sc)) for f in fields] for sc in scenes])
        rows_b = np.array([[sum(v[f] for s, v in b.items() if s.startswith(sc)) for f in fields] for sc in scenes])
        patterns, _ = swap_patterns(8)
        significant = sum(sign_flip_test(np.where(s[:, None] > 0, rows_b, rows_a),
                                         np.where(s[:, None] > 0, rows_a, rows_b), fn).p_value < 0.05
                          for s in patterns)
        assert significant == 12, metric


def test_many_scenes_draw_patterns_close_to_the_exact_p(monkeypatch):
    from detbench.compare import permutation

    fields, fn, _ = RULES["MOTA"]
    n = EXACT_MAX_SCENES + 2
    rng = np.random.default_rng(3)
    a = np.column_stack([rng.integers(80, 120, n), rng.integers(5, 30, n), rng.integers(0, 20, n),
                         rng.integers(0, 6, n)]).astype(float)
    b = a + np.column_stack([rng.integers(-3, 8, n), np.zeros(n), rng.integers(-4, 3, n), rng.integers(-1, 3, n)])
    b[:, 1] = a[:, 0] + a[:, 1] - b[:, 0]   # the same ground truth: FN = GT - TP
    drawn = sign_flip_test(a, b, fn, n_draws=20_000, seed=5)
    assert not drawn.exact and drawn.n_patterns == 20_000
    assert sign_flip_test(a, b, fn, n_draws=20_000, seed=5) == drawn   # seeded
    monkeypatch.setattr(permutation, "EXACT_MAX_SCENES", n)
    exact = sign_flip_test(a, b, fn)
    assert exact.exact and exact.n_patterns == 2 ** n
    # Monte Carlo error of a p from 20,000 draws: sd sqrt(p (1 - p) / 20,000); 4 sd
    assert abs(drawn.p_value - exact.p_value) <= 4 * math.sqrt(exact.p_value * (1 - exact.p_value) / 20_000) + 1e-4
    assert 0.001 < exact.p_value < 0.5     # a case where the draws matter


def test_the_test_decides_the_verdict_and_the_interval_is_shown_beside_it():
    # 5 scenes, each with one more switch: the interval is [+5, +5] (it excludes 0) but p = 2/32
    a = {f"s{j}_CAM_FRONT": {"IDSW": 2} for j in range(5)}
    res = paired_bootstrap(a, {s: {"IDSW": 3} for s in a}, "IDSW", n_resamples=200)
    assert res.excludes_zero and res.p_value == 0.0625 and not res.significant
    assert res.verdict("e1", "e2") is None
    assert no_verdict_reason(res.to_dict()) == "no verdict (p = 0.062 >= 0.05; the interval excludes 0, the test decides)"
    # 6 scenes: p = 2/64, a verdict, with its p-value and the interval
    a6 = dict(a, s5_CAM_FRONT={"IDSW": 2})
    res6 = paired_bootstrap(a6, {s: {"IDSW": 3} for s in a6}, "IDSW", n_resamples=200)
    assert res6.significant and res6.to_dict()["significant"] is True
    assert res6.verdict("e1", "e2") == "e2 worse than e1 on IDSW: +6 (p = 0.031; 95% CI +6 .. +6)"
    # the test below 0.05 with an interval that includes 0: the verdict stands and says so
    odd = BootstrapResult("MOTA", 0.5, 0.52, 0.02, -0.001, 0.04, 100, 8, 8, 0, True, p_value=0.04,
                          test_patterns=256)
    assert odd.verdict("e1", "e2").endswith("(p = 0.04; 95% CI -0.001 .. +0.04); the interval includes 0, "
                                            "the test decides")
    one = paired_bootstrap({"s_CAM_FRONT": {"IDSW": 1}}, {"s_CAM_FRONT": {"IDSW": 5}}, "IDSW", n_resamples=20)
    assert one.p_value is None and one.verdict("e1", "e2") is None
    assert no_verdict_reason(one.to_dict()) == "no verdict (one scene: no test)"


# --- the reduced null simulation (benchmarks/bench_null_verdicts.py runs 1,000 runs per size) ----------
# Under no change the count X of runs with a verdict is binomial; for a rule at its stated 5 % level
# E[X] <= 0.05 R and sd = sqrt(0.05 * 0.95 * R). The bound allows 2.33 sd (a correct rule stays under it
# with probability 99 %); the simulation is seeded, so the counts are the same on every machine.
def _bound(runs: int) -> float:
    return 0.05 * runs + 2.33 * math.sqrt(0.05 * 0.95 * runs)


@pytest.mark.parametrize("n_scenes,runs,draws", [(8, 300, 0), (30, 120, 2000)])
def test_reduced_null_simulation_verdicts_at_their_level(n_scenes, runs, draws):
    sims = null_runs(runs, n_scenes, seed=4242)
    for metric in ("IDSW", "MOTA", "HOTA"):
        verdicts = sum(paired_bootstrap(a, b, metric, n_resamples=20, seed=i, n_draws=draws or 10_000).significant
                       for i, (a, b) in enumerate(sims))
        assert verdicts <= _bound(runs), (metric, verdicts, runs)
