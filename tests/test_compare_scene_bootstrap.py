"""Bootstrap intervals resample scenes (all cameras of a drawn scene together), not sequences."""
from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pytest

from detbench.compare.bootstrap import paired_bootstrap

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

import bench_null_verdicts  # noqa: E402

CAMS = ("CAM_FRONT", "CAM_FRONT_RIGHT", "CAM_BACK_RIGHT", "CAM_BACK", "CAM_BACK_LEFT", "CAM_FRONT_LEFT")


def test_scene_of_strips_the_camera():
    from detbench.compare.bootstrap import scene_of

    assert scene_of("scene-0103_CAM_FRONT") == "scene-0103"
    assert scene_of("scene-0103_CAM_FRONT_LEFT") == "scene-0103"
    assert scene_of("synth-0018_CAM_BACK") == "synth-0018"
    assert scene_of("MOT17-02") == "MOT17-02"   # no camera suffix: its own scene


def test_each_resample_draws_whole_scenes():
    from detbench.compare.bootstrap import scene_resample

    # scene x: 3 cameras with IDSW 1, 2, 4 (total 7); scene y: 3 cameras with 10, 20, 40 (total 70)
    per_seq = {f"x_{c}": {"IDSW": v} for c, v in zip(CAMS, (1, 2, 4))}
    per_seq.update({f"y_{c}": {"IDSW": v} for c, v in zip(CAMS, (10, 20, 40))})
    draws = scene_resample(list(per_seq), n_resamples=500, seed=0)
    assert draws.scenes == ("x", "y") and len(draws.sequences) == 6
    sums = set(draws.sums(per_seq, ["IDSW"])[:, 0].tolist())
    assert sums == {14.0, 77.0, 140.0}   # x+x, x+y, y+y: never a mix of single cameras
    assert draws.totals(per_seq, ["IDSW"])[0, 0] == 77
    # resampling sequences as if independent mixes cameras (what the intervals used to do)
    per_cam = scene_resample(list(per_seq), n_resamples=500, seed=0, cluster_of=lambda s: s)
    assert len(set(per_cam.sums(per_seq, ["IDSW"])[:, 0].tolist()) - {14.0, 77.0, 140.0}) > 10


def test_paired_draws_and_counts_summed_over_the_drawn_scenes():
    from detbench.compare.bootstrap import scene_resample

    # b has exactly one more switch than a on every sequence; scene p has 1 camera, scene q has 5:
    # a resample draws (p, p), (p, q) or (q, q), so b - a is 2, 6 or 10 switches, never anything else
    seqs = ["p_CAM_FRONT"] + [f"q_{c}" for c in CAMS[:5]]
    a = {s: {"IDSW": i, "TP": 50, "FN": 5, "FP": 3} for i, s in enumerate(seqs)}
    b = {s: dict(v, IDSW=v["IDSW"] + 1) for s, v in a.items()}
    res = paired_bootstrap(a, b, "IDSW", n_resamples=400, seed=1)
    assert (res.n_scenes, res.n_sequences, res.delta) == (2, 6, 6)
    draws = scene_resample(seqs, n_resamples=400, seed=1)
    deltas = draws.sums(b, ["IDSW"])[:, 0] - draws.sums(a, ["IDSW"])[:, 0]
    assert set(deltas.tolist()) == {2.0, 6.0, 10.0}
    assert (res.low, res.high) == (2.0, 10.0)


def test_expanded_percentile_tails():
    from detbench.compare.bootstrap import interval

    # n = 30: t_{0.975, 29} = 2.045230, * sqrt(30 / 29) = 2.080196, Phi(-2.080196) = 0.018754
    low, high = interval(np.linspace(0.0, 1.0, 1_000_001), 30)
    assert low == pytest.approx(0.018754, abs=2e-6) and high == pytest.approx(1 - 0.018754, abs=2e-6)
    # many scenes: close to the plain 2.5 % (n = 10,000: t = 1.960201, * 1.00005 -> 0.024980)
    assert interval(np.linspace(0.0, 1.0, 1_000_001), 10_000)[0] == pytest.approx(0.024980, abs=2e-6)
    # one scene: resampling cannot measure a spread, so there is no interval and no verdict
    assert all(math.isnan(v) for v in interval(np.zeros(10), 1))
    a = {"s_CAM_FRONT": {"IDSW": 1}, "s_CAM_BACK": {"IDSW": 2}}
    res = paired_bootstrap(a, {k: {"IDSW": 9} for k in a}, "IDSW", n_resamples=50)
    assert res.n_scenes == 1 and not res.excludes_zero and res.verdict("a", "b") is None
    assert res.low is None and res.high is None   # JSON null, not NaN


def test_tails_are_scipy_stats_own_to_the_last_bit():
    """``interval`` takes norm.cdf and t.ppf from scipy.special (scipy.stats costs a second to
    import in every ``compare``): the same floats as scipy.stats gives, for every scene count."""
    from scipy import stats

    from detbench.compare.bootstrap import interval

    deltas = np.random.default_rng(0).normal(size=2001)
    for n in [*range(2, 200), 1000, 10_000]:
        for level in (0.9, 0.95, 0.99):
            tail = float(stats.norm.cdf(-np.sqrt(n / (n - 1)) * stats.t.ppf(0.5 + level / 2, n - 1)))
            expected = tuple(float(v) for v in np.quantile(deltas, [tail, 1.0 - tail]))
            assert interval(deltas, n, level) == expected, (n, level)


RUNS = 200


@pytest.fixture(scope="module")
def null_runs():
    # the design of benchmarks/bench_null_verdicts.py (its 200-run, 30-scene table: --runs 200 --scenes 30
    # --per-sequence); docs/tuning-and-comparison.md cites that script's figures
    return bench_null_verdicts.null_runs(RUNS, 30, seed=2026)


def _verdicts(runs, metric, **kw) -> int:
    """Runs whose interval excludes zero (the rule before the permutation test decided; the test's
    own draws are cut to 100 here: only the interval is read)."""
    return sum(paired_bootstrap(a, b, metric, n_resamples=1000, seed=i, n_draws=100, **kw).excludes_zero
               for i, (a, b) in enumerate(runs))


@pytest.mark.parametrize("metric", ["IDSW", "MOTA"])
def test_no_true_change_rarely_gives_an_interval_that_excludes_zero(null_runs, metric):
    assert _verdicts(null_runs, metric) <= 0.08 * RUNS


@pytest.mark.parametrize("metric", ["IDSW", "MOTA"])
def test_resampling_cameras_as_independent_gives_false_verdicts(null_runs, metric):
    # the same design, the same seeds, sequences resampled as before: far too many verdicts
    assert _verdicts(null_runs, metric, cluster_of=lambda s: s) >= 0.25 * RUNS


def test_tables_say_how_many_scenes_the_interval_rests_on():
    from detbench.compare import report

    seqs = [f"scene-{j}_{c}" for j in range(2) for c in CAMS[:3]]
    a = {s: {"IDSW": 3, "TP": 50, "FN": 5, "FP": 3} for s in seqs}
    b = {s: dict(v, IDSW=1 + i) for i, (s, v) in enumerate(a.items())}
    r = paired_bootstrap(a, b, "IDSW", n_resamples=100, seed=0)
    overall = {"IDSW": 3, "MOTA": 0.5, "HOTA": 0.5, "IDF1": 0.5, "DetA": 0.5, "AssA": 0.5, "FP": 3, "FN": 5,
               "MT": 1, "ML": 0}
    pairs = [{"detector": d, "tracker": "iou", "status": "ok", "overall": overall, "per_class_idsw": {},
              "attribution": {}, "per_sequence": {s: {} for s in seqs}} for d in ("e1", "e2")]
    result = {"name": "t", "split": "val", "data": "d", "n_sequences": 6, "n_scenes": 2, "detectors": ["e1", "e2"],
              "trackers": ["iou"], "pairs": pairs, "attribution_rules": [],
              "bootstrap": {"n_resamples": 100, "seed": 0},
              "deltas": [{"tracker": "iou", "metrics": {"IDSW": dict(r.to_dict(), verdict=None)}}]}
    md = report.markdown(result)
    assert "6 sequences of 2 scenes" in md and "intervals over scenes" in md
    assert "| iou | IDSW | 18 | 21 | +3 |" in md and "| 2 (6) |" in md
    rows = report.csv_text(result).splitlines()
    assert rows[0].endswith(",n_scenes,n_sequences") and rows[1].endswith(",2,6")


def test_one_scene_has_no_interval_in_any_table_or_plot(tmp_path):
    import json

    from detbench.compare import plots, report

    seqs = [f"scene-0103_{c}" for c in CAMS]   # the real fixture: one scene, six cameras
    a = {s: {"IDSW": 3, "TP": 50, "FN": 5, "FP": 3} for s in seqs}
    r = paired_bootstrap(a, {s: dict(v, IDSW=5) for s, v in a.items()}, "IDSW", n_resamples=50)
    overall = {"IDSW": 18, "MOTA": 0.5, "HOTA": 0.5, "IDF1": 0.5, "DetA": 0.5, "AssA": 0.5, "FP": 3, "FN": 5,
               "MT": 1, "ML": 0}
    pairs = [{"detector": d, "tracker": "iou", "status": "ok", "overall": overall, "per_class_idsw": {},
              "attribution": {}, "per_sequence": {s: {} for s in seqs}} for d in ("e1", "e2")]
    result = {"name": "t", "split": "val", "data": "d", "n_sequences": 6, "n_scenes": 1, "detectors": ["e1", "e2"],
              "trackers": ["iou"], "pairs": pairs, "attribution_rules": [],
              "bootstrap": {"n_resamples": 50, "seed": 0},
              "deltas": [{"tracker": "iou", "metrics": {"IDSW": dict(r.to_dict(), verdict=None)}}]}
    assert "| iou | IDSW | 18 | 30 | +12 | one scene: no interval | 1 (6) | — |" in report.markdown(result)
    report.write_all(result, tmp_path)
    saved = (tmp_path / "comparison.json").read_text()
    assert "NaN" not in saved and json.loads(saved)["deltas"][0]["metrics"]["IDSW"]["low"] is None
    assert plots.pair_bars(result, tmp_path / "comparison.png").is_file()
