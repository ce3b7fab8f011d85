"""A ground track's image box drawn as the devkit draws a 2D box (trackers/ground/cuboid.py): a
cuboid straddling the camera's plane worked out by hand and against nuscenes-devkit's own Box
corners, ``view_points`` and ``post_process_coords``; and the ``image_box`` option's contract."""
from __future__ import annotations

import numpy as np
import pytest
from nuscenes.scripts.export_2d_annotations_as_json import post_process_coords
from nuscenes.utils.data_classes import Box
from nuscenes.utils.geometry_utils import view_points
from pyquaternion import Quaternion
from test_geometry import K, box_of_cuboid, pose

from detbench.core.errors import InputError
from detbench.core.geometry import Camera
from trackers import make_tracker
from trackers.base import Frame
from trackers.ground.cuboid import CLASS_WIDTH_M, cuboid_boxes, object_dims, track_yaws
from trackers.ground.measure import CLASS_LENGTH_M, project_tracks

# a round camera for the hand-worked case: fx = fy = 1000, principal point (800, 450), 1600 x 900
K_ROUND = np.array([[1000.0, 0.0, 800.0], [0.0, 1000.0, 450.0], [0.0, 0.0, 1.0]])


def test_a_cuboid_straddling_the_camera_plane_worked_by_hand():
    """The camera looks along +x from 1.5 m above the origin. A 4 x 2 x 2 m cuboid (footprint
    centre (-1, -1.5), length along x) spans x in [-3, 1] (depth -3 to 1 m: straddling the
    camera's plane), y in [-2.5, -0.5] (0.5 to 2.5 m right of the axis), z in [0, 2] (camera y
    1.5 down to -0.5). The four corners in front lie at depth 1: u = 800 + 1000 x_cam in
    {1300, 3300}, v = 450 + 1000 y_cam in {-50, 1950}; their hull (the rectangle) clipped to the
    image is [1300, 1600] x [0, 900]: a box of the full height cut at three edges."""
    cam = Camera(K_ROUND, pose(0.0), 1600, 900)
    got = cuboid_boxes(cam, np.array([[-1.0, -1.5]]), np.zeros(1), np.zeros(1), np.array([[4.0, 2.0, 2.0]]))
    np.testing.assert_allclose(got, [[1300.0, 0.0, 1600.0, 900.0]], atol=1e-9)
    # the plain rule (the size re-projected at the contact) has no box for it: the centre is behind
    assert np.isnan(project_tracks(cam, np.array([[-1.0, -1.5]]), np.array([[2.0, 2.0]]))).all()


def _devkit_box(cam: Camera, centre, base_z, yaw, dims):
    """nuScenes' 2D box of the cuboid as ``export_2d_annotations_as_json`` makes it: the devkit's
    Box (global) moved into the camera frame, its corners with depth > 0 through ``view_points``,
    ``post_process_coords`` (None: none; also where the hull is a line, on which the devkit's
    function raises: nutonomy/nuscenes-devkit's known crash, a box of no area)."""
    length, width, height = dims
    box = Box([centre[0], centre[1], base_z + height / 2], [width, length, height],
              Quaternion(axis=[0.0, 0.0, 1.0], angle=yaw))
    box.translate(-cam.cam2global[:3, 3])
    box.rotate(Quaternion(matrix=cam.cam2global[:3, :3]).inverse)
    corners = box.corners()
    corners = corners[:, corners[2, :] > 0]
    if not corners.shape[1]:
        return None
    points = view_points(corners, cam.intrinsics, normalize=True)[:2].T
    try:
        return post_process_coords(points.tolist(), (cam.width, cam.height))
    except AttributeError:  # 'LineString' object has no attribute 'exterior'
        return None


def test_cuboid_boxes_match_the_devkits_2d_boxes_near_the_camera():
    """Seeded cuboids around a turned camera, many straddling its plane or cut by the image's
    edges: every box equals the devkit recipe's (NaN where the devkit has none)."""
    rng = np.random.default_rng(0)
    cam = Camera(K, pose(25.0, x=3.0, y=-2.0), 1600, 900)
    n = 300
    centre = cam.cam2global[:2, 3] + rng.uniform(-12.0, 12.0, size=(n, 2))
    yaw = rng.uniform(-np.pi, np.pi, n)
    dims = np.column_stack([rng.uniform(0.5, 12.0, n), rng.uniform(0.5, 3.0, n), rng.uniform(1.0, 4.0, n)])
    base = rng.uniform(-0.3, 0.3, n)
    got = cuboid_boxes(cam, centre, base, yaw, dims)
    cut = straddling = 0
    for i in range(n):
        want = _devkit_box(cam, centre[i], base[i], yaw[i], dims[i])
        if want is None or want[2] - want[0] <= 0 or want[3] - want[1] <= 0:
            assert np.isnan(got[i]).all(), i
            continue
        np.testing.assert_allclose(got[i], want, atol=1e-6, err_msg=str(i))
        cut += bool(min(want[:2]) <= 0 or want[2] >= 1600 or want[3] >= 900)
        straddling += bool(want[1] <= 0 and want[3] >= 900)
    assert cut >= 30 and straddling >= 10  # the cases the rule is for are in the sample


def test_yaws_and_dims_of_tracks():
    """A moving track's yaw is its velocity's heading; a standing one keeps its last yaw, else
    takes the ego vehicle's heading; the length and width are the class's, the height the
    track's own mean measured one, else its last, else the class's."""
    x = np.array([[0.0, 0.0, 0.0, 3.0], [0.0, 0.0, 0.1, 0.0], [0.0, 0.0, 0.0, 0.0]])
    p = np.tile(np.eye(4) * 0.01, (3, 1, 1))
    np.testing.assert_allclose(track_yaws(x, p, np.array([0.3, 0.3, np.nan]), 1.0), [np.pi / 2, 0.3, 1.0])
    p[0, 2, 2] = p[0, 3, 3] = 4.0  # speed 3 m/s within twice its spread (2 x 2 m/s): not moving
    assert track_yaws(x[:1], p[:1], np.array([0.3]), 1.0)[0] == 0.3
    dims = object_dims(np.array([0, 4, 1]), np.array([1.5, np.nan, np.nan]), np.array([np.log(1.8), 0, 0]),
                       np.array([2, 0, 0]))
    np.testing.assert_allclose(dims, [[CLASS_LENGTH_M[0], CLASS_WIDTH_M[0], 1.8],
                                      [CLASS_LENGTH_M[4], CLASS_WIDTH_M[4], 1.77],
                                      [CLASS_LENGTH_M[1], CLASS_WIDTH_M[1], 2.84]])


def test_image_box_option_contract():
    """``image_box`` takes plain, cuboid or edge (one line naming the option otherwise); ``plain``
    predicts a ground track's physical size re-projected at its contact, ``cuboid`` the devkit's
    box of its class cuboid centred there (yaw: the ego vehicle's heading), ``edge`` the cuboid's
    box only where a box meets an image edge."""
    with pytest.raises(InputError, match="image_box='hull' must be one of plain, cuboid, edge"):
        make_tracker("ground", {"image_box": "hull"})
    cams = [Camera(K, pose(0.0, x=0.0)), Camera(K, pose(0.0, x=2.0))]  # the ego drives 2 m along +x
    car = (4.62, 1.95, 1.6)
    far, near = (30.0, 0.0), (9.0, -3.2)  # the near car is cut by the image's right edge
    dets = [np.array([[*box_of_cuboid(cams[0], c, *car), 0.9, 0] for c in (far, near)], dtype=np.float32)]
    preds = {}
    for rule in ("plain", "cuboid", "edge"):
        tracker = make_tracker("ground", {"image_box": rule})
        tracker.update(dets[0], Frame(index=0, timestamp=0.0, frame_rate=2.0, intrinsics=K,
                                      cam2global=cams[0].cam2global))
        frame = Frame(index=1, timestamp=0.5, frame_rate=2.0, intrinsics=K, cam2global=cams[1].cam2global)
        _, preds[rule] = tracker.predict(frame)
        _, x, p, boxes = tracker._predicted(frame, cams[1])
    dims = object_dims(np.zeros(2, dtype=np.int64), tracker.size[:, 1], tracker.log_height, tracker.heights)
    drawn = cuboid_boxes(cams[1], x[:, :2], tracker.z, np.zeros(2), dims)
    plain = np.clip(project_tracks(cams[1], x[:, :2], tracker.size, tracker.z), 0, [1600, 900, 1600, 900])
    assert drawn[1, 2] == 1600.0 and plain[0, 2] < 1600 and drawn[0, 2] < 1600  # only the near one at the edge
    np.testing.assert_allclose(preds["plain"], plain)
    np.testing.assert_allclose(preds["cuboid"], drawn)
    np.testing.assert_allclose(preds["edge"], [plain[0], drawn[1]])
