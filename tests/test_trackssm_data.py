"""Training windows from MOT GT tracks, step-by-step targets, losses and the train-motion command."""
from __future__ import annotations

import json

import numpy as np
import pytest
from calibrated_toy import toy_scene

from detbench.core.errors import InputError
from detbench.data.mot import SeqInfo, write_mot, write_seqinfo
from detbench.motion.windows import dataset_windows, sequence_windows, split_sequences
from trackers.trackssm.data import segment_windows, step_targets, track_segments
from trackers.trackssm.train import constant_velocity, next_box_iou


def _write_seq(root, name, rows, width=1600, height=900, rate=2.0, length=40):
    d = root / name
    write_mot(d / "gt" / "gt.txt", np.array(rows, dtype=np.float64).reshape(-1, 9))
    write_seqinfo(d / "seqinfo.ini", SeqInfo(name, rate, width, height, length))
    return d


def _row(frame, tid, x, y, w, h, cls=1):
    return [frame, tid, x, y, w, h, 1, cls, 1]


def test_windows_of_one_segment_by_hand():
    boxes = np.array([[0.1 * i, 0.5, 0.1, 0.2 + 0.01 * i] for i in range(7)], np.float32)  # b0..b6
    w = segment_windows(boxes, np.arange(1, 8), history=5)
    assert len(w) == 6 and w.hist.shape == (6, 5, 8)
    # target b1: history is b0 alone, front-padded, zero delta
    assert w.mask[0].tolist() == [False, False, False, False, True]
    np.testing.assert_allclose(w.hist[0, 4], [0.0, 0.5, 0.1, 0.2, 0, 0, 0, 0], atol=1e-7)
    np.testing.assert_array_equal(w.hist[0, :4], 0)
    # target b6: history b1..b5; b1's delta comes from b0 (before the history, not the target)
    assert w.mask[5].all()
    np.testing.assert_allclose(w.hist[5, 0], [0.1, 0.5, 0.1, 0.21, 0.1, 0, 0, 0.01], atol=1e-6)
    np.testing.assert_allclose(w.hist[5, 4], [0.5, 0.5, 0.1, 0.25, 0.1, 0, 0, 0.01], atol=1e-6)
    np.testing.assert_allclose(w.target[5], [0.6, 0.5, 0.1, 0.26], atol=1e-6)
    assert w.hist_frames[5].tolist() == [2, 3, 4, 5, 6] and w.target_frame[5] == 7


def test_no_window_contains_its_target(tmp_path):
    rows = [_row(f, tid, 100 + 37 * f + tid, 200 + 11 * f, 50 + f, 80 + 2 * f)
            for tid in (1, 2) for f in range(1, 15) if not (tid == 2 and f in (6, 7))]
    w = sequence_windows(_write_seq(tmp_path, "s", rows))
    assert len(w) == 13 + 10  # track 2 splits at its gap into 5 + 7 frames: 4 + 6 windows
    for hf, tf, hist, mask, tgt in zip(w.hist_frames, w.target_frame, w.hist, w.mask, w.target):
        real = hf[mask]
        assert tf not in real and (real < tf).all()
        assert np.all(np.diff(real) == 1) and real[-1] == tf - 1   # consecutive, ends just before
        assert not np.any(np.all(np.isclose(hist[mask, :4], tgt), axis=1))


def test_normalisation_and_gap_splitting(tmp_path):
    rows = [_row(1, 3, 0, 0, 160, 90), _row(2, 3, 160, 90, 160, 90), _row(4, 3, 320, 180, 160, 90)]
    segs = track_segments(np.array(rows, float), 1600, 900)
    assert [s[0].tolist() for s in segs] == [[1, 2], [4]]
    np.testing.assert_allclose(segs[0][1], [[0.05, 0.05, 0.1, 0.1], [0.15, 0.15, 0.1, 0.1]], atol=1e-7)


def test_faster_sequences_are_subsampled_to_the_model_rate(tmp_path):
    rows = [_row(f, 1, 10 * f, 100, 50, 50) for f in range(1, 14)]   # 12 Hz, frames 1..13
    w = sequence_windows(_write_seq(tmp_path, "s", rows, rate=12.0))
    assert w.target_frame.tolist() == [7, 13] and w.hist_frames[1, -2:].tolist() == [1, 7]
    np.testing.assert_allclose(w.hist[1, -1, 4] * 1600, 60, atol=1e-3)   # one 2 Hz step = 6 frames
    with pytest.raises(InputError, match="not a whole multiple"):
        sequence_windows(_write_seq(tmp_path, "t", rows, rate=5.0))


def test_step_targets_by_hand():
    last = np.array([[0.50, 0.50, 0.10, 0.10]])
    target = np.array([[0.56, 0.47, 0.10, 0.16]])
    s = step_targets(last, target, 6)
    assert s.shape == (1, 6, 4)
    np.testing.assert_allclose(s[0, 0], [0.51, 0.495, 0.10, 0.11], atol=1e-6)
    np.testing.assert_allclose(s[0, 2], [0.53, 0.485, 0.10, 0.13], atol=1e-6)
    np.testing.assert_allclose(s[0, 5], target[0], atol=1e-6)


def test_constant_velocity_and_next_box_iou_by_hand():
    hist = np.zeros((2, 5, 8), np.float32)
    hist[0, -1] = [0.5, 0.5, 0.2, 0.2, 0.1, 0, 0, 0]     # moving right by 0.1
    hist[1, -1] = [0.3, 0.3, 0.2, 0.2, 0, 0, 0, 0]       # single observation: stays
    cv = constant_velocity(hist)
    np.testing.assert_allclose(cv, [[0.6, 0.5, 0.2, 0.2], [0.3, 0.3, 0.2, 0.2]], atol=1e-7)
    # first: exact (IoU 1); second: target shifted by half a width -> IoU (0.1*0.2)/(2*0.04-0.02) = 1/3
    target = np.array([[0.6, 0.5, 0.2, 0.2], [0.4, 0.3, 0.2, 0.2]])
    assert next_box_iou(cv, target) == pytest.approx((1 + 1 / 3) / 2)


def test_zero_size_boxes_are_rejected(tmp_path):
    with pytest.raises(InputError, match="track 4 has a zero-size"):
        track_segments(np.array([_row(1, 4, 0, 0, 10, 10), _row(2, 4, 5, 5, 0, 10)], float), 1600, 900)
    d = tmp_path / "s"
    (d / "gt").mkdir(parents=True)
    write_seqinfo(d / "seqinfo.ini", SeqInfo("s", 2.0, 1600, 900, 5))
    (d / "gt" / "gt.txt").write_text("1,1,10,10,20,20,1,1,1\n2,1,12,10,0,20,1,1,1\n")
    with pytest.raises(InputError, match=r"gt\.txt:2: box size"):
        sequence_windows(d)


def test_empty_training_set_is_a_clear_error(tmp_path):
    seq = _write_seq(tmp_path / "sequences" / "train", "a", [_row(1, 1, 0, 0, 10, 10), _row(3, 1, 0, 0, 10, 10)])
    with pytest.raises(InputError, match="empty training set: 1 sequence"):
        dataset_windows([seq])
    with pytest.raises(InputError, match="empty training set: 0 sequence"):
        dataset_windows(split_sequences(tmp_path / "nothing", "train"), source="nothing")


def test_train_motion_command_writes_a_loadable_model(tmp_path):
    from detbench.cli import main
    from trackers.trackssm.checkpoint import load

    data = tmp_path / "data" / "toy"
    for split, n in (("train", 3), ("val", 1)):
        for s in range(n):
            rows = [_row(f, t, 100 + 30 * f * (t + s), 300 + 5 * f, 80, 60) for t in (1, 2) for f in range(1, 9)]
            _write_seq(data / "sequences" / split, f"scene-{split}{s}_CAM_FRONT", rows)
    assert main(["train-motion", "--data", str(data), "--epochs", "1", "--name", "toy"]) == 0
    out = tmp_path / "runs" / "motion" / "toy"
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["model"]["d_model"] == 256 and cfg["frame_rate"] == 2.0
    # 42 training windows, one batch of 42: one epoch is one step
    assert cfg["metrics"]["val"]["windows"] == 14 and len(cfg["loss"]) == 1 and cfg["train"]["steps"] == 1
    # val boxes (80 x 60 px) move (30, 5) and (60, 5) px per frame at constant velocity: the baseline
    # is exact (IoU 1) for 6 windows each; the single-box windows stay put: overlaps 50 x 55 and
    # 20 x 55 px of two 4800 px boxes -> IoU 2750/6850 and 1100/8500
    expected = (12 + 2750 / 6850 + 1100 / 8500) / 14
    assert cfg["metrics"]["val"]["const_velocity_iou"] == pytest.approx(expected, abs=1e-5)  # float32 boxes
    # the last box: IoU 2750/6850 (t=1, 30 px) or 1100/8500 (t=2, 60 px) at every step of each track
    assert cfg["metrics"]["val"]["last_box_iou"] == pytest.approx((7 * 2750 / 6850 + 7 * 1100 / 8500) / 14, abs=1e-5)
    meta = json.loads((out / "meta.json").read_text())
    assert meta["metrics"]["val"] == cfg["metrics"]["val"] and meta["options"]["steps"] == 1
    assert (out / "loss.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(cfg["data_hash"]["train"]) == 64
    from detbench.motion.weights import resolve_weights

    model, _ = load(str(resolve_weights(None)))   # the latest model under runs/motion
    assert model.config.d_model == 256
    assert main(["train-motion", "--data", str(tmp_path / "nope")]) == 2


def test_train_motion_steps_and_eval_data_and_bad_input(tmp_path, real_fixture):
    from detbench.cli import main

    data = tmp_path / "data" / "toy"
    for split in ("train", "val"):
        rows = [_row(f, t, 100 + 20 * f * t, 300, 80, 60) for t in (1, 2) for f in range(1, 9)]
        _write_seq(data / "sequences" / split, f"scene-{split}_CAM_FRONT", rows)
    assert main(["train-motion", "--data", str(data), "--steps", "3", "--d-model", "16", "--layers", "1",
                 "--eval-data", str(real_fixture), "--name", "s"]) == 0
    cfg = json.loads((tmp_path / "runs" / "motion" / "s" / "config.json").read_text())
    assert len(cfg["loss"]) == 3 and cfg["train"]["steps"] == 3
    real = cfg["metrics"][f"eval:{real_fixture}"]
    # the fixture's own tracks (scene-0103, six cameras), never trained on: its baselines as measured
    assert real["windows"] == 2067 and real["const_velocity_iou"] == pytest.approx(0.5356, abs=1e-4)
    assert real["last_box_iou"] == pytest.approx(0.2916, abs=1e-4)
    assert cfg["metrics"]["train_cpu_seconds"] > 0
    assert main(["train-motion", "--data", str(data), "--steps", "3", "--epochs", "1"]) == 2
    # the real fixture has no train split: it can only be evaluated on, never trained on
    assert main(["train-motion", "--data", str(real_fixture), "--steps", "1"]) == 2


def test_ignore_rows_are_never_targets_nor_history(tmp_path):
    rows = [_row(f, 1, 100 + 10 * f, 300, 80, 60) for f in range(1, 9)]
    rows[3][6] = 0   # frame 4 is an ignore row (consider flag 0 in column 7)
    w = sequence_windows(_write_seq(tmp_path, "s", rows))
    assert 4 not in w.target_frame.tolist() and not (w.hist_frames == 4).any()
    assert w.target_frame.tolist() == [2, 3, 6, 7, 8]    # the track is cut at the ignored frame


def test_ground_windows_never_contain_their_target(tmp_path):
    """Every ground-plane window of a calibrated sequence: its history frames end just before the
    target, and changing the target box in gt.txt changes no input of its own window (history,
    mask, calibrated CV); only windows whose history holds that box change."""
    seq = toy_scene(tmp_path / "a")
    w = sequence_windows(seq, calibration="require")
    assert w.has_ground and w.on_ground.all() and len(w) == 4 * 8
    for hf, tf, m in zip(w.hist_frames, w.target_frame, w.ground_mask):
        real = hf[m]
        assert (real < tf).all() and real[-1] == tf - 1
    gt = seq / "gt" / "gt.txt"
    rows = np.loadtxt(gt, delimiter=",")
    rows[(rows[:, 0] == 6) & (rows[:, 1] == 2), 2:4] += [37.0, -11.0]   # track 2's box at frame 6
    write_mot(gt, rows)
    w2 = sequence_windows(seq, calibration="require")

    def index(track, target):   # windows come track by track, targets 2..9
        return (track - 1) * 8 + target - 2

    def changed(field):
        return {i for i in range(len(w)) if not np.array_equal(getattr(w, field)[i], getattr(w2, field)[i])}

    assert changed("target") == {index(2, 6)}
    # the history (the oldest box giving the first delta) of targets 7..9 holds it; CV reads 2 boxes
    assert changed("ground_hist") == changed("hist") == {index(2, t) for t in (7, 8, 9)}
    assert changed("calibrated_cv") == {index(2, 7), index(2, 8)}
    assert not changed("ground_mask") and not changed("on_ground")
