"""The ``ground`` tracker's birth rules (trackers/ground/birth.py): a birth margin above the
association threshold and duplicate-aware birth, by hand-worked boxes and a standing car."""
from __future__ import annotations

import numpy as np
import pytest
from test_geometry import K, box_of_cuboid, pose

from detbench.core.errors import InputError
from detbench.core.geometry import Camera
from trackers import make_tracker
from trackers.base import Frame
from trackers.ground.birth import births, intersection_over_smaller

CAR = (4.5, 1.9, 1.6)  # length, width, height (m)


def test_intersection_over_smaller_by_hand():
    a = np.array([[0.0, 0.0, 10.0, 10.0], [0.0, 0.0, 0.0, 10.0]])       # 100 px^2; an empty box
    b = np.array([[5.0, 0.0, 25.0, 10.0],                               # 200 px^2, 50 shared: 50 / 100
                  [2.0, 2.0, 6.0, 6.0],                                 # inside: 16 / 16
                  [20.0, 20.0, 30.0, 30.0]])                            # apart
    np.testing.assert_allclose(intersection_over_smaller(a, b), [[0.5, 1.0, 0.0], [0.0, 0.0, 0.0]])


def _boxes(*rows):
    return np.array(rows, dtype=np.float64)


def test_births_skip_a_box_nested_in_a_taken_box_of_its_class():
    """Detection 0 was taken by a track. 1 lies inside it (same class): a duplicate, no birth.
    2 is the same box in another class (class-gated like association): born. 3 overlaps 0 by
    40 / 100 of the smaller box: born at 0.6, not at 0.4. 4 and 5 are a new object and its own
    duplicate (IoS 1): only the higher-scoring 5 is born. 6 scores under the birth threshold."""
    boxes = _boxes([0, 0, 20, 20], [2, 2, 18, 18], [2, 2, 18, 18], [16, 0, 26, 10],
                   [100, 100, 110, 110], [99, 99, 111, 111], [200, 200, 220, 220])
    score = np.array([0.9, 0.9, 0.9, 0.9, 0.7, 0.8, 0.5])
    cls = np.array([0, 0, 3, 0, 0, 0, 0])
    cand = np.arange(1, 7)
    taken = np.array([0])
    assert births(cand, taken, boxes, score, cls, 0.6, 0.6).tolist() == [2, 3, 5]
    assert births(cand, taken, boxes, score, cls, 0.6, 0.4).tolist() == [2, 5]
    assert births(cand, taken, boxes, score, cls, 0.6, 1.0).tolist() == [1, 2, 3, 4, 5]  # the rule off
    assert births(cand, taken, boxes, score, cls, 0.45, 1.0).tolist() == [1, 2, 3, 4, 5, 6]


def _frame(i, cam):
    return Frame(index=i, timestamp=0.5 * i, frame_rate=2.0, intrinsics=K, cam2global=cam.cam2global)


def _shrunk(box, f):
    c, half = (box[:2] + box[2:]) / 2, (box[2:] - box[:2]) / 2 * f
    return np.concatenate([c - half, c + half])


@pytest.mark.parametrize("overlap, tracks", [(1.0, 2), (0.6, 1)])
def test_a_duplicate_of_a_tracked_car_starts_a_track_only_without_the_rule(overlap, tracks):
    """A car stands 20 m ahead of a still camera for three frames; from the second frame a
    detector adds a second car box 10 % smaller around the same centre (a duplicate, IoS 1 with
    the car's box). The track takes the exact box (its prediction); the duplicate starts a
    second track unless duplicate-aware birth is on."""
    cam = Camera(K, pose(0.0))
    box = box_of_cuboid(cam, (20.0, 0.0), *CAR)
    tracker = make_tracker("ground", {"birth_overlap": overlap})
    ids = set()
    for i in range(3):
        rows = [[*box, 0.9, 0]] + ([[*_shrunk(box, 0.9), 0.85, 0]] if i else [])
        out = tracker.update(np.array(rows, dtype=np.float32), _frame(i, cam))
        ids |= {int(r[4]) for r in out}
        assert int(out[0, 4]) == 1  # the car keeps its first id
    assert len(ids) == tracks


def test_a_birth_margin_needs_more_score_to_start_than_to_continue():
    """track_thresh 0.45, birth margin 0.15: a car seen at 0.9 goes on at 0.5 (association needs
    0.45), while a pedestrian first seen at 0.5 starts nothing (a birth needs 0.6); without the
    margin it does."""
    cam = Camera(K, pose(0.0))
    car, ped = box_of_cuboid(cam, (20.0, 0.0), *CAR), box_of_cuboid(cam, (15.0, 4.0), 0.7, 0.7, 1.75)
    for margin, expect in ((0.15, [1]), (0.0, [1, 2])):
        tracker = make_tracker("ground", {"birth_margin": margin})
        tracker.update(np.array([[*car, 0.9, 0]], dtype=np.float32), _frame(0, cam))
        out = tracker.update(np.array([[*car, 0.5, 0], [*ped, 0.5, 4]], dtype=np.float32), _frame(1, cam))
        assert out[:, 4].astype(int).tolist() == expect


@pytest.mark.parametrize("opts", [{"birth_margin": -0.1}, {"birth_margin": 1.5}, {"birth_overlap": 0.0},
                                  {"birth_overlap": 1.5}])
def test_bad_birth_options_are_input_errors(opts):
    with pytest.raises(InputError, match="birth_"):
        make_tracker("ground", opts)


def test_contact_distances_by_hand():
    """(3, 0) from (0, 0) under I + I: 9 / 2; (3, 0) from (1, 1) under 2I + I: (4 + 1) / 3."""
    from trackers.ground.birth import contact_distances

    d2 = contact_distances(np.array([[0.0, 0.0], [1.0, 1.0]]), np.array([np.eye(2), 2 * np.eye(2)]),
                           np.array([[3.0, 0.0]]), np.array([np.eye(2)]))
    np.testing.assert_allclose(d2, [[4.5], [5 / 3]])


def test_an_object_behind_a_tracked_one_is_born_though_its_box_nests():
    """A pedestrian 8 m ahead of the camera and another 30 m ahead on the same line of sight: the
    far one's box lies inside the near one's (IoS 1), but their contacts are 22 m apart on the
    ground, so duplicate-aware birth lets it start a track; by image overlap alone it would not."""
    from trackers.ground.measure import observe

    cam = Camera(K, pose(0.0))
    near, far = (box_of_cuboid(cam, (x, 0.0), 0.7, 0.7, 1.75) for x in (8.0, 30.0))
    boxes = np.array([near, far])
    assert intersection_over_smaller(boxes[1:], boxes[:1])[0, 0] == 1.0
    cls, score = np.array([4, 4]), np.array([0.9, 0.9])
    obs = observe(cam, boxes, cls, noise=0.1)
    assert births(np.array([1]), np.array([0]), boxes, score, cls, 0.55, 0.6, obs).tolist() == [1]
    assert births(np.array([1]), np.array([0]), boxes, score, cls, 0.55, 0.6).tolist() == []
