"""detbench.core.pose_camera: a camera and a camera pair on Python floats against
detbench.core.geometry.Camera's numpy matrices, computed there independently."""
from __future__ import annotations

import numpy as np
import pytest
from test_geometry import K, pose

from detbench.core.geometry import Camera
from detbench.core.image_motion import ground_image_homography, rotation_homography
from detbench.core.pose_camera import float_camera, float_pair, forget_float_cameras


@pytest.mark.parametrize("yaw,x,height", [(0.0, 0.0, 1.5), (12.0, 2.0, 1.5), (-30.0, 40.0, 2.5)])
def test_float_camera_and_pair_equal_the_numpy_cameras_matrices(yaw, x, height):
    """R K^-1, the ground homography, the centre, G_to G_from^-1 and K_to R_to^T R_from K_from^-1
    equal numpy's products to 1e-12 relative (rounding only: summed in another order)."""
    t_a, t_b = pose(0.0), pose(yaw, x=x, height=height)
    cam_a, cam_b = Camera(K, t_a), Camera(K, t_b)
    fa, fb = float_camera(K, t_a), float_camera(K, t_b)
    np.testing.assert_allclose(fa.rays, t_a[:3, :3] @ np.linalg.inv(K), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(fb.ground, cam_b.ground_homography, rtol=1e-12, atol=1e-9)
    assert fb.centre == tuple(t_b[:3, 3])
    pair = float_pair(fa, fb)
    np.testing.assert_allclose(pair.ground, ground_image_homography(cam_a, cam_b), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(pair.rotation, rotation_homography(cam_a, cam_b), rtol=1e-12, atol=1e-9)


def test_float_cameras_are_remembered_by_content_and_checked_as_camera_checks():
    k, t = K.copy(), pose(3.0, x=1.0)
    cam = float_camera(k, t, 1600, 900)
    assert float_camera(k.copy(), t.copy(), 1600, 900) is cam
    assert float_camera(k, t, 1600, 800) is not cam
    t[0, 3] = 99.0                                   # the caller's array is the caller's
    assert cam.centre[0] == 1.0 and float_camera(k, t) is not cam
    assert float_pair(cam, float_camera(K, pose(5.0))) is float_pair(cam, float_camera(K, pose(5.0)))
    forget_float_cameras()
    assert float_camera(K, pose(3.0, x=1.0)) is not cam
    for bad_k, bad_t in ((K, np.diag([1.0, 1.0, -1.0, 1.0])), (np.zeros((3, 3)), pose(0.0)),
                         (K, np.full((4, 4), np.nan)), (K[:2], pose(0.0))):
        with pytest.raises(ValueError) as numpy_error:
            Camera(bad_k, bad_t)
        with pytest.raises(ValueError, match=str(numpy_error.value).replace("(", r"\(").replace(")", r"\)")):
            float_camera(bad_k, bad_t)
