"""TrackSSM's optional rules (trackers/trackssm/rules.py): duplicate-aware birth and the ground gate.

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
from trackers.base import Frame
from trackers.trackssm import checkpoint
from trackers.trackssm.model import ModelConfig, build_model
from trackers.trackssm.tracker import TrackSSMParams, TrackSSMTracker

PED = 4


def person(x: float, y: float = 0.0) -> np.ndarray:
    return billboard(pose(), x, y, width=0.6, height=1.7)


@pytest.fixture(scope="module")
def ground_model(tmp_path_factory):
    return str(checkpoint.save(tmp_path_factory.mktemp("m") / "g",
                               build_model(ModelConfig(**SMALL_MOTION, ground=True)), {}))


def frame(i: int) -> Frame:
    return Frame(i, i / 2.0, 2.0, W, H, intrinsics=K, cam2global=pose())


def det(box, score=0.9, cls=PED) -> list:
    return [*box, score, cls]


def run(tracker, frames_of_dets) -> list[np.ndarray]:
    return [tracker.update(np.array(d, float).reshape(-1, 6), frame(i)) for i, d in enumerate(frames_of_dets)]


def test_hand_worked_boxes():
    """The scene's numbers above, checked once: 6 m ahead, bottom edge at v = 700, 283.3 px high."""
    np.testing.assert_allclose(person(6.0), [750, 700 - 1700 / 6, 850, 700], atol=1e-9)


def test_a_duplicate_nested_in_a_tracked_box_starts_no_track(ground_model):
    """A person 6 m ahead, from frame 2 on with a second box inside its own (shrunk by 10 % a
    side: it lies entirely in the taken box, contacts 28 px apart in a 283 px box, on the same
    place) scoring 0.8. Without the rule the leftover box starts a track that is confirmed the next
    frame: two ids on one person. With ``birth_overlap=0.6`` one id throughout."""
    true = person(6.0)
    w, h = true[2] - true[0], true[3] - true[1]
    dup = true + [0.1 * w, 0.1 * h, -0.1 * w, -0.1 * h]
    scene = [[det(true)], [det(true), det(dup, 0.8)], [det(true), det(dup, 0.8)], [det(true), det(dup, 0.8)]]
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
