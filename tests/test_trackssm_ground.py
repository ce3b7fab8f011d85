"""Ground-plane TrackSSM: calibrated constant velocity worked out by hand (a pinhole camera and
objects on a flat ground, projected here without the geometry module), the untrained ground-plane
model equal to it, windows that never see their target, and the train-motion / tracker plumbing."""
from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
import torch
from calibrated_toy import H, W, billboard, cams, cuboid, pose, toy_scene
from conftest import SMALL_MOTION

from detbench.core.errors import InputError
from detbench.data.mot import SeqInfo, write_mot, write_seqinfo
from detbench.motion.windows import dataset_windows, sequence_windows, split_sequences
from trackers.trackssm.ground import calibrated_cv, ground_histories
from trackers.trackssm.model import ModelConfig, build_model
from trackers.trackssm.train import next_box_iou, predict


def test_calibrated_cv_is_exact_for_constant_ground_velocity_with_real_time_steps():
    """The camera drives along +x (5 m, then 4.5 m in 0.45 s: uneven keyframes); an object walks
    at (3, -1) m/s. Its box, projected by hand at the next frame, is what calibrated constant
    velocity predicts to 1e-6 px; image constant velocity misses it."""
    stamps = np.array([0.0, 0.5, 0.95])
    poses = [pose(x=10 * t) for t in stamps]
    objects = [(16.0 + 3 * t, 3.0 - 1 * t) for t in stamps]
    boxes = np.stack([billboard(p, *o) for p, o in zip(poses, objects)])
    got, ok = calibrated_cv(boxes[None, :2], np.array([0]), cams(poses), stamps)
    assert ok.all()
    np.testing.assert_allclose(got[0], boxes[2], atol=1e-6)
    image_cv = 2 * boxes[1] - boxes[0]
    assert np.abs(image_cv - boxes[2]).max() > 5


def test_a_standing_object_stays_put_while_the_camera_yaws_ten_degrees():
    """The issue's hand case: one box seen, the camera moves 2 m and yaws 10 degrees, the car
    stands still; the predicted box lands on it (IoU >= 0.9) where the last box misses."""
    from detbench.core.types import iou_matrix

    poses = [pose(), pose(x=2.0, yaw_deg=10.0)]
    car = (25.0, 4.0)
    truth = cuboid(poses[1], *car)
    box = cuboid(poses[0], *car)
    got, ok = calibrated_cv(box[None, None], np.array([0]), cams(poses), np.array([0.0, 0.5]))
    assert ok.all()
    assert iou_matrix(got, truth[None])[0, 0] >= 0.9
    assert iou_matrix(box[None], truth[None])[0, 0] < 0.3


def test_history_is_compensated_into_the_target_camera_and_unknown_contacts_fall_back():
    """A parked object seen from a moving camera: compensated, its three past boxes coincide (no
    motion of its own is left) and sit where it is seen in the target frame. A box whose bottom
    is above the horizon has no contact: the window gets image-plane rows and image CV."""
    stamps = np.array([0.0, 0.5, 1.0, 1.5])
    poses = [pose(x=4 * t) for t in stamps]
    boxes = np.stack([cuboid(p, 30.0, -3.0) for p in poses[:3]])
    sky = np.array([[700, 100, 760, 180.0]] * 3)          # bottom 270 px above the horizon (v = 450)
    g = ground_histories(np.stack([boxes, sky]), np.array([0, 0]), cams(poses), stamps, history=3)
    assert g.ok.tolist() == [True, False]
    truth = cuboid(poses[3], 30.0, -3.0)
    want = np.array([(truth[0] + truth[2]) / 2 / W, (truth[1] + truth[3]) / 2 / H,
                     (truth[2] - truth[0]) / W, (truth[3] - truth[1]) / H])
    assert g.mask[0].all()
    px = np.array([W, H, W, H])
    for step in range(3):   # a cuboid's box bottom is its near corner, not its centre: a few px off
        np.testing.assert_allclose(g.hist[0, step, :4] * px, want * px, atol=3.0)
        assert np.abs(g.hist[0, step, 4:8] * px).max() < 1.0 if step else not g.hist[0, 0, 4:8].any()
    np.testing.assert_allclose(g.hist[0, :, 8:] * px, boxes, atol=1e-3)   # each box as seen
    np.testing.assert_allclose(g.anchor[0] * px, want * px, atol=1.5)
    # the fallback: image rows exactly as the image-plane windows have them, image CV as anchor
    sky_n = np.array([730 / W, 140 / H, 60 / W, 80 / H], np.float32)
    np.testing.assert_allclose(g.hist[1], [[*sky_n, 0, 0, 0, 0, 700 / W, 100 / H, 760 / W, 180 / H]] * 3, atol=1e-7)
    np.testing.assert_allclose(g.anchor[1], sky_n, atol=1e-7)


def test_untrained_ground_model_is_calibrated_constant_velocity_exactly(real_fixture):
    """On the real fixture's 2,067 windows, an untrained ground-plane model predicts the windows'
    calibrated constant velocity (its mean next-box IoU is calibrated CV's, ~0.72 against image
    CV's 0.536); and on the hand case above it predicts the exact next box."""
    wins = dataset_windows(split_sequences(real_fixture, "val"), calibration="require")
    model = build_model(ModelConfig(**SMALL_MOTION, ground=True), seed=3)
    hist, mask, anchor = wins.model_inputs(ground=True)
    out = predict(model, hist, mask, anchor=anchor)
    np.testing.assert_allclose(out, wins.calibrated_cv, rtol=0, atol=1e-6)
    assert len(wins) == 2067 and wins.on_ground.sum() > 1900
    assert next_box_iou(wins.calibrated_cv, wins.target) == pytest.approx(0.7207, abs=5e-4)
    # the exact case: a billboard walking at constant ground velocity
    stamps = np.array([0.0, 0.5, 0.95])
    poses = [pose(x=10 * t) for t in stamps]
    boxes = np.stack([billboard(p, 30 + 3 * t, 2 - t) for p, t in zip(poses, stamps)])
    g = ground_histories(np.concatenate([np.full((1, 4, 4), np.nan), boxes[None, :2]], 1), np.array([0]),
                         [None] * 4 + cams(poses), np.r_[[np.nan] * 4, stamps], history=5)
    with torch.no_grad():
        got = model(torch.as_tensor(g.hist), torch.as_tensor(g.mask), torch.as_tensor(g.anchor))[0, -1].numpy()
    want = boxes[2]
    np.testing.assert_allclose(got * [W, H, W, H], [(want[0] + want[2]) / 2, (want[1] + want[3]) / 2,
                                                    want[2] - want[0], want[3] - want[1]], atol=1e-3)
    with pytest.raises(ValueError, match="needs the calibrated constant-velocity anchor"):
        model(torch.as_tensor(hist[:2]), torch.as_tensor(mask[:2]))


def test_ground_windows_need_calibration_and_mixed_sets_have_no_ground_inputs(tmp_path, real_fixture):
    seq = toy_scene(tmp_path / "a")
    bare = tmp_path / "b" / "scene-b_CAM_FRONT"
    bare.mkdir(parents=True)
    for f in ("seqinfo.ini", "gt"):
        (bare / f).symlink_to(seq / f)
    assert not sequence_windows(bare, calibration="try").has_ground
    with pytest.raises(InputError, match=r"scene-b_CAM_FRONT/frames.json: not found \(a ground-plane motion model"):
        sequence_windows(bare, calibration="require")
    both = dataset_windows([seq, bare], calibration="try")
    assert not both.has_ground and len(both) == 2 * len(sequence_windows(seq))
    rows = json.loads((seq / "frames.json").read_text())
    del rows[3]["cam2global"]
    (seq / "frames.json").write_text(json.dumps(rows))
    with pytest.raises(InputError, match=r"frames.json: frame 4 has no 'cam2global'"):
        sequence_windows(seq, calibration="require")


def test_train_motion_ground_records_it_and_the_tracker_needs_calibration(tmp_path, real_fixture, capsys):
    """``train-motion --ground`` on calibrated toy data: the config says ground, the four next-box
    IoUs are reported on val and --eval-data, and a trackssm with these weights needs calibration:
    on a sequence without frames.json, ``detbench track`` says so in one line and exits 2."""
    import shutil

    from detbench.cli import main
    from trackers import tracker_spec
    from trackers.trackssm.checkpoint import load

    data = tmp_path / "data" / "toy"
    for split, n in (("train", 2), ("val", 1)):
        for s in range(n):
            toy_scene(data / "sequences" / split, f"scene-{split}{s}_CAM_FRONT", seed=s + 10 * (split == "val"))
    small = ["--d-model", "16", "--layers", "1"]
    assert main(["train-motion", "--data", str(data), "--ground", "--steps", "2", *small,
                 "--eval-data", str(real_fixture), "--name", "g"]) == 0
    out = capsys.readouterr().out
    assert "calibrated CV" in out and "falls back to image CV" in out
    model_dir = tmp_path / "runs" / "motion" / "g"
    cfg = json.loads((model_dir / "config.json").read_text())
    assert cfg["model"]["ground"] is True
    val, real = cfg["metrics"]["val"], cfg["metrics"][f"eval:{real_fixture}"]
    assert val["windows"] == 32 and val["on_ground"] == 32
    assert real["calibrated_cv_iou"] == pytest.approx(0.7207, abs=5e-4)
    assert real["const_velocity_iou"] == pytest.approx(0.5356, abs=1e-4)
    assert real["last_box_iou"] == pytest.approx(0.2916, abs=1e-4)
    assert load(str(model_dir))[0].config.ground
    assert tracker_spec("trackssm", {"weights": str(model_dir)}).needs_calibration
    assert tracker_spec("trackssm-gated", {"weights": str(model_dir)}).needs_calibration
    assert not tracker_spec("trackssm", {"weights": "random"}).needs_calibration
    # an image-plane model on the same data: no calibration needed; the baseline is still reported
    assert main(["train-motion", "--data", str(data), "--steps", "1", *small, "--name", "i"]) == 0
    image_cfg = json.loads((tmp_path / "runs" / "motion" / "i" / "config.json").read_text())
    assert image_cfg["model"]["ground"] is False
    assert image_cfg["metrics"]["val"]["calibrated_cv_iou"] == pytest.approx(val["calibrated_cv_iou"])
    assert not tracker_spec("trackssm", {"weights": str(tmp_path / "runs" / "motion" / "i")}).needs_calibration
    # tracking a sequence without calibration with the ground model: one line, exit 2
    seqs, dets = tmp_path / "seqs", tmp_path / "dets"
    shutil.copytree(real_fixture / "sequences" / "scene-0103_CAM_FRONT", seqs / "scene-0103_CAM_FRONT")
    (seqs / "scene-0103_CAM_FRONT" / "frames.json").unlink()
    dets.mkdir()
    (dets / "scene-0103_CAM_FRONT.txt").write_text("1,-1,10,20,30,40,0.9,1\n")
    capsys.readouterr()
    assert main(["track", "--dets", str(dets), "--sequences", str(seqs), "--tracker", "trackssm",
                 "--tracker-opt", f"weights={model_dir}"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "frames.json not found" in err[0] and "trackssm" in err[0]
    # train-motion --ground on data without calibration: one line naming the file, exit 2
    bare = tmp_path / "data" / "bare"
    for split in ("train", "val"):
        shutil.copytree(data / "sequences" / split, bare / "sequences" / split)
    for f in bare.rglob("frames.json"):
        f.unlink()
    assert main(["train-motion", "--data", str(bare), "--ground", "--steps", "1", *small]) == 2
    assert "frames.json: not found (a ground-plane motion model needs" in capsys.readouterr().err


def test_ground_tracker_predicts_calibrated_cv_untrained_and_keeps_every_id(tmp_path):
    """The tracker with an untrained ground-plane model: each frame, its predicted box for every
    track is the calibrated constant velocity of the track's last two boxes (computed here
    directly from them and the frames' cameras); on the toy scene with perfect detections every
    object keeps one id."""
    from detbench.motion.weights import save_model
    from trackers.base import Frame
    from trackers.trackssm.tracker import TrackSSMParams, TrackSSMTracker

    model_dir = save_model(tmp_path / "m", build_model(ModelConfig(**SMALL_MOTION, ground=True)), {})
    seq = toy_scene(tmp_path / "a", frames=9)
    rows = np.loadtxt(seq / "gt" / "gt.txt", delimiter=",")
    frames = json.loads((seq / "frames.json").read_text())
    tracker = TrackSSMTracker(TrackSSMParams(weights=str(model_dir)))
    assert tracker.ground
    predicted = []
    original = tracker._predict_ground

    def spy(tracks, w, h):
        out = original(tracks, w, h)
        predicted.append(([np.stack(t.boxes[-2:]) for t in tracks], [t.cls for t in tracks],
                          list(tracker.trail.frames), out))
        return out

    tracker._predict_ground = spy
    ids = {}
    for i, fr in enumerate(frames):
        frame = Frame(i, (fr["timestamp"] - frames[0]["timestamp"]) * 1e-6, 2.0, W, H,
                      intrinsics=np.array(fr["intrinsics"]), cam2global=np.array(fr["cam2global"]))
        r = rows[rows[:, 0] == i + 1]
        dets = np.c_[r[:, 2:4], r[:, 2:4] + r[:, 4:6], np.full(len(r), 0.95), r[:, 7] - 1]
        for row in tracker.update(dets, frame):
            ids.setdefault(int(r[int(row[7]), 1]), set()).add(int(row[4]))
    assert all(len(v) == 1 for v in ids.values()) and len(ids) == 4
    checked = 0
    for boxes, classes, cameras, out in predicted:
        for hist, cls, got in zip(boxes, classes, out):
            if len(hist) < 2:
                continue
            want, ok = calibrated_cv(hist[None], np.array([cls]), [c for c, _ in cameras[-3:]],
                                     np.array([s for _, s in cameras[-3:]]))
            assert ok.all()
            np.testing.assert_allclose(got, want[0], atol=2e-3)
            checked += 1
    assert checked == 4 * 7   # four tracks, predicted from two boxes in frames 3..9


def test_the_image_model_takes_no_anchor_and_ground_is_a_config_flag():
    cfg = ModelConfig(**SMALL_MOTION)
    assert not cfg.ground and not ModelConfig.from_dict(cfg.to_dict()).ground
    assert ModelConfig.from_dict({**cfg.to_dict(), "ground": True}).ground
    image = build_model(cfg, seed=1)
    hist = torch.rand(3, 5, 8)
    with torch.no_grad():
        assert torch.equal(image(hist), image(hist, None, torch.rand(3, 4)))
    ground = build_model(dataclasses.replace(cfg, ground=True), seed=1)
    # the ground-plane row is 12 values wide (the box as seen added): 4 x d_model more weights
    assert (sum(p.numel() for p in ground.parameters())
            == sum(p.numel() for p in image.parameters()) + 4 * SMALL_MOTION["d_model"])
    with pytest.raises(ValueError, match=r"shape \(B, L, 12\)"):
        ground(hist, None, torch.rand(3, 4))


def test_flip_mirrors_the_ground_row_and_its_anchor():
    from trackers.trackssm.train import flip_boxes, flip_windows

    row = [0.3, 0.5, 0.1, 0.2, 0.02, 0.0, 0.01, 0.0, 0.0, 0.4, 0.35, 0.6]   # the box as seen: x 0..0.35
    hist, mask = torch.tensor([[[0.0] * 12, row]]), torch.tensor([[False, True]])
    fh, ft = flip_windows(hist, mask, torch.tensor([[0.4, 0.5, 0.1, 0.2]]), torch.tensor([True]))
    torch.testing.assert_close(fh[0, 1], torch.tensor([0.7, 0.5, 0.1, 0.2, -0.02, 0.0, 0.01, 0.0,
                                                       0.65, 0.4, 1.0, 0.6]))
    assert not fh[0, 0].any()
    torch.testing.assert_close(ft, torch.tensor([[0.6, 0.5, 0.1, 0.2]]))
    torch.testing.assert_close(flip_boxes(torch.tensor([[0.2, 0.5, 0.1, 0.1], [0.2, 0.5, 0.1, 0.1]]),
                                          torch.tensor([False, True])),
                               torch.tensor([[0.2, 0.5, 0.1, 0.1], [0.8, 0.5, 0.1, 0.1]]))


def test_tune_runs_trackssm_with_a_ground_model_and_refuses_a_split_without_cameras(tmp_path, real_fixture):
    """``detbench tune``'s path (track_split per grid point, TrackEval) with a ground-plane model
    on two real-fixture sequences and noisy detections; the same split without frames.json is an
    input error before any tracking."""
    import shutil

    from detbench.data import mot
    from detbench.data.noisy import noisy_detections
    from detbench.detect.resolved import ExternalDetections
    from detbench.motion.weights import save_model
    from detbench.tuning.tune import tune

    weights = save_model(tmp_path / "m", build_model(ModelConfig(**SMALL_MOTION, ground=True)), {})
    data, dets = tmp_path / "data", tmp_path / "dets"
    dets.mkdir()
    for name in ("scene-0103_CAM_FRONT", "scene-0103_CAM_BACK"):
        shutil.copytree(real_fixture / "sequences" / name, data / "sequences" / "tune" / name)
        gt = mot.read_mot(real_fixture / "sequences" / name / "gt" / "gt.txt", kind="gt")
        mot.write_mot_dets(dets / f"{name}.txt", noisy_detections(gt, 40, 1600, 900, seed=1))
    names = ["scene-0103_CAM_BACK", "scene-0103_CAM_FRONT"]
    (data / "meta.json").write_text(json.dumps({"sequences": {"tune": names}}))   # what prepare lists
    grid = {"high_thresh": [0.5], "new_track_thresh": [0.6], "track_buffer_s": [2.0]}
    out = tune("trackssm", ExternalDetections(dets, data, "tune"), grid=grid, base_options={"weights": str(weights)})
    rows = json.loads(out.read_text())["rows"]
    assert len(rows) == 1 and rows[0]["HOTA"] > 0.2
    (data / "sequences" / "tune" / "scene-0103_CAM_BACK" / "frames.json").unlink()
    with pytest.raises(InputError, match=r"scene-0103_CAM_BACK: frames.json not found \(tracker 'trackssm' needs"):
        tune("trackssm", ExternalDetections(dets, data, "tune"), grid=grid, base_options={"weights": str(weights)})


def test_compare_runs_trackssm_with_a_ground_model(tmp_path):
    """``detbench compare``'s pipeline (detect -> track from the cache -> eval -> deltas) with a
    ground-plane TrackSSM: the prepared dataset's frames.json cameras reach it, every pair ok."""
    from calibrated_toy import pose
    from test_detect import make_dataset, nano_model, save_detector

    from detbench.compare.options import ComparisonOptions, RunContext
    from detbench.compare.pipeline import run_comparison
    from detbench.core import paths
    from detbench.detect.resolved import resolve_detectors
    from detbench.motion.weights import save_model

    seqs = ("scene-0001_CAM_FRONT", "scene-0002_CAM_BACK")
    data_dir = make_dataset(tmp_path, seqs=seqs, frames=4)
    k = [[100.0, 0, 80], [0, 100.0, 45], [0, 0, 1]]   # the 160 x 90 images' camera, driving on
    for seq in seqs:
        sdir = data_dir / "sequences" / "val" / seq
        rows = [[f, i + 1, 10 + 5 * f + 60 * i, 40, 30, 30, 1, i + 1, 1] for f in range(1, 5) for i in range(2)]
        write_mot(sdir / "gt" / "gt.txt", np.array(rows, dtype=float))
        write_seqinfo(sdir / "seqinfo.ini", SeqInfo(seq, 2.0, 160, 90, 4))
        frames = json.loads((sdir / "frames.json").read_text())
        for i, fr in enumerate(frames):
            fr.update(intrinsics=k, cam2global=pose(x=2.0 * i).tolist())
        (sdir / "frames.json").write_text(json.dumps(frames))
    run_dir = paths.train_dir("r1")
    run_dir.mkdir(parents=True)
    for epoch in (1, 2):
        save_detector(run_dir / f"epoch_{epoch}.pth", nano_model(seed=epoch), epoch)
    weights = save_model(tmp_path / "m", build_model(ModelConfig(**SMALL_MOTION, ground=True)), {})
    # random-weight detectors score low: every box is taken so that there is something to track
    opts = {"weights": str(weights), "high_thresh": "0.0", "low_thresh": "0.0", "new_track_thresh": "0.0"}
    out = run_comparison(resolve_detectors(["epoch1", "epoch2"], data_dir, run="r1"), ["trackssm"],
                         ComparisonOptions(name="g", n_resamples=20, tracker_options={"trackssm": opts}, use_tuned=False),
                         RunContext(results_root=tmp_path / "results"))
    assert {p["status"] for p in out["pairs"]} == {"ok"} and out["n_sequences"] == 2
    assert all(p["overall"]["HOTA"] >= 0 for p in out["pairs"])
