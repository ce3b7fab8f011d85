"""TrackSSM's ground pass with a track's own height (``assoc_size_sigma``) and the class-height
placement (``assoc_height_depth``): trackers/trackssm/associate.py, tracker.py.

The scene of tests/test_trackssm_rules.py: the toy pinhole camera of ``calibrated_toy`` (f = 1000
px, principal point (800, 450), 1.5 m above a flat ground, looking along +x) stands still; a
person (class 4) standing ``x`` m ahead on the optical axis has its bottom edge at v = 450 +
1500 / x. A box ``h`` px high there implies a physical height of h x / 1000 m.
"""
from __future__ import annotations

import numpy as np
import pytest
from calibrated_toy import H, K, W, billboard, pose
from conftest import SMALL_MOTION

from detbench.core.errors import InputError
from detbench.motion.weights import save_model
from trackers.base import Frame
from trackers.ground.measure import GROUND_TILT_DEG
from trackers.trackssm.associate import detection_obs, ground_costs
from trackers.trackssm.model import ModelConfig, build_model
from trackers.trackssm.tracker import TrackSSMParams, TrackSSMTracker

PED = 4
TALL = billboard(pose(), 6.0, 0.0, width=0.6, height=1.7)   # [750, 416.7, 850, 700]: 1.7 m
SHORT = billboard(pose(), 6.0, 0.0, width=0.6, height=1.2)  # [750, 500, 850, 700]: 1.2 m, same contact


@pytest.fixture(scope="module")
def ground_model(tmp_path_factory):
    return str(save_model(tmp_path_factory.mktemp("m") / "g", build_model(ModelConfig(**SMALL_MOTION, ground=True)), {}))


def frame(i: int) -> Frame:
    return Frame(i, i / 2.0, 2.0, W, H, intrinsics=K, cam2global=pose())


def det(box, score=0.9) -> list:
    return [*box, score, PED]


def run(tracker, frames_of_dets) -> list[np.ndarray]:
    return [tracker.update(np.array(d, float).reshape(-1, 6), frame(i)) for i, d in enumerate(frames_of_dets)]


def hand_costs(sigma: float) -> tuple[float, float]:
    """The ground-pass costs of a track predicted on TALL whose own height is 1.7 m against TALL and
    SHORT (noise 0.1, no extent, no IoU bonus). Both contacts are (6, 0): d2 = 0, so the cost is
    log det S. Depth variance of a contact 6 m ahead: (36 / 1500)^2 x sigma_v^2 with sigma_v^2 =
    (0.1 h)^2 + (1000 tan 0.5 deg)^2; lateral (6 / 1000 x 0.1 x 100)^2 = 0.0036 m^2 each. The size
    term: (log(1.2 / 1.7))^2 / (sigma^2 + e^2), e = SHORT's depth sd over its 6 m; 0 for TALL."""
    tilt2 = (1000 * np.tan(np.deg2rad(GROUND_TILT_DEG))) ** 2
    var = {h: (36 / 1500) ** 2 * ((0.1 * h) ** 2 + tilt2) for h in (1700 / 6, 200.0)}
    tall = np.log((var[1700 / 6] * 2) * 0.0072)
    short = np.log((var[1700 / 6] + var[200.0]) * 0.0072)
    if sigma > 0:
        e2 = var[200.0] / 36
        short += np.log(1.2 / 1.7) ** 2 / (sigma ** 2 + e2)
    return tall, short


def test_hand_worked_boxes_and_costs():
    """TALL and SHORT stand on one contact; without the term SHORT is cheaper (its smaller pixel
    height gives a smaller depth variance: log det S -5.18 against -4.92), with ``sigma`` 0.05 the
    track's own 1.7 m makes it dearer by (log(1.2 / 1.7))^2 / (0.0025 + 0.0076) = 11.99."""
    np.testing.assert_allclose(TALL, [750, 450 - 1700 / 6 + 250, 850, 700], atol=1e-9)
    np.testing.assert_allclose(SHORT, [750, 500, 850, 700], atol=1e-9)
    cam = frame(0).camera()
    boxes, cls = np.stack([TALL, SHORT]), np.array([PED, PED])
    obs = detection_obs(cam, boxes, cls, 0.1, 0.0)
    np.testing.assert_allclose(obs.size[:, 1], [1.7, 1.2], rtol=1e-9)
    assert obs.height_known.all()
    for sigma in (0.0, 0.05):
        got = ground_costs(cam, TALL[None], np.array([PED]), np.array([0]), boxes, cls, 0.1, 0.0, 0.0,
                           det_obs=obs, own_height=(np.array([np.log(1.7)]), np.array([3]), sigma))
        np.testing.assert_allclose(got[0], hand_costs(sigma), rtol=1e-9)
    tall, short = hand_costs(0.0)
    assert abs(tall + 4.92) < 0.01 and abs(short + 5.18) < 0.01
    assert abs(hand_costs(0.05)[1] - short - 11.99) < 0.01
    # a track without a measured height pays nothing
    none = ground_costs(cam, TALL[None], np.array([PED]), np.array([0]), boxes, cls, 0.1, 0.0, 0.0,
                        own_height=(np.array([0.0]), np.array([0]), 0.05))
    np.testing.assert_allclose(none[0], hand_costs(0.0), rtol=1e-9)


def test_the_track_takes_the_detection_of_its_own_height(ground_model):
    """A person 1.7 m tall, 6 m ahead, seen alone for three frames (its running height: 1.7 m);
    in frame 3 a 1.2 m box stands on the same contact beside its own. Without the term the
    ground pass gives track 1 the short box (cheaper, test above) and the tall one starts a new,
    unconfirmed track; with ``assoc_size_sigma=0.05`` track 1 keeps its own height's box."""
    scene = [[det(TALL)]] * 3 + [[det(SHORT), det(TALL)]]
    opts = dict(weights=ground_model, assoc="ground", assoc_bonus=0.0, assoc_extent=0.0)
    off = TrackSSMTracker(TrackSSMParams(**opts))
    on = TrackSSMTracker(TrackSSMParams(**opts, assoc_size_sigma=0.05))
    out_off, out_on = run(off, scene), run(on, scene)
    assert [o[:, 4].tolist() for o in out_on] == [[1]] * 4
    np.testing.assert_allclose(out_on[-1][0, :4], TALL, atol=1e-3)
    np.testing.assert_allclose(out_off[-1][0, :4], SHORT, atol=1e-3)
    assert out_off[-1][0, 4] == 1
    track = on.tracks[0]
    assert track.heights == 4 and abs(track.log_height - np.log(1.7)) < 1e-6  # boxes pass as float32


def test_off_by_default_and_zero_is_off(ground_model):
    """``assoc_size_sigma`` 0 (the default) and ``assoc_height_depth`` false (the default) change
    nothing: the scene above gives the same tracks as with the options unset."""
    scene = [[det(TALL)]] * 3 + [[det(SHORT), det(TALL)]]
    base = run(TrackSSMTracker(TrackSSMParams(weights=ground_model, assoc="ground", assoc_bonus=0.0)), scene)
    zero = run(TrackSSMTracker(TrackSSMParams(weights=ground_model, assoc="ground", assoc_bonus=0.0,
                                              assoc_size_sigma=0.0)), scene)
    assert TrackSSMParams().assoc_size_sigma == 0.0 and TrackSSMParams().assoc_height_depth is False
    for a, b in zip(base, zero):
        np.testing.assert_array_equal(a, b)


def test_height_depth_places_a_box_above_the_horizon():
    """A pedestrian's box whose bottom edge lies a pixel above the horizon (v = 449 < 450) has no
    ground contact, so the ground pass cannot score it (NaN: left to the image matching); with
    ``assoc_height_depth`` it is placed from the class height on its ray: 88.5 px high, class
    height 1.77 m, depth 1000 x 1.77 / 88.5 = 20 m, on the optical axis (u = 800), 20 x 1 / 1000 =
    0.02 m above the camera (a 7.6 % grade from the ground under it: a plausible road), and
    scored. A placed box measures no height of its own (its height is the class's)."""
    from detbench.core.geometry import CLASS_HEIGHT_M

    assert CLASS_HEIGHT_M[PED] == 1.77
    box = np.array([[780.0, 449 - 88.5, 820.0, 449.0]])
    cam = frame(0).camera()
    cls = np.array([PED])
    off = ground_costs(cam, box, cls, np.array([0]), box, cls, 0.1, 0.0, 0.0)
    on = ground_costs(cam, box, cls, np.array([0]), box, cls, 0.1, 0.0, 0.0, height_depth=True)
    assert np.isnan(off).all() and np.isfinite(on).all()
    obs = detection_obs(cam, box, cls, 0.1, 0.0, height_depth=True)
    np.testing.assert_allclose(obs.xy[0], [20.0, 0.0], atol=1e-9)
    np.testing.assert_allclose(obs.z[0], 1.52, atol=1e-9)
    assert obs.from_height[0] and not obs.height_known[0]


@pytest.mark.parametrize("options, message", [
    ({"assoc": "ground", "assoc_size_sigma": -0.05}, "assoc_size_sigma must be >= 0"),
    ({"assoc": "ground", "assoc_size_sigma": float("nan")}, "assoc_size_sigma must be >= 0"),
    ({"assoc_size_sigma": 0.05}, "assoc_size_sigma is an option of the ground pass: it needs assoc=ground"),
    ({"assoc_height_depth": True}, "assoc_height_depth is an option of the ground pass: it needs assoc=ground"),
])
def test_options_are_checked(ground_model, options, message):
    with pytest.raises(InputError, match=message):
        TrackSSMTracker(TrackSSMParams(weights=ground_model, **options))
