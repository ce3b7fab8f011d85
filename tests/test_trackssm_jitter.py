"""``train-motion --jitter``: training histories as a detector sees them, targets exact."""
from __future__ import annotations

import numpy as np
import pytest
from calibrated_toy import toy_scene

from detbench.core.errors import InputError
from detbench.data.mot import read_mot, write_mot
from detbench.motion.settings import MotionRecipe
from detbench.motion.windows import dataset_windows, sequence_windows
from trackers.trackssm.data import FIELDS, GROUND_FIELDS, jitter_boxes, segment_windows, track_segments

BOXES = np.array([[0.1 * i, 0.5, 0.1, 0.2 + 0.01 * i] for i in range(7)], np.float32)


def test_jitter_by_hand_and_its_spread():
    out = jitter_boxes(BOXES[:2], 0.1, np.random.default_rng(7))
    z = np.random.default_rng(7).normal(size=(2, 4))
    # box 1 (0.1, 0.5, 0.1, 0.21): centre moves by z * 0.1 * (w, h), size scales by exp(0.1 z)
    np.testing.assert_allclose(out[1], [0.1 + z[1, 0] * 0.01, 0.5 + z[1, 1] * 0.021,
                                        0.1 * np.exp(0.1 * z[1, 2]), 0.21 * np.exp(0.1 * z[1, 3])], rtol=1e-6)
    many = np.tile([[0.5, 0.5, 0.2, 0.4]], (20000, 1)).astype(np.float32)
    j = jitter_boxes(many, 0.05, np.random.default_rng(0))
    # the stated spread: sd of the centre shift / box size and of the log size ratio is sigma
    spread = [np.std((j[:, 0] - 0.5) / 0.2), np.std((j[:, 1] - 0.5) / 0.4),
              np.std(np.log(j[:, 2] / 0.2)), np.std(np.log(j[:, 3] / 0.4))]
    np.testing.assert_allclose(spread, 0.05, rtol=0.03)
    rng = np.random.default_rng(1)
    np.testing.assert_array_equal(jitter_boxes(BOXES, 0.0, rng), BOXES)
    assert rng.normal() == np.random.default_rng(1).normal()    # sigma 0 draws nothing


def test_histories_read_the_observed_boxes_and_targets_stay_exact():
    seen = BOXES + 0.01
    w, exact = segment_windows(BOXES, np.arange(1, 8), 5, seen), segment_windows(BOXES, np.arange(1, 8), 5)
    np.testing.assert_array_equal(w.target, exact.target)
    # target b6: history b1..b5 as seen, b1's delta from b0 as seen (the shift cancels in deltas)
    np.testing.assert_allclose(w.hist[5, 0], [0.11, 0.51, 0.11, 0.22, 0.1, 0, 0, 0.01], atol=1e-6)
    np.testing.assert_allclose(w.hist[5][w.mask[5], 4:], exact.hist[5][exact.mask[5], 4:], atol=1e-6)


def test_sequence_jitter_zero_is_today_and_ground_inputs_follow_the_jittered_boxes(tmp_path):
    seq = toy_scene(tmp_path / "a")
    today = sequence_windows(seq, calibration="require")
    zero = dataset_windows([seq], calibration="require", jitter=0.0, seed=3)
    for f in FIELDS + GROUND_FIELDS:
        np.testing.assert_array_equal(getattr(zero, f), getattr(today, f))

    noisy = dataset_windows([seq], calibration="require", jitter=0.05, seed=3)
    np.testing.assert_array_equal(noisy.target, today.target)
    moved = (noisy.hist[..., :2] - today.hist[..., :2])[today.mask] / today.hist[..., 2:4][today.mask]
    assert 0.03 < moved.std() < 0.07                         # about sigma box sizes
    assert not np.allclose(noisy.ground_hist, today.ground_hist, atol=1e-3)
    # the same jittered boxes written as the ground truth of a second sequence give the same
    # ground-plane inputs: the contact of a jittered box is where the tracker would put it
    info_w, info_h = 1600, 900
    rng = np.random.default_rng(3)
    table = read_mot(seq / "gt" / "gt.txt", kind="gt")
    rows = []
    for tid, (frames, boxes, cls) in enumerate(track_segments(table, info_w, info_h, classes=True), 1):
        j = jitter_boxes(boxes, 0.05, rng).astype(np.float64) * [info_w, info_h, info_w, info_h]
        rows += [[f, tid, b[0] - b[2] / 2, b[1] - b[3] / 2, b[2], b[3], 1, c + 1, 1] for f, b, c in zip(frames, j, cls)]
    copy = tmp_path / "b" / seq.name
    copy.mkdir(parents=True)
    for name in ("seqinfo.ini", "frames.json"):
        (copy / name).symlink_to(seq / name)
    write_mot(copy / "gt" / "gt.txt", np.array(rows))
    replay = sequence_windows(copy, calibration="require")
    np.testing.assert_allclose(noisy.hist, replay.hist, atol=1e-4)
    np.testing.assert_allclose(noisy.ground_hist, replay.ground_hist, atol=1e-4)
    np.testing.assert_allclose(noisy.calibrated_cv, replay.calibrated_cv, atol=1e-4)
    assert (noisy.on_ground == replay.on_ground).all()


def test_negative_jitter_is_an_input_error():
    with pytest.raises(InputError, match="--jitter -0.1: must be a number >= 0"):
        MotionRecipe(jitter=-0.1)


def test_jitter_copies_draw_each_copy_afresh_with_the_same_targets(tmp_path):
    seq = toy_scene(tmp_path / "a")
    one = dataset_windows([seq], calibration="require", jitter=0.05, seed=3)
    two = dataset_windows([seq], calibration="require", jitter=0.05, seed=3, copies=2)
    n = len(one)
    assert len(two) == 2 * n
    # the first copy is the one-copy set (the same stream, drawn first); the second its own draws
    np.testing.assert_array_equal(two.hist[:n], one.hist)
    np.testing.assert_array_equal(two.target[n:], one.target)
    assert not np.allclose(two.hist[n:][one.mask], one.hist[one.mask], atol=1e-4)
    # without jitter there is nothing to draw: one copy, today's windows
    assert len(dataset_windows([seq], calibration="require", copies=3)) == n
    with pytest.raises(InputError, match="--jitter-copies 0: must be a whole number >= 1"):
        MotionRecipe(jitter=0.05, jitter_copies=0)
