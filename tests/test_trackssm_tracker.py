"""The trackssm tracker: weights resolution, features, class-aware association, lost-track buffer."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from detbench.core.errors import InputError
from detbench.motion.weights import save_model, with_default_weights
from trackers import make_tracker
from trackers.base import Frame
from trackers.trackssm.model import ModelConfig, build_model
from trackers.trackssm.track import Track
from trackers.trackssm.tracker import TrackSSMTracker

SMALL = ModelConfig(d_model=32, n_enc_layers=2, n_dec_blocks=3, d_state=4, dt_rank=4, ffn_dim=64)




@pytest.fixture
def small_weights(tmp_path):
    return str(save_model(tmp_path / "runs" / "motion" / "small", build_model(SMALL, seed=1), {"frame_rate": 2.0}))


def _f(i, w=1600, h=900):
    return Frame(index=i, timestamp=i / 2, frame_rate=2.0, width=w, height=h)


def test_default_weights_need_a_trained_model_and_say_how():
    with pytest.raises(InputError, match="detbench train-motion --data runs/data/NAME"):
        make_tracker("trackssm", {}, frame_rate=2)           # the tracker is given no model
    assert with_default_weights("trackssm", {}) == {}          # the harness finds none under runs/motion/


def test_weights_default_to_the_latest_model_and_accept_a_path(small_weights):
    from pathlib import Path

    named = with_default_weights("trackssm", {"high_thresh": "0.5"})   # the harness names the latest model
    assert Path(named.pop("weights")).resolve() == Path(small_weights).resolve() and named == {"high_thresh": "0.5"}
    gated = with_default_weights("trackssm-gated", {"weights": "none"})["weights"]
    assert Path(gated).resolve() == Path(small_weights).resolve()
    assert with_default_weights("botsort", {}) == {}                    # no motion model: as given
    assert make_tracker("trackssm", with_default_weights("trackssm", {}), frame_rate=2).model.config == SMALL
    assert make_tracker("trackssm", {"weights": small_weights + "/model.pth"}, frame_rate=2).model.config == SMALL
    with pytest.raises(InputError, match="no TrackSSM model.pth"):
        make_tracker("trackssm", {"weights": small_weights + "/nothing"}, frame_rate=2)


def test_history_features_are_normalised_by_the_frame_size(small_weights):
    trk = make_tracker("trackssm", {"weights": small_weights}, frame_rate=2)
    t = Track(np.array([100.0, 200.0, 300.0, 300.0]), 0.9, 0)
    rows = trk._features(t, 1000.0, 500.0)       # a single observation: zero delta
    np.testing.assert_allclose(rows, [[0.2, 0.5, 0.2, 0.2, 0, 0, 0, 0]])
    t.boxes.append(np.array([150.0, 200.0, 350.0, 350.0]))
    rows = trk._features(t, 1000.0, 500.0)
    np.testing.assert_allclose(rows[1], [0.25, 0.55, 0.2, 0.3, 0.05, 0.05, 0, 0.1], atol=1e-12)
    for k in range(6):                           # only the last 5 steps go in; deltas from the 6th
        t.boxes.append(np.array([150.0 + 10 * k, 200.0, 350.0 + 10 * k, 350.0]))
    t.boxes = t.boxes[-6:]
    rows = trk._features(t, 1000.0, 500.0)
    assert rows.shape == (5, 8)
    np.testing.assert_allclose(rows[:, 4], 0.01, atol=1e-12)


def test_single_observation_tracks_are_predicted_with_a_length_one_history(small_weights):
    trk = make_tracker("trackssm", {"weights": small_weights}, frame_rate=2)
    box = np.array([[100.0, 200.0, 300.0, 300.0]])
    t = Track(box[0], 0.9, 0)
    pred = trk._predict([t], 1000.0, 500.0)
    hist = torch.tensor([[[0.2, 0.5, 0.2, 0.2, 0, 0, 0, 0]]], dtype=torch.float32)
    with torch.no_grad():
        c = trk.model(hist)[0, -1].double().numpy()
    np.testing.assert_allclose(pred[0], [(c[0] - c[2] / 2) * 1000, (c[1] - c[3] / 2) * 500,
                                         (c[0] + c[2] / 2) * 1000, (c[1] + c[3] / 2) * 500], rtol=1e-5)


@pytest.mark.parametrize("other_class", [0, 4])
def test_no_track_takes_a_detection_of_another_class(other_class):
    trk = make_tracker("trackssm", {"weights": "random"}, frame_rate=2)
    assert trk.update(np.array([[500, 300, 700, 450, 0.9, 0]]), _f(0))[:, 4].tolist() == [1.0]
    # frame 1: one detection exactly where car 1 was, with a junk row before it (det_index 1)
    out = trk.update(np.array([[0, 0, 1, 1, 0.05, 0], [500, 300, 700, 450, 0.9, other_class]]), _f(1))
    if other_class == 0:
        assert out.tolist() == [[500, 300, 700, 450, 1, np.float32(0.9), 0, 1]]
    else:   # a pedestrian there starts its own (unconfirmed) track; car 1 is lost, not output
        assert len(out) == 0
        out = trk.update(np.array([[500, 300, 700, 450, 0.9, 4]]), _f(2))
        assert out[:, 4].tolist() == [2.0] and out[:, 6].tolist() == [4.0]


def test_lost_tracks_survive_exactly_the_buffer():
    def run(gap):
        trk = make_tracker("trackssm", {"weights": "random", "track_buffer_s": 1.0}, frame_rate=2)  # 2 frames
        det = np.array([[500, 300, 700, 450, 0.9, 2]], np.float32)
        ids = []
        for i in range(3 + gap + 1):
            d = det if (i < 3 or i == 3 + gap) else np.zeros((0, 6), np.float32)
            out = trk.update(d, _f(i))
            ids += out[:, 4].tolist()
        return ids
    assert run(2) == [1, 1, 1, 1]     # missed 2 frames = 1.0 s: kept, same id
    assert run(3) == [1, 1, 1]        # missed 3 frames: dropped; the new track is unconfirmed


def test_bad_params_are_input_errors():
    with pytest.raises(InputError, match="low_thresh"):
        TrackSSMTracker(TrackSSMTracker.Params(weights="random", low_thresh=0.8, high_thresh=0.6))
    with pytest.raises(InputError, match="frame_rate"):
        TrackSSMTracker(TrackSSMTracker.Params(weights="random"), frame_rate=0)


def test_every_tracker_defaults_to_the_same_lost_track_buffer():
    """Like-for-like trackers wait equally long for a lost object."""
    from dataclasses import fields

    from trackers import TRACKERS, tracker_class
    from trackers.base import LOST_TRACK_BUFFER_S

    buffers = {}
    for name in TRACKERS:
        params = tracker_class(name).Params()
        [key] = [f.name for f in fields(params) if f.name in ("track_buffer_s", "max_age_s")]
        buffers[name] = getattr(params, key)
    assert set(buffers) >= {"botsort", "bytetrack", "ocsort", "iou", "trackssm", "trackssm-gated"}
    assert set(buffers.values()) == {LOST_TRACK_BUFFER_S}, buffers


def _shifting_model(tmp_path):
    """A model that predicts every box 3 widths to the right of where it was last seen."""
    model = build_model(SMALL, seed=1)
    with torch.no_grad():
        model.blocks[-1].head.bias.copy_(torch.tensor([3.0, 0.0, 0.0, 0.0]))
    return str(save_model(tmp_path / "shift", model, {"frame_rate": 2.0}))


def test_trackssm_matches_on_its_predictions_and_the_gated_hybrid_has_its_own_name(tmp_path):
    weights = _shifting_model(tmp_path)
    det = np.array([[500, 300, 700, 450, 0.9, 0]], np.float32)   # an object that never moves

    def ids(name):
        trk = make_tracker(name, {"weights": weights}, frame_rate=2)
        return [trk.update(det, _f(i))[:, 4].tolist() for i in range(4)]

    # the prediction lies 600 px away (IoU 0): TrackSSM loses the object every frame; the new
    # track started each frame is unconfirmed and dropped when its own prediction misses again
    assert ids("trackssm") == [[1.0], [], [], []]
    # the gate takes the IoU with the last detection (1.0): a motionless IoU tracker in disguise
    assert ids("trackssm-gated") == [[1.0], [1.0], [1.0], [1.0]]
    with pytest.raises(InputError, match="unknown option"):
        make_tracker("trackssm", {"weights": weights, "last_box_gate": "true"}, frame_rate=2)
