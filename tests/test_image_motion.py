"""detbench.core.image_motion: per-box image motion of a camera move, against hand-built cameras,
detbench.core.geometry's own reprojection and finite differences."""
from __future__ import annotations

import numpy as np
import pytest
from test_geometry import K, box_of_cuboid, pose

from detbench.core.geometry import Camera, box_contacts, reproject_boxes
from detbench.core.image_motion import (
    apply_homography,
    box_motion,
    ground_image_homography,
    homography_jacobian,
    rotation_homography,
)
from detbench.core.types import iou_matrix


def test_a_pure_rotation_moves_every_point_like_a_point_at_infinity():
    """Same camera centre, turned 10 degrees: ground points and directions move alike (no parallax),
    so the ground homography equals K R K^-1, and a pixel on the optical axis moves by f tan(10 deg)."""
    cam_a, cam_b = Camera(K, pose(0.0)), Camera(K, pose(10.0))
    rot = rotation_homography(cam_a, cam_b)
    ground = ground_image_homography(cam_a, cam_b)
    np.testing.assert_allclose(ground / ground[2, 2], rot / rot[2, 2], atol=1e-9)
    uv, w = apply_homography(rot, [[K[0, 2], K[1, 2]]])
    assert w[0] > 0
    np.testing.assert_allclose(uv[0], [K[0, 2] + K[0, 0] * np.tan(np.deg2rad(10)), K[1, 2]], atol=1e-6)


def test_ground_boxes_move_as_reprojected_with_the_homography_jacobian_and_depth_ratio():
    """The ego drives 5 m and turns 3 degrees: each box moves exactly as reproject_boxes moves it,
    its scale is depth_from / depth_to of its contact, and its Jacobian is the finite-difference
    derivative of the ground-pixel map at the contact's pixel."""
    cam_a, cam_b = Camera(K, pose(0.0)), Camera(K, pose(3.0, x=5.0, y=0.3))
    boxes = np.array([box_of_cuboid(cam_a, (22.3, -1.0), 4.6, 1.9, 1.7),
                      box_of_cuboid(cam_a, (40.0, 4.0), 4.6, 1.9, 1.7),
                      box_of_cuboid(cam_a, (15.0, 2.5), 0.7, 0.7, 1.8)])
    classes = np.array([0, 0, 4])
    motion = box_motion(boxes, cam_a, cam_b, classes)
    expected, valid = reproject_boxes(boxes, cam_a, cam_b, classes, clip=False)
    assert valid.all() and motion.on_ground.all()
    np.testing.assert_allclose(motion.boxes, expected, atol=1e-9)
    xy = box_contacts(cam_a, boxes, classes).xy
    uv_a, depth_a = cam_a.project_ground(xy)
    _, depth_b = cam_b.project_ground(xy)
    np.testing.assert_allclose(motion.scale, depth_a / depth_b, rtol=1e-12)
    assert motion.scale[0] == pytest.approx(20.0 / 15.0, rel=0.03)  # ~5 m closer to a car 20 m ahead

    def ground_pixel_map(uv):
        ground, ok = cam_a.ground_from_pixels(uv)
        assert ok.all()
        return cam_b.project_ground(ground)[0]

    eps = 1e-4
    for k in range(2):
        step = np.zeros(2)
        step[k] = eps
        numeric = (ground_pixel_map(uv_a + step) - ground_pixel_map(uv_a - step)) / (2 * eps)
        np.testing.assert_allclose(motion.jacobian[:, :, k], numeric, rtol=1e-5, atol=1e-6)


def test_boxes_off_the_ground_turn_with_the_camera_and_keep_their_size():
    """A box whose bottom is above the horizon has no contact: its centre moves by the
    rotation-only homography, its size stays, and its Jacobian is that homography's."""
    cam_a, cam_b = Camera(K, pose(0.0)), Camera(K, pose(-4.0, x=3.0))
    box = np.array([[700.0, 300.0, 900.0, 450.0]])
    motion = box_motion(box, cam_a, cam_b)
    assert not motion.on_ground[0] and motion.scale[0] == 1.0
    rot = rotation_homography(cam_a, cam_b)
    centre, _ = apply_homography(rot, [[800.0, 375.0]])
    np.testing.assert_allclose(motion.boxes[0], [centre[0, 0] - 100, centre[0, 1] - 75,
                                                 centre[0, 0] + 100, centre[0, 1] + 75], atol=1e-9)
    np.testing.assert_allclose(motion.jacobian[0], homography_jacobian(rot, [[800.0, 375.0]])[0], atol=1e-12)
    assert motion.boxes[0, 0] < 700.0 - K[0, 0] * np.tan(np.deg2rad(3))  # turned right: the image moves left


def test_boxes_are_cut_at_the_top_and_bottom_edges_only():
    """Driving towards a car makes its box grow past the bottom edge (cut there, as a detection
    is) and past the left edge (kept: a side-cut box's bottom centre is not the object's)."""
    cam_a, cam_b = Camera(K, pose(0.0)), Camera(K, pose(0.0, x=4.0))
    car = ((8.0 + 2.3, 2.0), 4.6, 1.9, 1.7)
    box_a = box_of_cuboid(cam_a, *car)
    full_b = box_of_cuboid(cam_b, *car)
    assert full_b[3] > 900 and full_b[0] < 0 and box_a[3] < 900
    motion = box_motion(box_a[None], cam_a, cam_b, np.array([0]))
    assert motion.boxes[0, 3] == 900.0 and motion.boxes[0, 0] < 0
    unclipped = box_motion(box_a[None], cam_a, cam_b, np.array([0]), clip_rows=False)
    assert unclipped.boxes[0, 3] > 900
    visible = np.clip(full_b, [0, 0, 0, 0], [1600, 900, 1600, 900])
    assert iou_matrix(np.clip(motion.boxes, 0, [1600, 900, 1600, 900]), visible[None])[0, 0] >= 0.9


def test_rows_that_cannot_move_stay_and_empty_input():
    cam_a, cam_b = Camera(K, pose(0.0)), Camera(K, pose(5.0, x=1.0))
    boxes = np.array([[np.nan, 0, 10, 10], [700.0, 400.0, 900.0, 560.0]])
    motion = box_motion(boxes, cam_a, cam_b)
    np.testing.assert_array_equal(motion.boxes[0], boxes[0])
    assert not motion.on_ground[0]
    np.testing.assert_array_equal(motion.jacobian[0], np.eye(2))
    assert motion.on_ground[1] and np.isfinite(motion.boxes[1]).all()
    empty = box_motion(np.zeros((0, 4)), cam_a, cam_b)
    assert empty.boxes.shape == (0, 4) and empty.jacobian.shape == (0, 2, 2) and empty.scale.shape == (0,)


def _boxes_of_every_case(rng, n: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` boxes mixing every case box_motion has: on the ground near and far, cut by the bottom
    edge (top inside or cut too), above the horizon, beyond the contact range, NaN, and sizes
    that clip at the top edge; with classes 0..6 and some out of range."""
    x1 = rng.uniform(-200, 1700, n)
    y1 = rng.uniform(-50, 700, n)
    w, h = rng.uniform(5, 600, n), rng.uniform(5, 400, n)
    boxes = np.stack([x1, y1, x1 + w, y1 + h], axis=1)
    kind = rng.integers(0, 6, n)
    boxes[kind == 1, 3] = rng.uniform(899, 1200, (kind == 1).sum())          # cut by the bottom edge
    boxes[kind == 2, 1], boxes[kind == 2, 3] = -5.0, 905.0                   # cut at both edges
    boxes[kind == 3, 3] = rng.uniform(300, 491, (kind == 3).sum())           # bottom above the horizon
    boxes[kind == 4, 3] = 491.5 + rng.uniform(0, 2, (kind == 4).sum())       # contact beyond the range
    boxes[kind == 5, 0] = np.nan
    return boxes, rng.integers(-1, 8, n)


@pytest.mark.parametrize("seed", range(4))
def test_per_box_and_array_motion_agree_to_rounding(seed):
    """box_motion's two ways (Python floats per box on pose_camera's matrices for a few boxes,
    numpy arrays on geometry.Camera's for many) agree in every case, with and without classes
    and clipping, under forward motion, a turn and a camera so close behind that contacts fall
    behind it: the same cases (which rows move on the ground, which stay) and the same values to
    1e-10 relative (pixels, Jacobians; the scale to 1e-12): rounding only, the products summed in
    another order (measured over 20 seeds: at most 1e-12 relative)."""
    from detbench.core.image_motion import _motion_of_arrays, _motion_of_rows, camera_pair
    from detbench.core.pose_camera import float_camera, float_pair

    rng = np.random.default_rng(seed)
    cam_a = Camera(K, pose(0.0))
    for cam_b in (Camera(K, pose(0.0, x=6.0)), Camera(K, pose(12.0, x=2.0, y=-1.0)),
                  Camera(K, pose(-30.0, x=40.0, height=2.5))):
        pair = camera_pair(cam_a, cam_b)
        rows_pair = float_pair(float_camera(K, cam_a.cam2global), float_camera(K, cam_b.cam2global))
        for n in (1, 3, 12, 24, 40):
            boxes, classes = _boxes_of_every_case(rng, n)
            for cls in (classes, None):
                for clip in (True, False):
                    rows = _motion_of_rows(boxes.tolist(), rows_pair, None if cls is None else cls.tolist(), clip)
                    arrays = _motion_of_arrays(boxes, pair, cls, clip)
                    assert rows.on_ground == arrays.on_ground.tolist()
                    np.testing.assert_allclose(rows.boxes, arrays.boxes, rtol=1e-10, atol=1e-10)
                    np.testing.assert_allclose(np.reshape(rows.jacobian, (-1, 2, 2)), arrays.jacobian,
                                               rtol=1e-10, atol=1e-12)
                    np.testing.assert_allclose(rows.scale, arrays.scale, rtol=1e-12)


def test_motion_rows_takes_the_arrays_beyond_rows_max_with_the_same_values():
    """cmc=pose's motion_rows: up to ROWS_MAX boxes per box on floats, beyond it numpy's way,
    both returned as the same lists (boxes, (j00, j01, j10, j11), scale, on_ground)."""
    from detbench.core.image_motion import ROWS_MAX, _motion_of_rows, motion_rows
    from detbench.core.pose_camera import float_camera, float_pair

    cam_a, cam_b = float_camera(K, pose(0.0)), float_camera(K, pose(8.0, x=3.0))
    boxes, classes = _boxes_of_every_case(np.random.default_rng(7), ROWS_MAX + 20)
    rows, cls = boxes.tolist(), classes.tolist()
    many = motion_rows(rows, cam_a, cam_b, cls)
    one_by_one = _motion_of_rows(rows, float_pair(cam_a, cam_b), cls, True)
    assert many.on_ground == one_by_one.on_ground and any(many.on_ground) and not all(many.on_ground)
    np.testing.assert_allclose(many.boxes, one_by_one.boxes, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(many.jacobian, one_by_one.jacobian, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(many.scale, one_by_one.scale, rtol=1e-12)
    few = motion_rows(rows[:5], cam_a, cam_b, cls[:5])
    assert few.boxes == one_by_one.boxes[:5] and few.jacobian == one_by_one.jacobian[:5]


def test_cameras_and_camera_pairs_are_remembered_by_content():
    """camera_of gives one read-only Camera per calibration (its own copies: changing the caller's
    array later changes nothing), camera_pair one CameraPair per pair of contents; a benchmark's
    forget_cameras drops both."""
    from detbench.core.geometry import camera_of
    from detbench.core.image_motion import camera_pair, forget_cameras

    k, t = K.copy(), pose(3.0, x=1.0)
    cam = camera_of(k, t, 1600, 900)
    assert camera_of(k.copy(), t.copy(), 1600, 900) is cam
    assert camera_of(k, t, 1600, 800) is not cam
    assert not cam.intrinsics.flags.writeable and not cam.ground_homography.flags.writeable
    t[0, 3] = 99.0
    assert cam.centre[0] == 1.0 and camera_of(k, t, 1600, 900) is not cam
    other = camera_of(K, pose(5.0, x=2.0))
    assert camera_pair(cam, other) is camera_pair(Camera(K, pose(3.0, x=1.0)), Camera(K, pose(5.0, x=2.0)))
    forget_cameras()
    assert camera_of(K, pose(3.0, x=1.0)) is not cam
    with pytest.raises(ValueError, match="rotation"):
        camera_of(K, np.diag([1.0, 1.0, -1.0, 1.0]))
