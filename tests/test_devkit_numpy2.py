"""nuscenes-devkit 1.2.0 pins numpy < 2, detbench installs numpy 2 (uv override). This proves the
devkit functions detbench and its tests use still run, with values worked out by hand."""
from __future__ import annotations

import math

import numpy as np
import pytest
from nusc_minidb import OBJECTS, VERSION, instance_token, write_min_db


@pytest.fixture(scope="module")
def nusc(tmp_path_factory):
    from nuscenes.nuscenes import NuScenes

    root = write_min_db(tmp_path_factory.mktemp("np2db"), scenes=1, keyframes=2)
    return NuScenes(version=VERSION, dataroot=str(root), verbose=False)


def test_numpy_is_2():
    assert int(np.__version__.split(".")[0]) >= 2


def test_nuscenes_loads_and_indexes(nusc):
    assert len(nusc.scene) == 1 and len(nusc.sample) == 2
    assert len(nusc.sample_annotation) == 2 * len(OBJECTS)
    sample = nusc.get("sample", nusc.scene[0]["first_sample_token"])
    assert set(sample["data"]) == {"CAM_FRONT", "CAM_BACK"} and len(sample["anns"]) == len(OBJECTS)
    ann = nusc.get("sample_annotation", sample["anns"][0])
    assert ann["category_name"] == OBJECTS[ann["instance_token"].split("-", 2)[2]][0]


def test_get_box_and_box_geometry(nusc):
    rec = nusc.sample_annotation[0]
    box = nusc.get_box(rec["token"])
    np.testing.assert_allclose(box.center, rec["translation"])
    np.testing.assert_allclose(box.wlh, rec["size"])
    np.testing.assert_allclose(box.orientation.elements, rec["rotation"])

    from nuscenes.utils.data_classes import Box
    from pyquaternion import Quaternion

    b = Box([0.0, 0.0, 0.0], [2.0, 4.0, 6.0], Quaternion(1, 0, 0, 0))  # w=2, l=4, h=6
    c = b.corners()
    np.testing.assert_allclose(c.min(axis=1), [-2, -1, -3])
    np.testing.assert_allclose(c.max(axis=1), [2, 1, 3])
    b.translate(np.array([1.0, 0, 0]))
    b.rotate(Quaternion(axis=[0, 0, 1], angle=math.pi / 2))
    np.testing.assert_allclose(b.center, [0, 1, 0], atol=1e-12)


def test_quaternion_ops():
    from pyquaternion import Quaternion

    q = Quaternion(axis=[0, 0, 1], degrees=90)
    np.testing.assert_allclose(q.rotate([1.0, 0, 0]), [0, 1, 0], atol=1e-12)
    np.testing.assert_allclose((q * q).rotate([1.0, 0, 0]), [-1, 0, 0], atol=1e-12)
    np.testing.assert_allclose(q.inverse.rotate([0, 1.0, 0]), [1, 0, 0], atol=1e-12)
    np.testing.assert_allclose(q.rotation_matrix, [[0, -1, 0], [1, 0, 0], [0, 0, 1]], atol=1e-12)


def test_transform_matrix():
    from nuscenes.utils.geometry_utils import transform_matrix
    from pyquaternion import Quaternion

    q = Quaternion(axis=[0, 0, 1], angle=math.pi / 2)
    np.testing.assert_allclose(transform_matrix([1, 2, 3], q),
                               [[0, -1, 0, 1], [1, 0, 0, 2], [0, 0, 1, 3], [0, 0, 0, 1]], atol=1e-12)
    # inverse: R^T and -R^T t
    np.testing.assert_allclose(transform_matrix([1, 2, 3], q, inverse=True),
                               [[0, 1, 0, -2], [-1, 0, 0, 1], [0, 0, 1, -3], [0, 0, 0, 1]], atol=1e-12)


def test_view_points_and_box_in_image():
    from nuscenes.utils.data_classes import Box
    from nuscenes.utils.geometry_utils import BoxVisibility, box_in_image, view_points
    from pyquaternion import Quaternion

    k = np.array([[100.0, 0, 50], [0, 100, 60], [0, 0, 1]])
    # (2, 1, 4) -> (100 * 2 / 4 + 50, 100 * 1 / 4 + 60) = (100, 85)
    np.testing.assert_allclose(view_points(np.array([[2.0], [1.0], [4.0]]), k, normalize=True)[:2, 0], [100, 85])
    np.testing.assert_allclose(view_points(np.array([[2.0], [1.0], [4.0]]), k, normalize=False)[:, 0],
                               [2 * 100 + 4 * 50, 100 + 4 * 60, 4])
    ahead = Box([0, 0, 10], [1, 1, 1], Quaternion(1, 0, 0, 0))
    behind = Box([0, 0, -10], [1, 1, 1], Quaternion(1, 0, 0, 0))
    assert box_in_image(ahead, k, (200, 200), BoxVisibility.ANY)
    assert not box_in_image(behind, k, (200, 200), BoxVisibility.ANY)


def test_get_sample_data_boxes_in_camera(nusc):
    sample = nusc.get("sample", nusc.scene[0]["first_sample_token"])
    _, boxes, k = nusc.get_sample_data(sample["data"]["CAM_FRONT"])
    insts = {nusc.get("sample_annotation", b.token)["instance_token"] for b in boxes}
    assert instance_token(0, "car_ahead") in insts and instance_token(0, "truck_behind") not in insts
    _, back, _ = nusc.get_sample_data(sample["data"]["CAM_BACK"])
    assert instance_token(0, "truck_behind") in {nusc.get("sample_annotation", b.token)["instance_token"] for b in back}
    assert k.shape == (3, 3)


def test_official_splits_and_export_2d_helper():
    from nuscenes.scripts.export_2d_annotations_as_json import post_process_coords
    from nuscenes.utils.splits import create_splits_scenes

    s = create_splits_scenes()
    assert (len(s["train"]), len(s["val"]), len(s["mini_train"]), len(s["mini_val"])) == (700, 150, 8, 2)
    # a square half outside the left edge: clipped at x = 0
    np.testing.assert_allclose(post_process_coords([[-10, 10], [10, 10], [10, 30], [-10, 30]], (1600, 900)),
                               (0, 10, 10, 30))
