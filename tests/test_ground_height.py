"""Depth from the class height (trackers/ground/height.py): a box whose bottom ray misses the ground
plane placed on its ray by hand-worked numbers, the implausible-contact rule at its bounds, the
road-grade bound, and a track that lives in 3D predicting its box after the ego vehicle moves."""
from __future__ import annotations

import numpy as np
import pytest
from test_geometry import K, pose

from detbench.core.geometry import CLASS_HEIGHT_M, Camera
from detbench.core.types import iou_matrix
from trackers import make_tracker
from trackers.base import Frame
from trackers.ground.height import implausible_heights
from trackers.ground.measure import observe

PED = 4  # class index; CLASS_HEIGHT_M[PED] = 1.77 m


def _cuboid_box(cam: Camera, centre_xy, length, width, height, base_z) -> np.ndarray:
    """The 2D box of an axis-aligned cuboid standing on a surface ``base_z`` m above the plane."""
    cx, cy = centre_xy
    corners = np.array([[cx + sx * length / 2, cy + sy * width / 2, base_z + z]
                        for sx in (-1, 1) for sy in (-1, 1) for z in (0.0, height)])
    uv, _ = cam.project(corners)
    return np.array([*uv.min(axis=0), *uv.max(axis=0)])


def test_a_box_above_the_horizon_is_placed_from_its_class_height_as_worked_by_hand():
    """A pedestrian 60 m ahead and 2 m left, on a road 3 m above the plane under the ego vehicle
    (a 5 % grade), seen by a camera 1.5 m up: box height fy 1.77 / 60 = 37.359 px, width
    fx 0.6 / 60 = 12.664 px, bottom centre u = cx - fx 2 / 60 = 774.087, v = cy - fy 1.5 / 60 =
    459.84, above the horizon (v < cy): no ground contact. Placed at depth fy 1.77 / 37.359 = 60 m
    on that ray: (60, 2), 3 m up; along the horizontal ray the spread is the horizontal reach
    sqrt(60^2 + 2^2) = 60.033 m x hypot(0.5, 0.1) = 30.611 m (class-height prior 0.5, pixel noise
    10 %), across it 60 m x 1.2664 px / fx = 0.060 m."""
    cam = Camera(K, pose(0.0))
    fx, fy, cx, cy = K[0, 0], K[1, 1], K[0, 2], K[1, 2]
    h, w, u, v = fy * 1.77 / 60, fx * 0.6 / 60, cx - fx * 2 / 60, cy - fy * 1.5 / 60
    assert (h, w, u, v) == pytest.approx((37.359, 12.664, 774.087, 459.84), abs=1e-3)
    box = np.array([[u - w / 2, v - h, u + w / 2, v]])
    assert not observe(cam, box, np.array([PED]), noise=0.1).valid[0]
    obs = observe(cam, box, np.array([PED]), noise=0.1, height_depth=True)
    assert obs.valid[0] and obs.from_height[0]
    np.testing.assert_allclose(obs.xy[0], [60.0, 2.0], atol=1e-9)
    assert obs.z[0] == pytest.approx(3.0, abs=1e-9)
    np.testing.assert_allclose(obs.size[0], [0.6, CLASS_HEIGHT_M[PED]], atol=1e-9)
    ray = obs.xy[0] / np.linalg.norm(obs.xy[0])
    across = np.array([-ray[1], ray[0]])
    assert np.sqrt(ray @ obs.cov[0] @ ray) == pytest.approx(30.611, abs=1e-3)
    assert np.sqrt(across @ obs.cov[0] @ across) == pytest.approx(0.060, abs=1e-6)
    assert ray @ obs.cov[0] @ across == pytest.approx(0.0, abs=1e-9)


def test_implausible_heights_lie_outside_three_sigmas_of_the_class_height():
    """Relative error 0.5, 3 sigmas: a pedestrian (1.77 m) is implausible above 1.77 x 2.5 =
    4.425 m and below 1.77 / 2.5 = 0.708 m; an unknown height never is."""
    heights = np.array([4.5, 4.4, 0.70, 0.72, np.nan, 1.77])
    got = implausible_heights(heights, np.full(6, PED), 0.5)
    assert got.tolist() == [True, False, True, False, False, False]


def test_an_implausible_contact_is_replaced_and_a_placement_off_any_road_is_not():
    """(a) A 50 px pedestrian box whose bottom ray meets the plane 145 m away implies a
    50 x 145 / fy = 5.72 m pedestrian (over 4.425): it is placed at fy 1.77 / 50 = 44.83 m, where
    the ray passes 1.5 - 1.5 x 44.83 / 145 = 1.036 m above the plane. (b) A 60.58 px box whose
    contact implies 0.28 m: placed from its height it would stand 8 m below the plane at 37 m
    (a 22 % grade, past the 10 % bound), so it keeps its ground contact."""
    cam = Camera(K, pose(0.0))
    fy, cx, cy = K[1, 1], K[0, 2], K[1, 2]
    v = cy + fy * 1.5 / 145
    obs = observe(cam, np.array([[cx - 10, v - 50, cx + 10, v]]), np.array([PED]), 0.1, height_depth=True)
    assert obs.from_height[0]
    assert obs.xy[0, 0] == pytest.approx(fy * 1.77 / 50, rel=1e-9)
    assert obs.z[0] == pytest.approx(1.5 - 1.5 * (fy * 1.77 / 50) / 145, rel=1e-9)
    h = fy * 1.77 / 37
    v = cy + fy * 9.5 / 37
    box = np.array([[cx - 10, v - h, cx + 10, v]])
    plain = observe(cam, box, np.array([PED]), 0.1)
    assert plain.size[0, 1] == pytest.approx(0.28, abs=0.01)
    obs = observe(cam, box, np.array([PED]), 0.1, height_depth=True)
    assert obs.valid[0] and not obs.from_height[0]
    np.testing.assert_allclose(obs.xy[0], plain.xy[0])


def test_a_track_placed_from_its_height_follows_the_ego_motion():
    """The pedestrian of the first test stands still while the camera drives 5 m forward and
    turns 10 degrees left in 0.5 s. Placed in 3D, its track predicts the new box within IoU 0.9;
    as an image-only track (the option off) only the camera's turn moves the box, not the 5 m of
    approach, and the prediction overlaps the object's box by less than 0.6."""
    cams = [Camera(K, pose(0.0)), Camera(K, pose(10.0, x=5.0))]
    boxes = [_cuboid_box(c, (60.0, 2.0), 0.6, 0.6, 1.77, 3.0) for c in cams]
    frames = [Frame(index=i, timestamp=0.5 * i, frame_rate=2.0, intrinsics=K, cam2global=c.cam2global)
              for i, c in enumerate(cams)]
    overlap = {}
    for on in (True, False):
        tracker = make_tracker("ground", {"height_depth": on})
        first = tracker.update(np.array([[*boxes[0], 0.9, PED]], dtype=np.float32), frames[0])
        _, predicted = tracker.predict(frames[1])
        second = tracker.update(np.array([[*boxes[1], 0.9, PED]], dtype=np.float32), frames[1])
        assert first[0, 4] == second[0, 4]
        overlap[on] = iou_matrix(predicted, boxes[1][None])[0, 0]
    assert overlap[True] >= 0.9 and overlap[False] < 0.6, overlap


def _standing_box(x: float, y: float, width: float, height: float) -> np.ndarray:
    """The box of a flat board ``width`` x ``height`` m standing at ground point (x, y) facing a
    camera 1.5 m up at the origin looking along +x (``pose(0.0)``)."""
    fx, fy, cx, cy = K[0, 0], K[1, 1], K[0, 2], K[1, 2]
    u, v = cx - fx * y / x, cy + fy * 1.5 / x
    return np.array([u - fx * width / 2 / x, v - fy * height / x, u + fx * width / 2 / x, v])


def test_size_costs_are_the_log_height_ratio_over_the_combined_spread():
    """A track whose mean log height is log 1.6 and a detection implying 1.95 m with a relative
    depth error e: cost (log(1.95 / 1.6))^2 / (0.05^2 + e^2) = 0.039135 / (0.0025 + e^2); a track
    without a measured height, or a detection without one (cut at the top), costs nothing."""
    from trackers.ground.associate import size_costs

    cam = Camera(K, pose(0.0))
    boxes = np.stack([_standing_box(15.0, 0.0, 0.6, 1.95), _standing_box(15.0, 0.0, 0.6, 1.95)])
    boxes[1, 1] = 0.0  # cut by the top edge
    obs = observe(cam, boxes, np.array([PED, PED]), 0.1, 1.5)
    assert obs.size[0, 1] == pytest.approx(1.95, rel=1e-9) and obs.height_known.tolist() == [True, False]
    e = obs.height_rel_err[0]
    ray = np.array([1.0, 0.0])  # the contact (15, 0) lies straight ahead
    assert e == pytest.approx(np.sqrt(ray @ obs.cov[0] @ ray) / 15.0, rel=1e-9)
    got = size_costs(np.log([1.6, 1.6]), np.array([3, 0]), obs, np.array([0, 1]), 0.05)
    assert np.log(1.95 / 1.6) ** 2 == pytest.approx(0.039135, abs=1e-6)
    np.testing.assert_allclose(got, [[0.039135 / (0.0025 + e ** 2), 0.0], [0.0, 0.0]], rtol=1e-4)


def test_a_track_own_height_keeps_the_tall_pedestrian_when_the_ground_prefers_the_short_one():
    """Two pedestrians 15 m ahead, 1 m apart sideways, 1.6 m and 1.95 m tall. Then only the tall
    one is detected, its contact 0.4 m from its own place and 0.6 m from the short one's (the
    ground prefers the short track: a swap). Its implied height, 1.95 m, lies log(1.95 / 1.6) from
    the short track's: with ``size_sigma`` the size cost outweighs the ground's margin."""
    from trackers.ground.associate import ground_costs, size_costs

    cam = Camera(K, pose(0.0))
    frames = [Frame(index=i, timestamp=0.5 * i, frame_rate=2.0, intrinsics=K, cam2global=cam.cam2global)
              for i in range(2)]
    short, tall = _standing_box(15.0, -0.5, 0.6, 1.6), _standing_box(15.0, 0.5, 0.6, 1.95)
    seen = _standing_box(15.0, -0.1, 0.6, 1.95)
    ids = {}
    for sigma in (0.0, 0.05):
        tracker = make_tracker("ground", {"size_sigma": sigma, "overlap_bonus": 0.0})
        first = tracker.update(np.array([[*short, 0.9, PED], [*tall, 0.9, PED]], dtype=np.float32), frames[0])
        if sigma:
            inner = tracker.inner
            _, x, p, _ = inner._predicted(frames[1], cam)
            obs = observe(cam, seen[None], np.array([PED]), inner.params.noise, inner.params.extent_noise)
            ground = ground_costs(x, p, obs.xy, obs.cov)[:, 0]
            size = size_costs(inner.log_height, inner.heights, obs, np.array([0]), sigma)[:, 0]
            assert ground[0] < ground[1] and ground[0] + size[0] > ground[1] + size[1], (ground, size)
        second = tracker.update(np.array([[*seen, 0.9, PED]], dtype=np.float32), frames[1])
        ids[sigma] = (first[first[:, 7] == 1, 4][0], second[0, 4])
    assert ids[0.0][1] != ids[0.0][0]  # without: the short pedestrian's track takes the tall one's box
    assert ids[0.05][1] == ids[0.05][0]
