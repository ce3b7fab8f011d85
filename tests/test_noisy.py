"""GT-derived noisy detections: exact when noise is off, statistics match the arguments, seeded."""
from __future__ import annotations

import numpy as np
import pytest

from detbench.core.errors import InputError
from detbench.data.mot import read_mot, read_seqinfo
from detbench.data.noisy import noisy_detections


def _centre_table(n_frames=500, per_frame=4, w=100.0, h=80.0):
    """GT boxes far from the image border, so clipping never touches them."""
    rows = []
    for f in range(1, n_frames + 1):
        for k in range(per_frame):
            rows.append([f, k + 1, 600 + 50 * k, 400, w, h, 1, 1 + k % 7, 1])
    return np.array(rows, dtype=np.float64)


def test_no_noise_reproduces_ground_truth(real_fixture):
    seq = real_fixture / "sequences" / "scene-0103_CAM_FRONT"
    gt = read_mot(seq / "gt" / "gt.txt", kind="gt")
    info = read_seqinfo(seq / "seqinfo.ini")
    dets, src = noisy_detections(gt, info.length, info.width, info.height, seed=3, jitter=0.0, drop=0.0,
                                 fp_rate=0.0, with_source=True)
    assert len(dets) == info.length
    for f, (d, s) in enumerate(zip(dets, src), 1):
        g = gt[gt[:, 0] == f]
        g = g[(g[:, 4] >= 1) & (g[:, 5] >= 1)]
        by_id = {int(r[1]): r for r in g}
        assert sorted(s.tolist()) == sorted(by_id)
        assert d.dtype == np.float32 and d.shape == (len(g), 6)
        for row, tid in zip(d, s):
            r = by_id[int(tid)]
            np.testing.assert_allclose(row[:4], [r[2], r[3], r[2] + r[4], r[3] + r[5]], atol=1e-3)
            assert row[5] == r[7] - 1
            assert 0.5 <= row[4] <= 1.0
        assert np.all(np.diff(d[:, 4]) <= 0)  # detector order: descending score


def test_seeded_and_seed_sensitive():
    gt = _centre_table(20)
    a = noisy_detections(gt, 20, 1600, 900, seed=7)
    b = noisy_detections(gt, 20, 1600, 900, seed=7)
    c = noisy_detections(gt, 20, 1600, 900, seed=8)
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert not all(x.shape == y.shape and np.array_equal(x, y) for x, y in zip(a, c))


def test_drop_rate_matches_probability():
    gt = _centre_table(500)  # 2000 boxes
    dets = noisy_detections(gt, 500, 1600, 900, seed=0, jitter=0.0, drop=0.3, fp_rate=0.0)
    kept = sum(len(d) for d in dets)
    n, p = len(gt), 0.7
    assert abs(kept - n * p) < 4 * np.sqrt(n * p * (1 - p))


def test_jitter_has_the_requested_spread():
    gt = _centre_table(500)
    dets, src = noisy_detections(gt, 500, 1600, 900, seed=1, jitter=0.1, drop=0.0, fp_rate=0.0,
                                 with_source=True)
    dx, logw = [], []
    for d, s in zip(dets, src):
        for row, tid in zip(d, s):
            k = tid - 1
            gcx = 600 + 50 * k + 50.0
            dx.append(((row[0] + row[2]) / 2 - gcx) / 100.0)
            logw.append(np.log((row[2] - row[0]) / 100.0))
    assert len(dx) == 2000
    assert abs(np.mean(dx)) < 0.01 and 0.09 < np.std(dx) < 0.11
    assert abs(np.mean(logw)) < 0.01 and 0.09 < np.std(logw) < 0.11


def test_false_positive_rate_and_scores():
    dets, src = noisy_detections(np.zeros((0, 9)), 2000, 1600, 900, seed=2, fp_rate=2.0, with_source=True)
    counts = np.array([len(d) for d in dets])
    assert abs(counts.mean() - 2.0) < 4 * np.sqrt(2.0 / 2000)
    allrows = np.concatenate(dets)
    assert (np.concatenate(src) == -1).all()
    assert allrows[:, 4].min() >= 0.05 and allrows[:, 4].max() <= 0.6
    assert set(np.unique(allrows[:, 5]).tolist()) == set(range(7))
    assert (allrows[:, 0] >= 0).all() and (allrows[:, 2] <= 1600).all()
    assert (allrows[:, 1] >= 0).all() and (allrows[:, 3] <= 900).all()


@pytest.mark.parametrize("kwargs, word", [
    ({"drop": 1.5}, "drop"),
    ({"jitter": -0.1}, "jitter"),
    ({"fp_rate": float("nan")}, "fp_rate"),
    ({"tp_score": (0.9, 0.2)}, "tp_score"),
])
def test_bad_arguments_raise_input_error(kwargs, word):
    with pytest.raises(InputError, match=word):
        noisy_detections(_centre_table(2), 2, 1600, 900, seed=0, **kwargs)


def test_bad_tables_raise_input_error():
    with pytest.raises(InputError, match="outside 1..1"):
        noisy_detections(_centre_table(2), 1, 1600, 900, seed=0)
    with pytest.raises(InputError, match="MOT table"):
        noisy_detections(np.zeros((3, 4)), 1, 1600, 900, seed=0)


def test_duplicates_add_high_score_rows_and_leave_the_others_unchanged():
    """dup_share draws after every other row: the rows without duplicates are the same."""
    gt = np.array([[f, i, 100 * i, 200, 80, 60, 1, 1, 1] for f in range(1, 6) for i in range(1, 9)], float)
    plain, src0 = noisy_detections(gt, 5, 1600, 900, seed=4, with_source=True)
    dup, src = noisy_detections(gt, 5, 1600, 900, seed=4, dup_share=0.5, dup_count=(1, 2), with_source=True)
    n_tp = n_dup = 0
    for p, s0, d, s in zip(plain, src0, dup, src):
        np.testing.assert_array_equal(d[s != -2], p)
        n_tp += int((s0 >= 0).sum())
        n_dup += int((s == -2).sum())
        assert (d[s == -2, 4] >= 0.5).all()  # as high as a true box
    assert 0.2 * n_tp < n_dup < 1.4 * n_tp  # 50 % of 8 objects x 1.5 duplicates on average
    # an object is duplicated for its whole life: with no misses, the same duplicates every frame
    _, src = noisy_detections(gt, 5, 1600, 900, seed=4, drop=0.0, dup_share=0.5, with_source=True)
    _, d_src = zip(*[(0, s) for s in src])
    dets = noisy_detections(gt, 5, 1600, 900, seed=4, drop=0.0, dup_share=0.5)
    classes = [sorted(d[s == -2, 5].tolist()) for d, s in zip(dets, d_src)]
    assert classes[0] and all(c == classes[0] for c in classes)
    np.testing.assert_array_equal(np.concatenate(plain), np.concatenate(noisy_detections(gt, 5, 1600, 900, seed=4)))
