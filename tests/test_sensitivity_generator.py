"""The sensitivity generator: measured recall / FP rate / jitter / AUC / confusion match the request."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from scipy.stats import norm

from detbench.core.types import iou_matrix
from detbench.data.mot import read_mot, read_seqinfo
from detbench.sensitivity.axes import PERFECT, Degradation
from detbench.sensitivity.degrade import DUPLICATE, RANDOM_FP, degrade_sequence, score_shift
from detbench.sensitivity.placement import auc, measure_split


def _table(n_frames=400, per_frame=5, w=80.0, h=60.0):
    """Static GT boxes far from each other and from the image border (no clipping, no overlap)."""
    rows = [[f, k + 1, 150 + 280 * k, 400, w, h, 1, 1 + k % 7, 1]
            for f in range(1, n_frames + 1) for k in range(per_frame)]
    return np.array(rows, dtype=np.float64)


def _xyxy(g):
    return np.column_stack([g[:, 2], g[:, 3], g[:, 2] + g[:, 4], g[:, 3] + g[:, 5]])


def test_perfect_point_is_the_ground_truth(real_fixture):
    seq = real_fixture / "sequences" / "scene-0103_CAM_FRONT"
    gt = read_mot(seq / "gt" / "gt.txt", kind="gt")
    info = read_seqinfo(seq / "seqinfo.ini")
    g = degrade_sequence(gt, info.length, info.width, info.height, PERFECT, seed=0)
    for f, (d, s) in enumerate(zip(g.dets, g.source), 1):
        rows = gt[(gt[:, 0] == f) & (gt[:, 4] >= 1) & (gt[:, 5] >= 1)]
        assert sorted(s.tolist()) == sorted(rows[:, 1].astype(int).tolist())
        by_id = {int(r[1]): r for r in rows}
        for row, tid in zip(d, s):
            r = by_id[int(tid)]
            np.testing.assert_allclose(row[:4], [r[2], r[3], r[2] + r[4], r[3] + r[5]], atol=1e-3)
            assert row[4] == 1.0 and row[5] == r[7] - 1


def test_recall_is_exact_and_misses_come_in_runs():
    gt = _table()
    spec = Degradation(recall=0.7, run_share=1.0, max_run=4)
    g = degrade_sequence(gt, 400, 1600, 900, spec, seed=1)
    k = len(gt)
    assert (~g.kept).sum() == round(0.3 * k)
    assert sum(len(d) for d in g.dets) == k - round(0.3 * k)
    # run_share=1: almost every missed box has a missed neighbour in its own track
    missed = {(int(r[1]), int(r[0])) for r in g.gt[~g.kept]}
    lonely = sum((tid, f - 1) not in missed and (tid, f + 1) not in missed for tid, f in missed)
    assert lonely / len(missed) < 0.05
    # run_share=0: single boxes, so about as many lonely misses as independent drops give (0.3^0 * 0.7^2)
    g0 = degrade_sequence(gt, 400, 1600, 900, replace(spec, run_share=0.0), seed=1)
    missed0 = {(int(r[1]), int(r[0])) for r in g0.gt[~g0.kept]}
    lonely0 = sum((t, f - 1) not in missed0 and (t, f + 1) not in missed0 for t, f in missed0) / len(missed0)
    assert abs(lonely0 - 0.49) < 0.05


@pytest.mark.parametrize("fp", [0.5, 3.0])
def test_false_positive_rate_duplicates_and_iou(fp):
    gt = _table()
    g = degrade_sequence(gt, 400, 1600, 900, Degradation(fp=fp, dup_share=0.5), seed=2)
    n_fp = np.array([(s < 0).sum() for s in g.source])
    sd = np.sqrt(fp / 400)  # Poisson mean over 400 frames
    assert abs(n_fp.mean() - fp) < 4 * sd
    kinds = np.concatenate(g.source)
    dup = (kinds == DUPLICATE).sum() / (kinds < 0).sum()
    assert abs(dup - 0.5) < 4 * np.sqrt(0.25 / (kinds < 0).sum())
    for f, (d, s) in enumerate(zip(g.dets, g.source), 1):
        false = d[s < 0]
        if len(false):
            assert iou_matrix(false[:, :4].astype(float), _xyxy(gt[gt[:, 0] == f])).max() < 0.5
    # and the placement measure sees the same rate (no true box is lost at jitter 0)
    m = measure_split([(gt, g.dets)], tau=0.0)  # ideal scores put false boxes at 0
    assert m["recall"] == 1.0 and m["fp"] == pytest.approx(n_fp.mean())
    assert set(np.unique(kinds[kinds < 0])) <= {RANDOM_FP, DUPLICATE}


@pytest.mark.parametrize("jitter", [0.03, 0.1])
def test_jitter_matches_request(jitter):
    gt = _table()
    g = degrade_sequence(gt, 400, 1600, 900, Degradation(jitter=jitter), seed=3)
    errs = []
    for f, (d, s) in enumerate(zip(g.dets, g.source), 1):
        rows = {int(r[1]): r for r in gt[gt[:, 0] == f]}
        for row, tid in zip(d, s):
            r = rows[int(tid)]
            w, h = row[2] - row[0], row[3] - row[1]
            errs.append([((row[0] + row[2]) / 2 - (r[2] + r[4] / 2)) / r[4], ((row[1] + row[3]) / 2 - (r[3] + r[5] / 2)) / r[5],
                         np.log(w / r[4]), np.log(h / r[5])])
    errs = np.array(errs)
    n = errs.size
    rms = np.sqrt(np.mean(errs ** 2))
    assert abs(rms - jitter) < 4 * jitter / np.sqrt(2 * n)  # sd of a sample std is sigma / sqrt(2n)
    np.testing.assert_allclose(errs.std(axis=0), jitter, rtol=0.1)  # each of the four errors on its own
    if jitter <= 0.05:  # IoU matching cuts nothing off at small jitter: the placement measure agrees
        assert measure_split([(gt, g.dets)])["jitter"] == pytest.approx(rms, rel=1e-3)


@pytest.mark.parametrize("target", [0.6, 0.9])
def test_score_auc_and_confusion_match_request(target):
    gt = _table()
    g = degrade_sequence(gt, 400, 1600, 900, Degradation(fp=5.0, score=target, confusion=0.2), seed=4)
    d, s = np.concatenate(g.dets), np.concatenate(g.source)
    a = auc(d[s >= 0, 4], d[s < 0, 4])
    n1, n2 = (s >= 0).sum(), (s < 0).sum()
    q1, q2 = target / (2 - target), 2 * target ** 2 / (1 + target)  # Hanley & McNeil standard error
    se = np.sqrt((target * (1 - target) + (n1 - 1) * (q1 - target ** 2) + (n2 - 1) * (q2 - target ** 2)) / (n1 * n2))
    assert abs(a - target) < 4 * se
    m = measure_split([(gt, g.dets)])
    assert abs(m["confusion"] - 0.2) < 4 * np.sqrt(0.16 / m["counts"]["matched"])
    assert abs(m["score"] - target) < 4 * se + 0.01


def test_binormal_shift():
    assert score_shift(0.5) == pytest.approx(0.0)
    assert norm.cdf(score_shift(0.8) / np.sqrt(2)) == pytest.approx(0.8)


def test_seeded():
    gt = _table(30)
    spec = Degradation(recall=0.8, fp=2, jitter=0.05, score=0.8, confusion=0.1)
    a = degrade_sequence(gt, 30, 1600, 900, spec, seed=5).dets
    b = degrade_sequence(gt, 30, 1600, 900, spec, seed=5).dets
    c = degrade_sequence(gt, 30, 1600, 900, spec, seed=6).dets
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert not all(x.shape == y.shape and np.array_equal(x, y) for x, y in zip(a, c))
