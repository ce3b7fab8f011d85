"""The ``ground`` tracker (trackers/ground/): a camera turn worked out by hand, a crossing on the
ground with a moving camera, the Kalman filter and the ground covariance against hand values and
numpy, the tuning grid holding the defaults, and uncalibrated input refused before any work."""
from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from test_compare_pipeline import setup  # noqa: F401  (a tiny prepared dataset with checkpoints)
from test_geometry import K, box_of_cuboid, pose

from detbench.cli import main
from detbench.core.geometry import Camera
from detbench.core.types import iou_matrix
from trackers import make_tracker, tracker_class, tune_grid
from trackers.base import Frame
from trackers.ground import kalman
from trackers.ground.associate import image_overlaps
from trackers.ground.measure import GROUND_TILT_DEG, observe, rotate_boxes

CAR = (4.5, 1.9, 1.6)  # length, width, height (m)


def _frame(i, t, cam2global):
    return Frame(index=i, timestamp=t, frame_rate=2.0, intrinsics=K, cam2global=cam2global)


def _dets(*boxes, cls=0):
    return np.array([[*b, 0.9, cls] for b in boxes], dtype=np.float32)


def test_a_camera_turn_keeps_a_standing_car_and_predicts_its_box():
    """A car stands 20 m ahead (footprint centre (20, 0)) of a camera 1.5 m above the ground; in
    0.5 s the camera turns 10 degrees left in place. The box's bottom centre meets the ground at
    the car's near face, (17.75, 0, 0). Hand-worked: after the turn that point lies 10 degrees
    right of the optical axis at depth 17.75 cos 10 = 17.480 m, so its pixel is
    u = cx + fx tan 10 = 816.3 + 1266.4 * 0.176327 = 1039.6 and v = cy + fy 1.5 / 17.480 =
    491.5 + 108.67 = 600.2; the predicted box stands there and covers the car's new box."""
    cams = [Camera(K, pose(0.0)), Camera(K, pose(10.0))]
    boxes = [box_of_cuboid(c, (20.0, 0.0), *CAR) for c in cams]
    tracker = make_tracker("ground", {})
    first = tracker.update(_dets(boxes[0]), _frame(0, 0.0, cams[0].cam2global))
    ids, predicted = tracker.predict(_frame(1, 0.5, cams[1].cam2global))
    second = tracker.update(_dets(boxes[1]), _frame(1, 0.5, cams[1].cam2global))
    assert first[0, 4] == second[0, 4] == ids[0]
    np.testing.assert_allclose([(predicted[0, 0] + predicted[0, 2]) / 2, predicted[0, 3]], [1039.6, 600.2], atol=0.3)
    assert iou_matrix(predicted, boxes[1][None])[0, 0] >= 0.9
    assert abs(boxes[1][0] - boxes[0][0]) > 200  # the car moved 220 px in the image: IoU 0 with the last box
    assert iou_matrix(boxes[0][None], boxes[1][None])[0, 0] == 0.0


def test_a_far_car_the_ground_gate_refuses_keeps_its_id_through_the_image():
    """A car stands 100 m ahead of a still camera, seen twice 0.5 s apart with the same box. Its
    contact's pixel noise (10 % of the box, 2.4 x 2 px, and the 0.5 degree tilt: 11 px down) maps
    to about 59 m of depth spread (dv/dz = fy 1.5 / z^2 = 0.19 px/m), so a one-detection track
    (its state: the contact with covariance R, velocity spread 4 m/s) predicts with
    S >= 2 R + (4 m/s * 0.5 s)^2 I and even the perfect pair costs log det S > gate 10. The image
    pass still takes it: the predicted box is the detection's (IoU 1)."""
    cam = Camera(K, pose(0.0))
    box = box_of_cuboid(cam, (100.0, 0.0), *CAR)
    r = observe(cam, box[None], np.array([0]), noise=0.1).cov[0]
    assert np.log(np.linalg.det(2 * r + 4.0 * np.eye(2))) > tracker_class("ground").Params().gate
    tracker = make_tracker("ground", {})
    first = tracker.update(_dets(box), _frame(0, 0.0, cam.cam2global))
    second = tracker.update(_dets(box), _frame(1, 0.5, cam.cam2global))
    assert len(first) == len(second) == 1 and first[0, 4] == second[0, 4]


def test_image_overlaps_let_a_cut_box_nest_in_the_prediction():
    """A track's box (0, 0, 100, 100) and a detection covering its left half (0, 0, 50, 100):
    IoU 5000 / 10000 = 0.5; cut by an image edge the detection scores its intersection over the
    smaller box, 5000 / 5000 = 1, plus a millionth of the IoU; a NaN box overlaps nothing."""
    pred = np.array([[0.0, 0.0, 100.0, 100.0], [np.nan] * 4])
    det = np.array([[0.0, 0.0, 50.0, 100.0]])
    np.testing.assert_allclose(image_overlaps(pred, det, np.array([False])), [[0.5], [0.0]])
    np.testing.assert_allclose(image_overlaps(pred, det, np.array([True])), [[1.0 + 0.5e-6], [0.0]], rtol=0, atol=1e-12)


def test_the_overlap_bonus_keeps_a_near_pedestrian_whose_feet_are_hidden():
    """Two pedestrians stand 10 m and 13 m ahead, 0.4 m apart sideways, one box each; then only
    the near one is detected, its bottom edge 40 px high (feet hidden): its contact lies about
    3 m further, and on the ground alone it is the far track's (the lower ``d2 + log det S``),
    a switch. In the image the box overlaps the near track's prediction by IoU 0.825 and the far
    one's by 0.257; the bonus 4 x IoU (the default) outweighs the ground's margin and keeps it."""
    from trackers.ground.associate import ground_costs
    from trackers.ground.measure import observe

    ped = (0.6, 0.6, 1.75)
    cam = Camera(K, pose(0.0))
    near, far = box_of_cuboid(cam, (10.0, 0.0), *ped), box_of_cuboid(cam, (13.0, -0.4), *ped)
    hidden = near - [0.0, 0.0, 0.0, 40.0]
    np.testing.assert_allclose(iou_matrix(hidden[None], np.stack([near, far]))[0], [0.825, 0.257], atol=1e-3)
    ids = {}
    for bonus in (0.0, 4.0):
        tracker = make_tracker("ground", {"overlap_bonus": bonus})
        first = tracker.update(_dets(near, far, cls=4), _frame(0, 0.0, cam.cam2global))
        if bonus == 0.0:  # the ground's own preference, from the tracks' predictions
            _, x, p, _ = tracker.inner._predicted(_frame(1, 0.5, cam.cam2global), cam)
            obs = observe(cam, hidden[None], np.array([4]), tracker.params.noise, tracker.params.extent_noise)
            cost = ground_costs(x, p, obs.xy, obs.cov)[:, 0]
            assert cost[1] < cost[0] and cost[0] - 4 * 0.825 < cost[1] - 4 * 0.257
        second = tracker.update(_dets(hidden, cls=4), _frame(1, 0.5, cam.cam2global))
        ids[bonus] = (first[first[:, 7] == 0, 4][0], second[0, 4])
    assert ids[0.0][1] != ids[0.0][0]  # without the bonus: the far track takes the near one's box
    assert ids[4.0][1] == ids[4.0][0]


def _crossing(seed, frames=12):
    """Two pedestrians 4 m apart in depth cross each other's line of sight while the camera drives
    forward at 2 m/s: boxes (with 2 % seeded jitter) and cameras per frame, timestamps 0.45-0.55 s apart."""
    rng = np.random.default_rng(seed)
    stamps = np.concatenate([[0.0], np.cumsum(rng.uniform(0.45, 0.55, frames - 1))])
    seq = []
    for i, t in enumerate(stamps):
        cam = Camera(K, pose(0.0, x=2.0 * t))
        rows = []
        for x, y0, vy in ((20.0, -3.5, 1.4), (24.0, 3.5, -1.4)):
            b = box_of_cuboid(cam, (x, y0 + vy * t), 0.7, 0.7, 1.75)
            size = np.array([b[2] - b[0], b[3] - b[1]] * 2)
            rows.append([*(b + rng.normal(0, 0.02, 4) * size), 0.9, 4])
        seq.append((_frame(i, t, cam.cam2global), np.array(rows, dtype=np.float32)))
    return seq


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_crossing_on_the_ground_keeps_both_ids(seed):
    seq = _crossing(seed)
    overlap = max(iou_matrix(d[:1, :4], d[1:, :4])[0, 0] for _, d in seq)
    assert overlap > 0.3  # the two boxes pass over each other in the image
    ids = {0: set(), 1: set()}
    tracker = make_tracker("ground", {})
    for frame, dets in seq:
        for row in tracker.update(dets, frame):
            ids[int(row[7])].add(int(row[4]))
    assert len(ids[0]) == len(ids[1]) == 1 and ids[0] != ids[1], ids


def test_rotate_boxes_turns_a_far_box_with_the_camera():
    """A box around the optical axis seen after a 10 degree left turn: points at infinity move
    right by fx tan 10 at the centre; the box's edges at u = cx -/+ 50 px (angles atan(50 / fx))
    land at cx + fx tan(10 -/+ 2.261 deg)."""
    cx, cy, fx = K[0, 2], K[1, 2], K[0, 0]
    box = np.array([[cx - 50, cy - 20, cx + 50, cy + 20]])
    out = rotate_boxes(box, Camera(K, pose(0.0)), Camera(K, pose(10.0)))
    half = np.degrees(np.arctan(50 / fx))
    np.testing.assert_allclose(out[0, [0, 2]], cx + fx * np.tan(np.radians([10 - half, 10 + half])), atol=1e-6)


def test_ground_covariance_grows_with_depth_as_worked_by_hand():
    """A 100 x 80 px box whose bottom centre sits straight ahead at 20 m, and the same at 40 m. With
    noise 0.1: sigma_u = 10 px, sigma_v = hypot(8, fy tan 0.5 deg) px. Across the ray the ground error
    is sigma_u * d / fx; along it, sigma_v * d^2 / (fy * 1.5) (the camera is 1.5 m up): 0.158 m and
    2.87 m at 20 m; four times the along-ray error at twice the depth."""
    cam = Camera(K, pose(0.0))
    fx, fy, cx, cy = K[0, 0], K[1, 1], K[0, 2], K[1, 2]
    sigma_v = np.hypot(8.0, fy * np.tan(np.radians(GROUND_TILT_DEG)))
    for depth in (20.0, 40.0):
        v = cy + fy * 1.5 / depth
        obs = observe(cam, np.array([[cx - 50, v - 80, cx + 50, v]]), np.array([0]), noise=0.1)
        np.testing.assert_allclose(obs.xy[0], [depth, 0.0], atol=1e-9)
        along, across = np.sqrt(np.diag(obs.cov[0]))
        assert across == pytest.approx(10.0 * depth / fx, rel=1e-6)
        assert along == pytest.approx(sigma_v * depth ** 2 / (fy * 1.5), rel=1e-6)
    assert sigma_v * 20 ** 2 / (fy * 1.5) == pytest.approx(2.87, abs=0.01)


def test_extent_noise_adds_half_the_class_length_along_the_viewing_ray():
    """``extent`` 1.5 adds a variance of (1.5 x 4.62 m / 2)^2 = 12.006 m^2 (a car) and
    (1.5 x 0.73 / 2)^2 = 0.2998 m^2 (a pedestrian) along the ray from the camera (at the origin)
    to the contact, and nothing across it."""
    cam = Camera(K, pose(0.0))
    boxes = np.array([box_of_cuboid(cam, (20.0, 2.0), *CAR), box_of_cuboid(cam, (12.0, -3.0), 0.6, 0.6, 1.75)])
    cls = np.array([0, 4])
    plain = observe(cam, boxes, cls, noise=0.1)
    added = observe(cam, boxes, cls, noise=0.1, extent=1.5).cov - plain.cov
    ray = plain.xy / np.linalg.norm(plain.xy, axis=1, keepdims=True)
    across = ray[:, ::-1] * [1.0, -1.0]
    np.testing.assert_allclose(np.einsum("ni,nij,nj->n", ray, added, ray), [12.006, 0.2998], atol=1e-3)
    np.testing.assert_allclose(np.einsum("ni,nij,nj->n", across, added, across), [0.0, 0.0], atol=1e-9)
    np.testing.assert_allclose(np.einsum("ni,nij,nj->n", ray, added, across), [0.0, 0.0], atol=1e-9)


def test_kalman_steps_match_hand_values_and_the_textbook_formulas():
    x, p = np.array([[1.0, 2.0, 3.0, 4.0]]), np.eye(4)[None]
    xp, pp = kalman.predict(x, p, dt=0.5, accel=2.0)
    np.testing.assert_allclose(xp, [[2.5, 4.0, 3.0, 4.0]])
    # F I F^T + Q with a^2 = 4: 1 + dt^2 + a^2 dt^4 / 4 = 1.3125; dt + a^2 dt^3 / 2 = 0.75; 1 + a^2 dt^2 = 2
    assert (pp[0, 0, 0], pp[0, 0, 2], pp[0, 2, 2], pp[0, 0, 1]) == pytest.approx((1.3125, 0.75, 2.0, 0.0))
    rng = np.random.default_rng(0)
    a = rng.normal(size=(3, 4, 4))
    p = a @ a.transpose(0, 2, 1) + np.eye(4)
    x = rng.normal(size=(3, 4))
    z = rng.normal(size=(2, 2))
    b = rng.normal(size=(2, 2, 2))
    r = b @ b.transpose(0, 2, 1) + 0.1 * np.eye(2)
    d2, logdet = kalman.mahalanobis(x, p, z, r)
    for i in range(3):
        for j in range(2):
            s = p[i, :2, :2] + r[j]
            e = z[j] - x[i, :2]
            assert d2[i, j] == pytest.approx(e @ np.linalg.inv(s) @ e)
            assert logdet[i, j] == pytest.approx(np.log(np.linalg.det(s)))
    xu, pu = kalman.update(x[:2], p[:2], z, r)
    h = np.hstack([np.eye(2), np.zeros((2, 2))])
    for i in range(2):
        gain = p[i] @ h.T @ np.linalg.inv(h @ p[i] @ h.T + r[i])
        np.testing.assert_allclose(xu[i], x[i] + gain @ (z[i] - h @ x[i]))
        np.testing.assert_allclose(pu[i], (np.eye(4) - gain @ h) @ p[i], atol=1e-9)


def test_the_tuning_grid_holds_every_default():
    cls = tracker_class("ground")
    defaults = cls.Params()
    grid = tune_grid(cls)
    for key, values in cls.Params.GRID.items():
        assert getattr(defaults, key) in values and grid[key] == values, key
    assert cls.Params.BUFFER_OPTION == "track_buffer_s" and defaults.track_buffer_s == 2.0


def test_frames_without_calibration_are_refused():
    from detbench.core.errors import InputError

    tracker = make_tracker("ground", {})
    with pytest.raises(InputError, match="needs every frame's camera calibration"):
        tracker.update(_dets([10, 10, 50, 50]), Frame(index=0, timestamp=0.0, frame_rate=2.0))


def test_a_missing_pose_is_one_line_and_exit_2(real_fixture, tmp_path, capsys):
    seq = "scene-0103_CAM_FRONT"
    seqs, dets = tmp_path / "seqs", tmp_path / "dets"
    shutil.copytree(real_fixture / "sequences" / seq, seqs / seq)
    dets.mkdir()
    (dets / f"{seq}.txt").write_text("1,-1,600,450,80,60,0.9,1\n")
    path = seqs / seq / "frames.json"
    rows = json.loads(path.read_text())
    del rows[2]["cam2global"]
    path.write_text(json.dumps(rows))
    code = main(["track", "--tracker", "ground", "--dets", str(dets), "--sequences", str(seqs),
                 "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err
    assert str(path) in err and "frame 3 has no 'cam2global'" in err and "tracker 'ground'" in err
    assert not (tmp_path / "out").exists()


def test_compare_and_tune_refuse_an_uncalibrated_split_before_detecting(setup, capsys):  # noqa: F811
    data_dir, results = setup
    runs = data_dir.parent / "runs"
    for argv in (["compare", "--detectors", "epoch1", "--trackers", "iou,ground", "--run", "r1", "--no-tuned",
                  "--data", str(data_dir), "--results-dir", str(results)],
                 ["tune", "--tracker", "ground", "--detector", "epoch1", "--run", "r1", "--data", str(data_dir),
                  "--split", "val", "--report-split", "test"]):
        code = main(argv)
        err = capsys.readouterr().err
        assert code == 2 and err.count("\n") == 1 and "tracker 'ground' needs every frame's camera calibration" in err
        assert not (runs / "detections").exists() and not (runs / "compare").exists() and not results.exists()
