"""The synthetic nuScenes-format dataset: loads in the devkit, deterministic, drawn where projected."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from detbench.core.classes import CLASSES, class_of_category
from detbench.core.errors import InputError
from detbench.data.synthetic import CAMERAS, render, shapes, split_names, write_dataset
from detbench.data.synthetic.rig import CAMERA_CALIBRATION, intrinsic, world_to_camera, yaw_quat

VERSION = "v1.0-synth"


def _nusc(root, version=VERSION):
    from nuscenes.nuscenes import NuScenes
    return NuScenes(version=version, dataroot=str(root), verbose=False)


def _tree_hashes(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def test_devkit_loads_it_unchanged_with_all_classes(synth_root):
    nusc = _nusc(synth_root)
    assert [s["name"] for s in nusc.scene] == ["synth-0001", "synth-0002"]
    assert len(nusc.sample) == 12 and all("CAM_FRONT" in s["data"] for s in nusc.sample)
    cats = {a["category_name"] for a in nusc.sample_annotation}
    # the official tracking mapping (nuscenes.eval.tracking.utils; importing it costs ~30 s)
    official = {"vehicle.car": "car", "vehicle.truck": "truck", "vehicle.bus.rigid": "bus", "vehicle.bus.bendy": "bus",
                "vehicle.trailer": "trailer", "human.pedestrian.adult": "pedestrian", "vehicle.motorcycle": "motorcycle",
                "human.pedestrian.child": "pedestrian", "human.pedestrian.construction_worker": "pedestrian",
                "human.pedestrian.police_officer": "pedestrian", "vehicle.bicycle": "bicycle"}
    assert {official[c] for c in cats if c in official} == set(CLASSES)
    assert {c for c in cats if class_of_category(c) is None}   # and categories prepare must drop
    assert len(nusc.category) == 23 and {"vehicle.emergency.police", "static_object.bicycle_rack"} <= {
        c["name"] for c in nusc.category}
    for ann in nusc.sample_annotation:
        assert ann["visibility_token"] in {"1", "2", "3", "4"} and ann["num_lidar_pts"] > 0
        assert len(ann["size"]) == 3 and min(ann["size"]) > 0
    for inst in nusc.instance:  # annotation chains are consistent and stay in one scene
        tok, seen, scenes = inst["first_annotation_token"], 0, set()
        while tok:
            ann = nusc.get("sample_annotation", tok)
            assert ann["instance_token"] == inst["token"]
            scenes.add(nusc.get("sample", ann["sample_token"])["scene_token"])
            seen, last, tok = seen + 1, tok, ann["next"]
        assert seen == inst["nbr_annotations"] and last == inst["last_annotation_token"] and len(scenes) == 1
    times = [s["timestamp"] for s in nusc.sample if s["scene_token"] == nusc.scene[0]["token"]]
    assert np.all(np.diff(sorted(times)) == 500_000)     # 2 Hz keyframes


def test_images_exist_and_decode_at_1600x900(synth_root):
    nusc = _nusc(synth_root)
    assert len(nusc.sample_data) == 12
    for sd in nusc.sample_data:
        with Image.open(synth_root / sd["filename"]) as im:
            assert im.size == (1600, 900) and im.format == "JPEG"
        assert sd["filename"].startswith("samples/CAM_FRONT/") and sd["is_key_frame"]
    assert (synth_root / nusc.map[0]["filename"]).stat().st_size == 0


def test_every_class_has_objects_at_least_40px_tall(synth_root):
    """Projected with the devkit's own geometry (get_sample_data: global -> ego -> camera)."""
    from nuscenes.utils.geometry_utils import BoxVisibility, view_points
    nusc = _nusc(synth_root)
    tall = {c: 0 for c in CLASSES}
    for sd in nusc.sample_data:
        _, boxes, K = nusc.get_sample_data(sd["token"], box_vis_level=BoxVisibility.ANY)
        for box in boxes:
            cls = class_of_category(box.name)
            uv = view_points(box.corners(), K, normalize=True)
            if cls and np.ptp(np.clip(uv[1], 0, 900)) >= 40:
                tall[cls] += 1
    assert all(n > 0 for n in tall.values()), tall


def test_same_seed_byte_identical_other_seed_differs(tmp_path):
    a = write_dataset(tmp_path / "a", scenes=1, keyframes=3, seed=5)
    b = write_dataset(tmp_path / "b", scenes=1, keyframes=3, seed=5)
    c = write_dataset(tmp_path / "c", scenes=1, keyframes=3, seed=6)
    ha, hb, hc = _tree_hashes(a), _tree_hashes(b), _tree_hashes(c)
    assert len(ha) == 13 + 1 + 3 + 2 and ha == hb
    assert ha.keys() & hc.keys() and all(ha[k] != hc.get(k) for k in ha if k.endswith(("sample.json", ".jpg")))


def test_style_changes_only_the_images(tmp_path):
    a = write_dataset(tmp_path / "a", scenes=1, keyframes=2, seed=5)
    d = write_dataset(tmp_path / "d", scenes=1, keyframes=2, seed=5, style="dusk")
    ha, hd = _tree_hashes(a), _tree_hashes(d)
    assert ha.keys() == hd.keys()
    assert {k for k in ha if ha[k] != hd[k]} == {k for k in ha if k.endswith(".jpg")} | {"synth.json"}
    sa, sd = (json.loads((r / "synth.json").read_text()) for r in (a, d))
    assert "style" not in sa and sd.pop("style") == "dusk" and sd == sa   # default: synth.json as before styles
    img_a, img_d = (np.asarray(Image.open(next((r / "samples" / "CAM_FRONT").glob("*.jpg"))), float) for r in (a, d))
    assert img_d.mean() < 0.8 * img_a.mean() and img_d.std() < img_a.std()   # darker, lower contrast
    with pytest.raises(InputError, match="unknown style"):
        write_dataset(tmp_path / "x", scenes=1, keyframes=2, style="noon")


def test_sweeps_twelve_hz_between_keyframes(tmp_path):
    root = write_dataset(tmp_path / "s", scenes=1, keyframes=2, cameras=("CAM_BACK", "CAM_FRONT"), sweeps=True)
    nusc = _nusc(root)
    for cam in ("CAM_FRONT", "CAM_BACK"):
        sd = nusc.get("sample_data", nusc.sample[0]["data"][cam])
        chain = [sd]
        while chain[-1]["next"]:
            chain.append(nusc.get("sample_data", chain[-1]["next"]))
        assert [d["is_key_frame"] for d in chain] == [True] + [False] * 5 + [True]
        ts = np.array([d["timestamp"] for d in chain])
        assert np.all(np.abs(np.diff(ts) - 1e6 / 12) <= 1)            # 12 Hz
        assert all(d["sample_token"] == nusc.sample[1]["token"] for d in chain[1:])  # sweeps point to the next sample
        assert all(d["filename"].startswith("sweeps/") for d in chain[1:-1])
        assert all((root / d["filename"]).is_file() for d in chain)
    assert nusc.get("calibrated_sensor", chain[0]["calibrated_sensor_token"])["camera_intrinsic"] == \
        [list(r) for r in CAMERA_CALIBRATION["CAM_BACK"][2]]


def test_splits_disjoint_and_cover(synth_root):
    splits = json.loads((synth_root / "splits.json").read_text())
    assert set(splits) == {"train", "val", "tune"} and splits["train"] and splits["val"]
    for n in range(1, 16):
        names = [f"synth-{i:04d}" for i in range(1, n + 1)]
        s = split_names(names)
        flat = s["train"] + s["val"] + s["tune"]
        assert sorted(flat) == names and len(set(flat)) == n      # disjoint and complete
        assert (n < 2) or len(s["val"]) >= 1
    assert [len(v) for v in split_names([str(i) for i in range(10)]).values()] == [7, 2, 1]


# -- renderer ------------------------------------------------------------------------------------
def _front_camera(scale=1.0):
    ego_t, ego_q = [100.0, 50.0, 0.0], yaw_quat(0.3)
    cam = render.Camera(world_to_camera(ego_t, ego_q, "CAM_FRONT"), intrinsic("CAM_FRONT"), 1600, 900)
    return (cam.scaled(scale) if scale != 1 else cam), ego_t, ego_q


def _item(category, ego_t, yaw_ego, forward, left, label=0, yaw=0.4):
    size = shapes.sample_size(category, np.random.default_rng(1))
    c, s = np.cos(yaw_ego), np.sin(yaw_ego)
    x, y = ego_t[0] + forward * c - left * s, ego_t[1] + forward * s + left * c
    parts = shapes.parts_for(category, size, np.random.default_rng(2))
    w, l, h = size
    return render.Item(np.array([x, y, h / 2]), yaw_ego + yaw, parts, label=label,
                       radius=0.5 * float(np.sqrt(w * w + l * l + h * h))), size


def test_objects_behind_the_camera_are_not_drawn():
    cam, ego_t, _ = _front_camera()
    sun = np.array([0.3, 0.2, 0.9])
    front, _ = _item("vehicle.car", ego_t, 0.3, 15.0, 0.5)
    behind, _ = _item("vehicle.bus.rigid", ego_t, 0.3, -6.0, 0.5, label=1)
    only_front = np.zeros((900, 1600, 3), np.uint8)
    render.draw_items(only_front, [front], cam, sun)
    both = np.zeros_like(only_front)
    render.draw_items(both, [front, behind], cam, sun)
    assert only_front.any() and np.array_equal(only_front, both)
    alone = np.zeros_like(only_front)
    render.draw_items(alone, [behind], cam, sun)
    assert not alone.any()
    with pytest.raises(ValueError):
        render.project(np.array([[1.0, 0.0, 5.0], [1.0, 0.0, -0.5]]), cam.K)
    # straddling the camera plane: only the part in front is drawn, clipped at z >= NEAR
    poly = np.array([[-1.0, 1.0, -2.0], [1.0, 1.0, -2.0], [1.0, 1.0, 4.0], [-1.0, 1.0, 4.0]])
    clipped = render.clip_near(poly)
    assert clipped.min(axis=0)[2] == pytest.approx(render.NEAR) and clipped.max(axis=0)[2] == 4.0
    assert render.clip_near(poly - [0, 0, 10]) is None


@pytest.mark.parametrize("category", ["vehicle.car", "vehicle.truck", "vehicle.bus.rigid", "vehicle.trailer",
                                      "human.pedestrian.adult", "vehicle.motorcycle", "vehicle.bicycle"])
def test_drawn_object_fits_its_projected_3d_box(category):
    """What is drawn fills the 2D box the devkit projects from the annotation (global->ego->camera)."""
    from nuscenes.utils.data_classes import Box
    from nuscenes.utils.geometry_utils import view_points
    from pyquaternion import Quaternion
    cam, ego_t, ego_q = _front_camera()
    item, size = _item(category, ego_t, 0.3, 14.0, -2.0)
    img = np.zeros((900, 1600, 3), np.uint8)
    render.draw_items(img, [item], cam, np.array([0.3, 0.2, 0.9]))
    ys, xs = np.nonzero(img.max(axis=2) > 0)
    drawn = np.array([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1], float)
    box = Box(list(item.center), list(size), Quaternion(yaw_quat(item.yaw)))
    box.translate(-np.array(ego_t))
    box.rotate(Quaternion(ego_q).inverse)
    t, r, K = CAMERA_CALIBRATION["CAM_FRONT"]
    box.translate(-np.array(t))
    box.rotate(Quaternion(r).inverse)
    uv = view_points(box.corners(), np.array(K), normalize=True)
    proj = np.array([uv[0].min(), uv[1].min(), uv[0].max(), uv[1].max()])
    assert np.all(drawn[:2] >= proj[:2] - 1.5) and np.all(drawn[2:] <= proj[2:] + 1.5)   # inside the box
    pw, ph = proj[2] - proj[0], proj[3] - proj[1]
    assert (drawn[2] - drawn[0]) >= 0.8 * pw and (drawn[3] - drawn[1]) >= 0.85 * ph      # and fills it


def test_visibility_counts_occlusion():
    cam, ego_t, _ = _front_camera(0.25)
    near_bus, _ = _item("vehicle.bus.rigid", ego_t, 0.3, 10.0, 0.0, label=0, yaw=1.57)
    hidden_car, _ = _item("vehicle.car", ego_t, 0.3, 25.0, 0.0, label=1)
    visible, alone = render.visible_pixels([hidden_car, near_bus], cam, 2)
    assert alone[1] > 0 and visible[1] == 0                 # completely behind the bus
    assert visible[0] == alone[0] > 0                       # the bus is not occluded


# -- bad input -----------------------------------------------------------------------------------
@pytest.mark.parametrize("args,message", [
    (["--cameras", "CAM_FRONT,CAM_TOP"], "CAM_TOP"),
    (["--scenes", "0"], "--scenes"),
    (["--keyframes", "-2"], "--keyframes"),
])
def test_bad_input_one_line_nothing_written(tmp_path, capsys, args, message):
    from detbench.cli import main
    out = tmp_path / "ds"
    assert main(["synth", str(out), *args]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err and str(out) in err
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_non_empty_out_refused_unless_force(tmp_path, capsys):
    from detbench.cli import main
    out = tmp_path / "ds"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    assert main(["synth", str(out), "--keyframes", "1", "--scenes", "1", "--cameras", "CAM_FRONT"]) == 2
    assert "not empty" in capsys.readouterr().err and (out / "keep.txt").read_text() == "mine"
    with pytest.raises(InputError):
        write_dataset(out, scenes=1, keyframes=1)
    assert main(["synth", str(out), "--keyframes", "1", "--scenes", "1", "--cameras", "CAM_FRONT", "--force"]) == 0
    assert not (out / "keep.txt").exists() and (out / VERSION / "sample.json").is_file()
    assert "1 scenes, 1 images" in " ".join(capsys.readouterr().out.split())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ds"]      # no temporary leftovers


def test_all_cameras_names_are_the_devkit_channels():
    assert set(CAMERAS) == set(CAMERA_CALIBRATION) and len(CAMERAS) == 6


def test_cli_renders_all_six_cameras_by_default(tmp_path, capsys):
    """`detbench synth` writes nuScenes' whole camera rig unless --cameras narrows it."""
    from detbench.cli import main
    from detbench.data.synthetic import CAMERAS
    out = tmp_path / "ds"
    assert main(["synth", str(out), "--keyframes", "1", "--scenes", "1"]) == 0
    assert json.loads((out / "synth.json").read_text())["cameras"] == list(CAMERAS)
    assert sorted(p.name for p in (out / "samples").iterdir()) == sorted(CAMERAS)
    assert "1 scenes, 6 images" in " ".join(capsys.readouterr().out.split())


def test_synth_help_shows_the_demos_own_dataset():
    """`synth --help` described the demo's dataset as 24 scenes x 16 keyframes while the demo
    wrote 40 x 8 at dusk: the example now comes from DemoConfig and is the command the demo runs."""
    import shlex

    from click.testing import CliRunner

    from detbench.commands import synth
    from detbench.demo import DemoConfig

    cfg = DemoConfig()
    text = CliRunner().invoke(synth.command, ["--help"]).output
    assert f"{cfg.scenes} scenes x {cfg.keyframes} keyframes x {cfg.camera}, {cfg.style}" in text
    line = next(ln.strip() for ln in text.splitlines() if ln.strip().startswith("detbench synth "))
    args = shlex.split(line)[3:]
    options = dict(zip(args[::2], args[1::2]))
    assert options == {"--scenes": str(cfg.scenes), "--keyframes": str(cfg.keyframes), "--cameras": cfg.camera,
                       "--style": cfg.style, "--seed": str(cfg.data_seed)}
