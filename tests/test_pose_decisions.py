"""The pose compensation's design switches (trackers/pose_cmc.py) and the tune-split scripts that
chose them (benchmarks/pose_decisions.py, benchmarks/ground_rules.py): each switch worked by hand."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from test_geometry import K, pose

from detbench.core.image_motion import RowMotion, clip_span
from detbench.core.pose_camera import float_camera
from trackers import pose_cmc
from trackers.pose_cmc import XYAH, XYWH

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))


def _motion(box, jacobian=(1.5, 0.2, -0.1, 1.7), scale=1.25) -> RowMotion:
    return RowMotion([list(box)], [jacobian], [scale], [True])


def test_the_moved_covariance_is_the_symmetric_part_of_t_p_tt():
    """An asymmetric P (what boxmot's update P - K S K^T drifts to) comes back as the symmetric part
    of T P T^T, T written out by hand for XYAH (centre and its velocity by J, h and its velocity by
    the depth ratio s, the aspect ratio and its velocity unchanged): a magnifying T no longer grows
    the asymmetry frame by frame until the filter's Cholesky fails."""
    rng = np.random.default_rng(0)
    a = rng.normal(size=(8, 8))
    p = a @ a.T + 8 * np.eye(8)
    p[1, 5] += 3.0                                   # asymmetric
    j, s = (1.5, 0.2, -0.1, 1.7), 1.25
    t = np.zeros((8, 8))
    t[0:2, 0:2] = t[4:6, 4:6] = np.array(j).reshape(2, 2)
    t[2, 2] = t[6, 6] = 1.0
    t[3, 3] = t[7, 7] = s
    mean = [100.0, 200.0, 0.5, 40.0, 1.0, 2.0, 0.0, 0.5]
    _, new_p = XYAH.move([mean], p[None], _motion([100, 180, 120, 230]))
    expected = t @ p @ t.T
    np.testing.assert_allclose(new_p[0], 0.5 * (expected + expected.T), rtol=1e-12)
    assert np.array_equal(new_p[0], new_p[0].T)


def test_switch_cov_off_leaves_the_covariance_as_it_was(monkeypatch):
    monkeypatch.setattr(pose_cmc, "_CARRY_COVARIANCE", False)
    p = np.diag(np.arange(1.0, 9.0))[None]
    new_x, new_p = XYWH.move([[100.0, 200.0, 20.0, 40.0, 1.0, 2.0, 0.0, 0.5]], p, _motion([100, 180, 120, 230]))
    assert new_p is p
    # the state itself still moves: the moved box's centre and size, the velocity through J
    np.testing.assert_allclose(new_x[0, :6], [110.0, 205.0, 20.0, 50.0, 1.5 + 0.4, -0.1 + 3.4])


def test_side_cut_cuts_at_the_left_and_right_edges_where_a_pixel_column_stays():
    boxes = [[-10.0, 0.0, 50.0, 40.0], [90.0, 5.0, 130.0, 10.0], [-60.0, 0.0, -5.0, 10.0], [99.5, 0.0, 130.0, 9.0],
             [float("nan"), 0.0, 10.0, 10.0]]
    clip_span(boxes, 0, 100.0)   # what cmc=pose's move applies with the image's width
    assert boxes[:4] == [[0.0, 0.0, 50.0, 40.0], [90.0, 5.0, 100.0, 10.0], [-60.0, 0.0, -5.0, 10.0],
                         [99.5, 0.0, 130.0, 9.0]]
    assert boxes[4][1:] == [0.0, 10.0, 10.0]


def test_compensation_noise_is_a_fraction_of_the_box_height_per_metre_of_ego_travel(monkeypatch):
    """k = 0.05 per metre, the camera moved 3 m forward and 4 m sideways (5 m), the moved box 80 px
    tall: the centre's variances gain (0.05 x 80 x 5)^2 = 400 px^2, nothing else changes."""
    monkeypatch.setattr(pose_cmc, "_NOISE_PER_M", 0.05)
    move = pose_cmc._Move(float_camera(K, pose(0.0)), float_camera(K, pose(0.0, x=3.0, y=4.0)))
    assert move.travel == 5.0
    p = np.tile(np.eye(8), (2, 1, 1))
    motion = RowMotion([[10.0, 20.0, 50.0, 100.0], [0.0, 0.0, 10.0, 10.0]], [(1, 0, 0, 1)] * 2, [1.0] * 2, [True] * 2)
    out = pose_cmc.with_noise(p, motion, move)
    expected = np.tile(np.eye(8), (2, 1, 1))
    expected[0, 0, 0] = expected[0, 1, 1] = 1 + 400.0
    expected[1, 0, 0] = expected[1, 1, 1] = 1 + 6.25   # 0.05 x 10 x 5 = 2.5 px
    np.testing.assert_allclose(out, expected)
    assert np.array_equal(p, np.tile(np.eye(8), (2, 1, 1)))   # a new array; the input kept
    monkeypatch.setattr(pose_cmc, "_NOISE_PER_M", 0.0)
    assert pose_cmc.with_noise(p, motion, pose_cmc._Move(move.previous, move.camera)) is p


def test_pose_decisions_variants_set_the_switches_and_restore_them():
    from pose_decisions import parse_variant, switched

    assert parse_variant("today") == {}
    values = parse_variant("cov=0,sides=1,after=1,noise=0.06")
    assert values == {"_CARRY_COVARIANCE": False, "_CLIP_SIDES": True, "_AFTER_PREDICT": True, "_NOISE_PER_M": 0.06}
    before = {a: getattr(pose_cmc, a) for a in values}
    with switched(values):
        assert {a: getattr(pose_cmc, a) for a in values} == values
    assert {a: getattr(pose_cmc, a) for a in values} == before


def test_ground_rules_criterion_sums_the_gt_and_noisy_sets_only():
    from ground_rules import criterion, format_cells

    cells = [("synth6:gt", 70.5, 8), ("synth6:noisy", 54.25, 5), ("synth6:deg", 50.0, 40),
             ("synth24x6:gt", 80.0, 21), ("synth24x6:noisy", 60.0, 44)]
    assert criterion(cells) == (264.75, 78)
    assert format_cells(cells[:2], 1).endswith("|| gt+noisy HOTA sum 124.8, IDSW 13")


def test_botsort_moved_after_its_prediction_still_lands_on_the_yawed_car(monkeypatch):
    """``_AFTER_PREDICT`` moves BoT-SORT's states in its own CMC's place: the hand-worked 10-degree
    yaw (tests/test_pose_cmc.py) holds there too."""
    from test_pose_cmc import test_a_10_degree_yaw_keeps_the_id_and_predicts_the_box_on_the_object as yaw_case

    from trackers.botsort import BotSortTracker

    calls = []
    hook = BotSortTracker._pose_after_predict
    monkeypatch.setattr(pose_cmc, "_AFTER_PREDICT", True)
    monkeypatch.setattr(BotSortTracker, "_pose_after_predict", lambda self, *a: calls.append(len(a[2])) or hook(self, *a))
    yaw_case("botsort")
    assert 1 in calls   # the car's track was moved through BoT-SORT's hook, after its prediction
