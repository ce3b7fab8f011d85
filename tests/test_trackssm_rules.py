"""TrackSSM's optional rules (trackers/trackssm/rules.py, associate.py): duplicate-aware birth, the
ground gate, the ground pass, tracked tracks first and shadow tracks.

Scenes by hand: the toy pinhole camera of ``calibrated_toy`` (f = 1000 px, principal point
(800, 450), 1.5 m above a flat ground, looking along +x) stands still; pedestrians (class 4) are
upright rectangles 0.6 m wide and 1.7 m high, so one standing ``x`` m ahead on the optical axis has
its bottom edge at v = 450 + 1500 / x and is 1700 / x px high, 600 / x px wide. An untrained
ground-plane model predicts calibrated constant velocity: with a still camera and a still object,
the last box.
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
from trackers.trackssm.associate import ground_costs, match
from trackers.trackssm.model import ModelConfig, build_model
from trackers.trackssm.tracker import TrackSSMParams, TrackSSMTracker

PED = 4


def person(x: float, y: float = 0.0) -> np.ndarray:
    return billboard(pose(), x, y, width=0.6, height=1.7)


@pytest.fixture(scope="module")
def ground_model(tmp_path_factory):
    return str(save_model(tmp_path_factory.mktemp("m") / "g", build_model(ModelConfig(**SMALL_MOTION, ground=True)), {}))


def frame(i: int) -> Frame:
    return Frame(i, i / 2.0, 2.0, W, H, intrinsics=K, cam2global=pose())


def det(box, score=0.9, cls=PED) -> list:
    return [*box, score, cls]


def run(tracker, frames_of_dets) -> list[np.ndarray]:
    return [tracker.update(np.array(d, float).reshape(-1, 6), frame(i)) for i, d in enumerate(frames_of_dets)]


def test_hand_worked_boxes():
    """The scene's numbers above, checked once: 6 m ahead, bottom edge at v = 700, 283.3 px high."""
    np.testing.assert_allclose(person(6.0), [750, 700 - 1700 / 6, 850, 700], atol=1e-9)


def person_with_nested_box():
    """A person 6 m ahead (its box ``true``) over four frames, from the second on with a second box
    inside its own, shrunk by 10 % a side (it lies entirely in the person's box, contacts 28 px
    apart in a 283 px box: the same place on the ground), scoring 0.8."""
    true = person(6.0)
    w, h = true[2] - true[0], true[3] - true[1]
    dup = true + [0.1 * w, 0.1 * h, -0.1 * w, -0.1 * h]
    return true, [[det(true)], [det(true), det(dup, 0.8)], [det(true), det(dup, 0.8)], [det(true), det(dup, 0.8)]]


def test_a_duplicate_nested_in_a_tracked_box_starts_no_track(ground_model):
    """A person 6 m ahead, from frame 2 on with a second box inside its own (shrunk by 10 % a
    side: it lies entirely in the taken box, contacts 28 px apart in a 283 px box, on the same
    place) scoring 0.8. Without the rule the leftover box starts a track that is confirmed the next
    frame: two ids on one person. With ``birth_overlap=0.6`` one id throughout."""
    true, scene = person_with_nested_box()
    off = run(TrackSSMTracker(TrackSSMParams(weights=ground_model)), scene)
    on = run(TrackSSMTracker(TrackSSMParams(weights=ground_model, birth_overlap=0.6)), scene)
    assert [len(o) for o in off] == [1, 1, 2, 2] and len(set(off[-1][:, 4])) == 2
    assert [len(o) for o in on] == [1, 1, 1, 1] and set(np.concatenate(on)[:, 4]) == {1}


def test_a_person_behind_another_is_born_on_the_ground_but_not_by_image_overlap_alone(ground_model):
    """Person A 6 m ahead, person B 20 m ahead 0.1 m to the left: B's box [780, 440, 810, 525]
    lies entirely inside A's [750, 416.7, 850, 700], but its contact is 14 m further. With a
    ground-plane model the rule lets B start a track (two ids from frame 3 on); with an image model
    (``weights=random``: no ground contacts) image overlap alone decides and B is never born."""
    a, b = person(6.0), person(20.0, 0.1)
    np.testing.assert_allclose(b, [780, 440, 810, 525], atol=1e-9)
    assert a[0] <= b[0] and a[1] <= b[1] and b[2] <= a[2] and b[3] <= a[3]
    scene = [[det(a)], [det(a), det(b, 0.8)], [det(a), det(b, 0.8)], [det(a), det(b, 0.8)]]
    ground = run(TrackSSMTracker(TrackSSMParams(weights=ground_model, birth_overlap=0.6)), scene)
    image = run(TrackSSMTracker(TrackSSMParams(weights="random", birth_overlap=0.6)), scene)
    assert [len(o) for o in ground] == [1, 1, 2, 2]
    assert [len(o) for o in image] == [1, 1, 1, 1]


def test_the_ground_gate_refuses_a_box_that_overlaps_in_the_image_but_stands_far_away(ground_model):
    """A person 6 m ahead (box [750, 416.7, 850, 700]); in frame 2 a pedestrian box
    [750, 330, 850, 560] overlaps it by IoU 143 / 370 = 0.39 (above ``match_iou`` 0.2) but its
    bottom edge, 110 px below the horizon, stands 1500 / 110 = 13.6 m ahead: 7.6 m further.
    Without the gate the track takes it (id 1 goes on); with ``ground_gate=4`` the pair is
    refused: the box starts a new track, confirmed in frame 3 as id 2. The person's own box, moved
    by 2 px, passes the same gate."""
    a = person(6.0)
    far = np.array([750, 330, 850, 560.0])
    inter = (560 - a[1]) * 100
    assert abs(inter / (100 * (a[3] - a[1]) + 100 * 230 - inter) - 0.39) < 0.01
    scene = [[det(a)], [det(a)], [det(far)], [det(far)]]
    off = run(TrackSSMTracker(TrackSSMParams(weights=ground_model)), scene)
    on = run(TrackSSMTracker(TrackSSMParams(weights=ground_model, ground_gate=4.0)), scene)
    assert [o[:, 4].tolist() for o in off] == [[1], [1], [1], [1]]
    assert [o[:, 4].tolist() for o in on] == [[1], [1], [], [2]]
    still = run(TrackSSMTracker(TrackSSMParams(weights=ground_model, ground_gate=4.0)),
                [[det(a)], [det(a)], [det(a + 2.0)], [det(a)]])
    assert [o[:, 4].tolist() for o in still] == [[1], [1], [1], [1]]


def test_rule_options_are_checked(ground_model):
    with pytest.raises(InputError, match="ground_gate needs a ground-plane"):
        TrackSSMTracker(TrackSSMParams(weights="random", ground_gate=9.0))
    with pytest.raises(InputError, match="ground_gate must be >= 0"):
        TrackSSMTracker(TrackSSMParams(weights=ground_model, ground_gate=-1.0))
    for bad in (0.0, 1.5):
        with pytest.raises(InputError, match="birth_overlap must be in"):
            TrackSSMTracker(TrackSSMParams(weights=ground_model, birth_overlap=bad))
    with pytest.raises(InputError, match="birth_overlap_by must be one of"):
        TrackSSMTracker(TrackSSMParams(weights=ground_model, birth_overlap_by="area"))


def test_by_union_a_smaller_far_object_behind_is_born_where_the_ground_cannot_tell(ground_model):
    """Person A 20 m ahead ([785, 440, 815, 525]) and B 40 m ahead on the same ray ([792.5, 445,
    807.5, 487.5], inside A's box: intersection over the smaller 1, IoU 637.5 / 2550 = 0.25). Their
    contacts are 20 m apart, but a contact 40 m away is uncertain by about ten metres (the 0.5 degree
    ground tilt alone moves it by 8.7 px at 0.94 px per metre), so the ground calls them the same
    place: measured by the smaller box (the default) B is never born; by IoU at 0.4 it is. The
    duplicate of the test above (IoU 0.8 * 0.8 = 0.64) is still blocked by IoU."""
    a, b = person(20.0), person(40.0)
    np.testing.assert_allclose(a, [785, 440, 815, 525], atol=1e-9)
    np.testing.assert_allclose(b, [792.5, 445, 807.5, 487.5], atol=1e-9)
    scene = [[det(a)], [det(a), det(b, 0.8)], [det(a), det(b, 0.8)], [det(a), det(b, 0.8)]]
    smaller = run(TrackSSMTracker(TrackSSMParams(weights=ground_model, birth_overlap=0.4)), scene)
    union = run(TrackSSMTracker(TrackSSMParams(weights=ground_model, birth_overlap=0.4,
                                               birth_overlap_by="union")), scene)
    assert [len(o) for o in smaller] == [1, 1, 1, 1]
    assert [len(o) for o in union] == [1, 1, 2, 2]
    true = person(6.0)
    w, h = true[2] - true[0], true[3] - true[1]
    dup = true + [0.1 * w, 0.1 * h, -0.1 * w, -0.1 * h]
    blocked = run(TrackSSMTracker(TrackSSMParams(weights=ground_model, birth_overlap=0.4, birth_overlap_by="union")),
                  [[det(true)], [det(true), det(dup, 0.8)], [det(true), det(dup, 0.8)]])
    assert [len(o) for o in blocked] == [1, 1, 1]

def ids(tracker, frames_of_dets) -> list[list[int]]:
    """The ids reported in each frame."""
    return [o[:, 4].astype(int).tolist() for o in run(tracker, frames_of_dets)]


# ---- association options (trackers/trackssm/associate.py, tracker.py): the ground pass
# (``assoc="ground"``), tracked tracks first (``tracked_first``), shadow tracks (``shadow_overlap``).
# On the ground, depth is x = 1500 / (v - 450) and lateral offset y = -(u - 800) x / 1000, so at
# u = 800 a contact's pixel noise (sigma_u, sigma_v) maps to the ground covariance
# diag((x^2 / 1500 sigma_v)^2, (x / 1000 sigma_u)^2).


class _Box:
    """What :func:`match` reads of a track: its predicted box, last detection and class."""

    def __init__(self, box, cls=0):
        self.boxes, self.det_box, self.cls = [np.asarray(box, float)], np.asarray(box, float), cls


def test_ground_cost_of_two_people_on_one_ray_by_hand():
    """Prediction: a person 6 m ahead ([750, 416.7, 850, 700]); detection: one 12 m ahead ([775,
    433.3, 825, 575], inside it: IoU 50 x 141.7 / (100 x 283.3) = 0.25). With noise 0.1, no
    extent: sigma_u = 10 and 5 px, sigma_v = hypot(28.33, 8.73) and hypot(14.17, 8.73) px (8.73:
    the 0.5 degree ground tilt, 1000 tan 0.5 deg), so var depth = (36 / 1500)^2 x 878.9 = 0.506 and
    (144 / 1500)^2 x 276.9 = 2.552 m^2, var lateral = 0.06^2 each. d2 = 6^2 / 3.058 = 11.77,
    log det S = log(3.058 x 0.0072) = -3.82: cost 7.96; with the bonus 4: 7.96 - 4 x 0.25. A track
    lost for a frame has its prediction's noise doubled (variance x 4)."""
    pred, box = person(6.0)[None], person(12.0)[None]
    tilt = 1000 * np.tan(np.deg2rad(GROUND_TILT_DEG))
    var_x = [(x * x / 1500) ** 2 * (0.1 * 1700 / x) ** 2 + (x * x / 1500) ** 2 * tilt ** 2 for x in (6.0, 12.0)]
    var_y = [(x / 1000 * 0.1 * 600 / x) ** 2 for x in (6.0, 12.0)]
    cam = frame(0).camera()
    for lost, bonus in ((0, 0.0), (0, 4.0), (1, 0.0)):
        grow = (1 + lost) ** 2
        sx, sy = grow * var_x[0] + var_x[1], grow * var_y[0] + var_y[1]
        want = 36.0 / sx + np.log(sx * sy) - bonus * 0.25
        got = ground_costs(cam, pred, np.array([PED]), np.array([lost]), box, np.array([PED]), 0.1, 0.0, bonus)
        np.testing.assert_allclose(got, [[want]], rtol=1e-6)
    assert abs(36.0 / (var_x[0] + var_x[1]) - 11.77) < 0.01
    above = np.array([[0.0, 0.0, 100.0, 300.0]])  # bottom edge 150 px above the horizon: no contact
    assert np.isnan(ground_costs(cam, above, np.array([PED]), np.array([0]), box, np.array([PED]), 0.1, 0.0, 0.0)).all()


def test_the_ground_pass_goes_first_and_the_image_matching_takes_what_it_leaves():
    """Two tracks, two detections. By image IoU alone the assignment crosses (track 0 - det 1:
    0.6, track 1 - det 0: 0.5; the straight pairs 0.3 and 0.25). The ground costs make (0, 0) the
    only pair under the gate 5: the ground pass takes it, and the image matching is left with
    track 1 and det 1, which do not overlap enough (0.25 > 0.2: they match). Without the ground
    pass the crossing stands. An unknown cost (NaN) never matches on the ground."""
    tracks = [_Box([0, 0, 10, 10]), _Box([100, 0, 110, 10])]
    dets = np.array([[0, 0, 10, 10, 0.9, 0], [100, 0, 110, 10, 0.9, 0]], float)
    iou = np.array([[0.3, 0.6], [0.5, 0.25]])

    def fake_affinity(a, b, cost):
        return iou

    import trackers.trackssm.associate as associate

    real = associate.affinity
    associate.affinity = fake_affinity
    try:
        image = match(tracks, dets, 0.2, False)
        ground = match(tracks, dets, 0.2, False, ground=(np.array([[1.0, 9.0], [np.nan, 7.0]]), 5.0))
        both_nan = match(tracks, dets, 0.2, False, ground=(np.full((2, 2), np.nan), 5.0))
    finally:
        associate.affinity = real
    assert sorted(image[0]) == [(0, 1), (1, 0)]
    assert ground[0] == [(0, 0), (1, 1)] and ground[1] == [] and ground[2] == []
    assert sorted(both_nan[0]) == sorted(image[0])


def test_assoc_ground_keeps_a_standing_person_and_needs_a_ground_model(ground_model):
    """A person standing 6 m ahead, detected every frame: one id either way."""
    scene = [[det(person(6.0))]] * 4
    assert ids(TrackSSMTracker(TrackSSMParams(weights=ground_model, assoc="ground")), scene) == [[1]] * 4
    with pytest.raises(InputError, match="assoc=ground needs a ground-plane"):
        TrackSSMTracker(TrackSSMParams(weights="random", assoc="ground"))


def test_tracked_first_keeps_a_box_from_a_lost_neighbour():
    """Frame 0: boxes a = [100, 100, 200, 300] and l = [150, 100, 250, 300] start tracks 1 and 2.
    Frame 1: only a is seen; track 2 is lost (an untrained image model predicts a still box
    where it stands). Frame 2: one box d = [140, 100, 240, 300]: IoU 60 / 140 = 0.43 with track
    1's box, 90 / 110 = 0.82 with track 2's. Matched together, the lost track 2 takes it; with
    ``tracked_first`` the tracked track 1 does (0.43 >= ``match_iou`` 0.2)."""
    a, lost, d = [100, 100, 200, 300], [150, 100, 250, 300], [140, 100, 240, 300]
    scene = [[det(a), det(lost)], [det(a)], [det(d)]]
    assert ids(TrackSSMTracker(TrackSSMParams(weights="random")), scene) == [[1, 2], [1], [2]]
    assert ids(TrackSSMTracker(TrackSSMParams(weights="random", tracked_first=True)), scene) == [[1, 2], [1], [1]]


def test_a_shadow_track_on_a_nested_box_ends_but_a_person_behind_does_not(ground_model):
    """A person 6 m ahead with, from frame 1 on, a second box inside its own (shrunk 10 % a side:
    intersection over the smaller box 1, contacts at the same place), no birth rule: the second
    box's track is confirmed in frame 2 (id 2). With ``shadow_overlap=0.6`` that track, younger
    than the person's, ends the frame it is confirmed: only id 1 is ever reported. Person B 20 m
    ahead, nested in A's box as well but 14 m further on the ground, keeps its track."""
    true, scene = person_with_nested_box()
    off = ids(TrackSSMTracker(TrackSSMParams(weights=ground_model)), scene)
    on = ids(TrackSSMTracker(TrackSSMParams(weights=ground_model, shadow_overlap=0.6)), scene)
    assert off == [[1], [1], [1, 2], [1, 2]]
    assert on == [[1], [1], [1], [1]]
    behind = person(20.0, 0.1)
    scene = [[det(true)], [det(true), det(behind, 0.8)], [det(true), det(behind, 0.8)], [det(true), det(behind, 0.8)]]
    assert ids(TrackSSMTracker(TrackSSMParams(weights=ground_model, shadow_overlap=0.6)), scene) == \
        [[1], [1], [1, 2], [1, 2]]


@pytest.mark.parametrize("options, message", [
    ({"assoc": "kalman"}, "assoc must be one of"),
    ({"assoc_gate": 0.0}, "assoc_gate must be > 0"),
    ({"assoc_noise": -0.1}, "assoc_noise must be > 0"),
    ({"assoc_bonus": -1.0}, "assoc_bonus must be >= 0"),
    ({"assoc_extent": float("nan")}, "assoc_extent must be >= 0"),
    ({"shadow_overlap": 0.0}, "shadow_overlap must be in"),
    ({"shadow_overlap": 1.5}, "shadow_overlap must be in"),
])
def test_association_options_are_checked(ground_model, options, message):
    with pytest.raises(InputError, match=message):
        TrackSSMTracker(TrackSSMParams(weights=ground_model, **options))


def test_history_blend_keeps_a_share_of_the_prediction_in_the_history_not_in_the_output():
    """An untrained image model predicts constant velocity: after [100, 100, 200, 300] and
    [120, 100, 220, 300] it predicts [140, 100, 240, 300]. The detection [150, 110, 250, 310] is
    reported as it is; with ``history_blend=0.2`` the track's history keeps 0.8 x detection +
    0.2 x prediction = [148, 108, 248, 308] (the second detection, the track's first with a
    history, is kept as seen)."""
    scene = [[det([100, 100, 200, 300])], [det([120, 100, 220, 300])], [det([150, 110, 250, 310])]]
    for blend, want in ((0.0, [150, 110, 250, 310]), (0.2, [148, 108, 248, 308])):
        trk = TrackSSMTracker(TrackSSMParams(weights="random", history_blend=blend))
        out = run(trk, scene)
        np.testing.assert_allclose(out[-1][0, :4], [150, 110, 250, 310])
        np.testing.assert_allclose(trk.tracks[0].boxes[-2], [120, 100, 220, 300])
        np.testing.assert_allclose(trk.tracks[0].boxes[-1], want, atol=1e-3)
    for bad in (-0.1, 1.0):
        with pytest.raises(InputError, match="history_blend must be in"):
            TrackSSMTracker(TrackSSMParams(weights="random", history_blend=bad))
