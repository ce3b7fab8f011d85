"""detbench.core.geometry against the nuscenes-devkit's own geometry on synthetic data (where the
3D boxes are known), hand-built cameras for the edge cases, and finite differences."""
from __future__ import annotations

import numpy as np
import pytest

from detbench.core.geometry import CLASS_HEIGHT_M, GROUND_Z, MAX_RANGE_M, Camera, box_contacts, reproject_boxes
from detbench.core.types import iou_matrix

K = np.array([[1266.4, 0.0, 816.3], [0.0, 1266.4, 491.5], [0.0, 0.0, 1.0]])
# camera axes in the global frame: optical axis (z) along +x, image right (x) along -y, image down (y) along -z
FORWARD = np.array([[0.0, 0.0, 1.0], [-1.0, 0.0, 0.0], [0.0, -1.0, 0.0]])


def pose(yaw_deg: float = 0.0, x: float = 0.0, y: float = 0.0, height: float = 1.5) -> np.ndarray:
    """cam2global of a forward-looking camera ``height`` m above the ground, turned by ``yaw``."""
    c, s = np.cos(np.deg2rad(yaw_deg)), np.sin(np.deg2rad(yaw_deg))
    yaw = np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])
    t = np.eye(4)
    t[:3, :3] = yaw @ FORWARD
    t[:3, 3] = (x, y, height)
    return t


def box_of_cuboid(cam: Camera, centre_xy, length, width, height) -> np.ndarray:
    """The 2D box (bounds of the projected corners, all in front) of an axis-aligned cuboid on the ground."""
    cx, cy = centre_xy
    corners = np.array([[cx + sx * length / 2, cy + sy * width / 2, GROUND_Z + z]
                        for sx in (-1, 1) for sy in (-1, 1) for z in (0.0, height)])
    uv, depth = cam.project(corners)
    assert (depth > 0.5).all()
    return np.array([*uv.min(axis=0), *uv.max(axis=0)])


def devkit_cameras(root):
    """(nusc, [(sample_data, ego_pose, calibrated_sensor, Camera from devkit transform_matrix)])."""
    from nuscenes.nuscenes import NuScenes
    from nuscenes.utils.geometry_utils import transform_matrix
    from pyquaternion import Quaternion

    nusc = NuScenes(version="v1.0-synth", dataroot=str(root), verbose=False)
    out = []
    for sd in nusc.sample_data:
        if not sd["is_key_frame"]:
            continue
        cs = nusc.get("calibrated_sensor", sd["calibrated_sensor_token"])
        ego = nusc.get("ego_pose", sd["ego_pose_token"])
        cam2global = (transform_matrix(ego["translation"], Quaternion(ego["rotation"]))
                      @ transform_matrix(cs["translation"], Quaternion(cs["rotation"])))
        out.append((sd, ego, cs, Camera(np.array(cs["camera_intrinsic"]), cam2global, sd["width"], sd["height"])))
    return nusc, out


def test_projection_and_contacts_match_the_devkit_on_synthetic_boxes(synth_root):
    """Every tracking-class box of the synthetic dataset: our projection of its 3D footprint centre
    equals the devkit's (global -> ego -> camera, ``view_points``); the ground point recovered from
    the 2D box's bottom centre lies within half the footprint's diagonal + 1.0 m of the footprint
    centre (the bottom centre's ray meets the ground at the near side of the footprint, so it is
    not the centre) and re-projects onto the bottom centre; the footprint centre projects into
    the 2D box (1 px tolerance)."""
    from nuscenes.utils.geometry_utils import view_points
    from pyquaternion import Quaternion

    from detbench.core.classes import CLASS_INDEX, class_of_category
    from detbench.data.projection import project_box

    nusc, cameras = devkit_cameras(synth_root)
    checked = 0
    for sd, ego, cs, cam in cameras:
        for token in nusc.get("sample", sd["sample_token"])["anns"]:
            ann = nusc.get("sample_annotation", token)
            cls = class_of_category(ann["category_name"])
            box3d = nusc.get_box(token)
            b2 = project_box(box3d.corners().T, ego, cs, sd["width"], sd["height"])
            if cls is None or b2 is None or min(b2[2] - b2[0], b2[3] - b2[1]) < 5:
                continue
            foot = box3d.center - [0, 0, box3d.wlh[2] / 2]
            in_cam = Quaternion(cs["rotation"]).inverse.rotate(
                Quaternion(ego["rotation"]).inverse.rotate(foot - ego["translation"]) - cs["translation"])
            ours, depth = cam.project(foot[None])
            np.testing.assert_allclose(depth[0], in_cam[2], atol=1e-9)
            if in_cam[2] < 0.5:
                continue
            devkit_uv = view_points(in_cam.reshape(3, 1), np.array(cs["camera_intrinsic"]), normalize=True)[:2, 0]
            np.testing.assert_allclose(ours[0], devkit_uv, atol=1e-6)
            clipped = b2[0] <= 0 or b2[1] <= 0 or b2[2] >= sd["width"] or b2[3] >= sd["height"]
            if not clipped:
                assert b2[0] - 1 <= ours[0, 0] <= b2[2] + 1 and b2[1] - 1 <= ours[0, 1] <= b2[3] + 1
            contact = box_contacts(cam, np.array([b2]), np.array([CLASS_INDEX[cls]]))
            if contact.cut[0] or not contact.valid[0]:
                continue
            half_diagonal = 0.5 * np.hypot(box3d.wlh[0], box3d.wlh[1])
            assert np.linalg.norm(contact.xy[0] - foot[:2]) <= half_diagonal + 1.0
            back, _ = cam.project_ground(contact.xy)
            np.testing.assert_allclose(back[0], [(b2[0] + b2[2]) / 2, b2[3]], atol=1e-6)
            checked += 1
    assert checked >= 50


def test_pixel_ray_ground_round_trip_and_horizon():
    cam = Camera(K, pose(yaw_deg=30, x=100, y=-20))
    xy = np.array([[105.0, -17.0], [140.0, 5.0], [100.5 + 8, -20 + 4.6]])
    uv, depth = cam.project_ground(xy)
    back, valid = cam.ground_from_pixels(uv)
    assert valid.all()
    np.testing.assert_allclose(back, xy, atol=1e-9)
    # the principal point's row is the horizon of a level camera: at and above it no ground point
    _, valid = cam.ground_from_pixels(np.array([[800.0, K[1, 2]], [800.0, 100.0], [800.0, K[1, 2] + 0.1]]))
    assert valid.tolist() == [False, False, False]  # the last one meets the ground ~19 km away
    assert MAX_RANGE_M < 1.5 * K[1, 1] / 0.1


def test_points_behind_the_camera_are_not_projected():
    cam = Camera(K, pose())
    uv, depth = cam.project(np.array([[-5.0, 0.0, 0.0], [0.2, 0.0, 1.0], [10.0, 0.0, 0.0]]))
    assert depth.tolist()[:2] == pytest.approx([-5.0, 0.2])
    assert np.isnan(uv[:2]).all() and np.isfinite(uv[2]).all()


def test_box_cut_by_the_bottom_edge_uses_its_top_and_class_height():
    cam = Camera(K, pose())
    # a car 3.2 m ahead: its bottom (~ row 1085) is below the 900-row image, its top is not
    full = box_of_cuboid(cam, (3.2 + 2.3, 0.0), 4.6, 1.9, CLASS_HEIGHT_M[0])
    assert full[3] > 900 and full[1] > 0
    cut = full.copy()
    cut[3] = 900.0
    contact = box_contacts(cam, cut[None], np.array([0]))
    assert contact.cut[0] and contact.valid[0]
    # the top edge is the near top edge (x = 3.2) of the cuboid: the contact lies below it
    np.testing.assert_allclose(contact.xy[0], [3.2, 0.0], atol=1e-6)
    # without a class the contact of a cut box is unknown
    assert not box_contacts(cam, cut[None]).valid[0]


def test_ground_jacobian_matches_finite_differences():
    cam = Camera(K, pose(yaw_deg=-20, x=3, y=7))
    xy = np.array([[15.0, 3.0], [30.0, 10.0], [9.0, 6.0]])
    jac = cam.ground_jacobian(xy)
    eps = 1e-5
    for k in range(2):
        step = np.zeros(2)
        step[k] = eps
        plus, _ = cam.project_ground(xy + step)
        minus, _ = cam.project_ground(xy - step)
        np.testing.assert_allclose(jac[:, :, k], (plus - minus) / (2 * eps), rtol=1e-6, atol=1e-6)


def test_static_object_under_a_10_degree_yaw_lands_on_its_box():
    """Hand-worked: the camera turns 10 degrees left between two frames while a parked car stands
    12 m ahead. In the image the car jumps right by about f * tan(10 deg) = 223 px, so its two
    boxes do not overlap; moved with the camera poses, the predicted box lands on the second one."""
    cam_a, cam_b = Camera(K, pose(0.0)), Camera(K, pose(10.0))
    car = ((12.0, 0.5), 4.6, 1.9, 1.7)
    box_a, box_b = box_of_cuboid(cam_a, *car), box_of_cuboid(cam_b, *car)
    assert iou_matrix(box_a[None], box_b[None])[0, 0] < 0.2
    shift = (box_b[0] + box_b[2]) / 2 - (box_a[0] + box_a[2]) / 2
    assert shift == pytest.approx(K[0, 0] * np.tan(np.deg2rad(10)), rel=0.15)
    predicted, valid = reproject_boxes(box_a[None], cam_a, cam_b, np.array([0]))
    assert valid[0]
    assert iou_matrix(predicted, box_b[None])[0, 0] >= 0.9


def test_forward_motion_scales_the_box_by_the_depth_ratio():
    """The ego drives 5 m towards a car 20 m ahead: the predicted box grows by ~20/15 about its
    ground contact, and matches the projected cuboid."""
    cam_a, cam_b = Camera(K, pose(x=0.0)), Camera(K, pose(x=5.0))
    car = ((20.0 + 2.3, -1.0), 4.6, 1.9, 1.7)
    box_a, box_b = box_of_cuboid(cam_a, *car), box_of_cuboid(cam_b, *car)
    predicted, valid = reproject_boxes(box_a[None], cam_a, cam_b, np.array([0]))
    assert valid[0]
    assert (predicted[0, 3] - predicted[0, 1]) / (box_a[3] - box_a[1]) == pytest.approx(20 / 15, rel=0.02)
    assert iou_matrix(predicted, box_b[None])[0, 0] >= 0.9


def test_moved_contact_and_invalid_rows_are_nan():
    cam = Camera(K, pose())
    boxes = np.array([[700.0, 400.0, 900.0, 560.0],   # a box below the horizon
                      [700.0, 300.0, 900.0, 450.0]])  # bottom above the horizon: no ground contact
    contacts = box_contacts(cam, boxes)
    assert contacts.valid.tolist() == [True, False]
    moved = contacts.xy + [[2.0, 0.0], [0.0, 0.0]]
    out, valid = reproject_boxes(boxes, cam, cam, contacts_to=moved)
    assert valid.tolist() == [True, False] and np.isnan(out[1]).all()
    # moved 2 m away along the optical axis: smaller, bottom higher in the image
    assert out[0, 3] < boxes[0, 3] and (out[0, 2] - out[0, 0]) < (boxes[0, 2] - boxes[0, 0])
    # empty input
    out, valid = reproject_boxes(np.zeros((0, 6)), cam, cam)
    assert out.shape == (0, 4) and valid.shape == (0,)


def test_camera_rejects_a_pose_that_is_not_a_rotation():
    bad = pose()
    bad[:3, :3] *= 2
    with pytest.raises(ValueError, match="not a rotation"):
        Camera(K, bad)
    with pytest.raises(ValueError, match="3x3"):
        Camera(np.eye(4), pose())


def test_camera_matrices_are_c_ordered_and_checked():
    """Every matrix a Camera keeps is C-ordered (BLAS may round a product by its operands' layout,
    and tracks are compared byte for byte); bad intrinsics or poses are refused with one message."""
    cam = Camera(K, pose(7.0, x=3.0, y=-2.0))
    for name in ("intrinsics", "cam2global", "_k_inv", "_world_to_pixel", "_ground_h", "_centre"):
        assert getattr(cam, name).flags.c_contiguous, name
    with pytest.raises(ValueError, match="intrinsics must be a finite 3x3"):
        Camera(np.eye(2), pose())
    with pytest.raises(ValueError, match="cam2global must be a finite 4x4"):
        Camera(K, np.full((4, 4), np.nan))
    with pytest.raises(ValueError, match="cam2global must be a finite 4x4"):
        Camera(K, np.eye(3))
