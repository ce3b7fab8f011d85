"""detbench prepare: 2D boxes recomputed with the devkit's own geometry, hand-placed objects,
splits, the output layout, and bad inputs through the CLI."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from nusc_minidb import OBJECTS, VERSION, instance_token, write_min_db

from detbench.cli import main
from detbench.core.classes import CATEGORY_TO_CLASS, CLASSES
from detbench.data import mot
from detbench.data.prepare import prepare
from detbench.data.projection import clip_hull_to_image, quaternion_matrix
from detbench.data.splits import official_splits


@pytest.fixture(scope="module")
def minidb(tmp_path_factory) -> Path:
    return write_min_db(tmp_path_factory.mktemp("minidb"), sweeps=True)


def devkit_reference(dataroot: Path, version: str, min_size: float, min_visibility: int = 0,
                     categories=CATEGORY_TO_CLASS) -> dict:
    """{(sample_data_token, instance_token): (x1, y1, x2, y2)} computed only with devkit code:
    ``get_box``, ``Box.translate/rotate`` with the ego pose and calibrated sensor records,
    ``view_points`` of the corners with z > 0, and export_2d's ``post_process_coords``;
    annotations of ``categories`` only."""
    from nuscenes.nuscenes import NuScenes
    from nuscenes.scripts.export_2d_annotations_as_json import post_process_coords
    from nuscenes.utils.geometry_utils import view_points
    from pyquaternion import Quaternion

    nusc = NuScenes(version=version, dataroot=str(dataroot), verbose=False)
    out = {}
    for sd in nusc.sample_data:
        if not sd["is_key_frame"]:
            continue
        pose = nusc.get("ego_pose", sd["ego_pose_token"])
        cs = nusc.get("calibrated_sensor", sd["calibrated_sensor_token"])
        for ann_token in nusc.get("sample", sd["sample_token"])["anns"]:
            ann = nusc.get("sample_annotation", ann_token)
            if ann["category_name"] not in categories:
                continue
            if min_visibility and int(ann["visibility_token"]) < min_visibility:
                continue
            box = nusc.get_box(ann_token)
            box.translate(-np.array(pose["translation"]))
            box.rotate(Quaternion(pose["rotation"]).inverse)
            box.translate(-np.array(cs["translation"]))
            box.rotate(Quaternion(cs["rotation"]).inverse)
            corners = box.corners()
            front = corners[:, corners[2, :] > 0]
            if front.shape[1] == 0:
                continue
            pts = view_points(front, np.array(cs["camera_intrinsic"]), normalize=True)[:2].T.tolist()
            try:
                r = post_process_coords(pts, (sd["width"], sd["height"]))
            except AttributeError:  # nuscenes-devkit's issues/762: a LineString/Point intersection has no area
                r = None
            if r is None or r[2] - r[0] < min_size or r[3] - r[1] < min_size:
                continue
            out[(sd["token"], ann["instance_token"])] = r
    return out


def prepared_boxes(out: Path, nusc_tracks: dict) -> tuple[dict, dict]:
    """Boxes of prepare's output keyed like :func:`devkit_reference`, from gt.txt and from COCO."""
    meta = json.loads((out / "meta.json").read_text())
    from_mot, from_coco = {}, {}
    for split, seqs in meta["sequences"].items():
        coco = json.loads((out / "coco" / f"{split}.json").read_text())
        images = {im["id"]: im for im in coco["images"]}
        for a in coco["annotations"]:
            if a["iscrowd"]:  # an ignore region: prepare's filters left it out
                continue
            im = images[a["image_id"]]
            inst = nusc_tracks[(im["sequence"].rsplit("_CAM", 1)[0], a["track_id"])]
            x, y, w, h = a["bbox"]
            from_coco[(im["sample_data_token"], inst)] = (x, y, x + w, y + h)
        for seq in seqs:
            d = out / "sequences" / split / seq
            frames = mot.read_frames_json(d / "frames.json")
            for r in mot.read_mot(d / "gt" / "gt.txt", kind="gt"):
                inst = nusc_tracks[(seq.rsplit("_CAM", 1)[0], int(r[mot.ID]))]
                sd = frames[int(r[mot.FRAME]) - 1]["sample_data_token"]
                from_mot[(sd, inst)] = (r[2], r[3], r[2] + r[4], r[3] + r[5])
    return from_mot, from_coco


def expected_track_ids(dataroot: Path, version: str) -> dict:
    """(scene name, track id) -> instance token, by the documented rule (sorted per scene)."""
    tables = {n: json.loads((dataroot / version / f"{n}.json").read_text())
              for n in ("scene", "sample", "sample_annotation")}
    scene_of_sample = {s["token"]: s["scene_token"] for s in tables["sample"]}
    names = {s["token"]: s["name"] for s in tables["scene"]}
    per_scene: dict[str, set] = {}
    for a in tables["sample_annotation"]:
        per_scene.setdefault(names[scene_of_sample[a["sample_token"]]], set()).add(a["instance_token"])
    return {(scene, i): tok for scene, toks in per_scene.items() for i, tok in enumerate(sorted(toks), 1)}


def assert_agree(dataroot, version, out, min_size, min_visibility=0):
    ref = devkit_reference(dataroot, version, min_size, min_visibility)
    from_mot, from_coco = prepared_boxes(out, expected_track_ids(dataroot, version))
    assert ref, "the reference found no boxes at all"
    assert set(from_mot) == set(ref) and set(from_coco) == set(ref)
    for key, box in ref.items():
        np.testing.assert_allclose(from_mot[key], box, atol=0.01, rtol=0, err_msg=str(key))
        np.testing.assert_allclose(from_coco[key], box, atol=0.01, rtol=0, err_msg=str(key))
    return ref


def test_boxes_match_devkit_geometry_on_hand_placed_objects(minidb):
    out, summary = prepare(minidb, VERSION, min_size=0)
    ref = assert_agree(minidb, VERSION, out, min_size=0)
    insts = {inst for _, inst in ref}
    for s in range(3):
        # behind CAM_FRONT (seen by CAM_BACK), in front but 40 m to the side, and a dog: no front box
        front = {inst for (sd, inst) in ref if sd.endswith("CAM_FRONT")}
        assert instance_token(s, "truck_behind") not in front
        assert instance_token(s, "bus_far_left") not in insts
        assert instance_token(s, "dog") not in insts
        for name in ("car_ahead", "ped_right_edge", "car_straddling", "child_low_vis", "bicycle_far"):
            assert instance_token(s, name) in front
    # the straddling car keeps its in-front corners and is clipped at the left edge;
    # the pedestrian is clipped at the right edge
    straddle = [b for (sd, i), b in ref.items() if i == instance_token(0, "car_straddling")]
    assert straddle and all(abs(b[0]) < 1e-9 for b in straddle)
    edge = [b for (sd, i), b in ref.items() if i == instance_token(0, "ped_right_edge")]
    assert edge and all(abs(b[2] - 1600) < 1e-9 for b in edge)
    assert summary["train"]["boxes"]["truck"] == 3  # 3 keyframes, CAM_BACK only


def test_boxes_match_devkit_geometry_on_synthetic_dataset(synth_root):
    out, summary = prepare(synth_root, "v1.0-synth", name="synth")
    ref = assert_agree(synth_root, "v1.0-synth", out, min_size=5.0)
    splits = json.loads((synth_root / "splits.json").read_text())
    assert list(summary) == [s for s in ("train", "val", "tune") if splits[s]]
    assert sum(sum(s["boxes"].values()) for s in summary.values()) == len(ref)
    assert sum(s["frames"] for s in summary.values()) == 2 * 6  # 2 scenes x 6 keyframes, CAM_FRONT


def test_min_size_and_visibility_filters(minidb):
    out, summary = prepare(minidb, VERSION, min_size=5, min_visibility=2, name="filtered")
    ref = assert_agree(minidb, VERSION, out, min_size=5, min_visibility=2)
    insts = {inst for _, inst in ref}
    assert instance_token(0, "bicycle_far") not in insts  # 3.8 px wide at 200 m
    assert instance_token(0, "child_low_vis") not in insts  # visibility level 1
    assert summary["train"]["boxes"]["bicycle"] == 0
    assert json.loads((out / "meta.json").read_text())["options"]["min_visibility"] == 2


def test_projection_never_uses_points_behind_the_camera():
    # a box whose only in-front corner is a sliver: result comes from that corner alone
    cs = {"translation": [0, 0, 0], "rotation": [1, 0, 0, 0], "camera_intrinsic": np.eye(3) * [100, 100, 1]}
    from detbench.data.projection import project_box
    corners = np.array([[x, y, z] for x in (-1, 1) for y in (-1, 1) for z in (-5, -1)], float)
    assert project_box(corners, {"translation": [0, 0, 0], "rotation": [1, 0, 0, 0]}, cs, 1600, 900) is None
    # hull touching the image in a single point or a segment has no area: no box (no crash)
    assert clip_hull_to_image(np.array([[-10, -10], [0, 0], [-5, 0]]), 1600, 900) is None
    assert clip_hull_to_image(np.array([[-10, 5], [10, 5]]), 1600, 900) is None
    # a triangle cut by the image's left edge: bounds of the clipped polygon, worked out by hand
    # (the edge from (-10,0) to (10,20) crosses x=0 at y=10)
    np.testing.assert_allclose(clip_hull_to_image(np.array([[-10, 0], [10, 20], [10, 0]]), 1600, 900),
                               (0, 0, 10, 20))
    np.testing.assert_allclose(clip_hull_to_image(np.array([[-10, 0], [10, 0], [-10, 20]]), 1600, 900),
                               (0, 0, 10, 10))


def test_quaternion_matrix_matches_pyquaternion():
    from pyquaternion import Quaternion

    rng = np.random.default_rng(0)
    for q in rng.normal(size=(5, 4)):
        np.testing.assert_allclose(quaternion_matrix(q), Quaternion(q).normalised.rotation_matrix, atol=1e-12)


def test_layout_track_ids_frames_and_sweeps(minidb, tmp_path):
    out, _ = prepare(minidb, VERSION, cameras="CAM_FRONT", splits=["train", "val"], min_size=0)
    meta = json.loads((out / "meta.json").read_text())
    assert out == tmp_path / "runs" / "data" / minidb.name  # default name: the dataroot's folder
    assert meta["dataroot"] == str(minidb.resolve())
    assert meta["cameras"] == ["CAM_FRONT"] and meta["has_sweeps"] is True
    assert meta["splits"] == {"train": ["scene-0000"], "val": ["scene-0001"]}
    assert meta["sequences"] == {"train": ["scene-0000_CAM_FRONT"], "val": ["scene-0001_CAM_FRONT"]}
    assert meta["image_size"] == [1600, 900] and meta["version"] == VERSION
    assert set(meta["inputs"]["tables"]) >= {"sample_annotation", "ego_pose", "calibrated_sensor"}
    seq = out / "sequences" / "train" / "scene-0000_CAM_FRONT"
    info = mot.read_seqinfo(seq / "seqinfo.ini")
    assert (info.frame_rate, info.width, info.height, info.length) == (2, 1600, 900, 3)
    frames = mot.read_frames_json(seq / "frames.json")
    assert [f["sample_data_token"] for f in frames] == [f"sd-0-{k}-0-CAM_FRONT" for k in range(3)]
    assert [f["frame"] for f in frames] == [1, 2, 3]
    assert frames[0]["image"] == "samples/CAM_FRONT/sd-0-0-0-CAM_FRONT.jpg"
    every = json.loads((seq / "frames_all.json").read_text())
    # 3 keyframes + 1 sweep between each pair, in time order
    assert [f["keyframe"] for f in every] == [1, None, 2, None, 3]
    assert [f["is_key_frame"] for f in every] == [True, False, True, False, True]
    assert all(a["timestamp"] < b["timestamp"] for a, b in zip(every, every[1:]))
    # track ids: sorted instance tokens of the scene, numbered from 1 (8 objects, sorted by name)
    gt = mot.read_mot(seq / "gt" / "gt.txt", kind="gt")
    car = sorted(OBJECTS).index("car_ahead") + 1
    assert car in set(gt[:, mot.ID].astype(int))
    assert gt[gt[:, mot.ID] == car][:, mot.CLASS].tolist() == [1.0, 1.0, 1.0]
    # the same object keeps its id when filters change and on a second run (no hash())
    out2, _ = prepare(minidb, VERSION, cameras="CAM_FRONT", splits=["train"], min_visibility=3, name="again")
    gt2 = mot.read_mot(out2 / "sequences" / "train" / "scene-0000_CAM_FRONT" / "gt" / "gt.txt", kind="gt")
    assert car in set(gt2[:, mot.ID].astype(int))
    coco = json.loads((out / "coco" / "train.json").read_text())
    assert [c["name"] for c in coco["categories"]] == list(CLASSES)
    assert [c["id"] for c in coco["categories"]] == list(range(1, 8))
    assert len(coco["images"]) == 3 and sum(not a["iscrowd"] for a in coco["annotations"]) == len(gt)


def test_official_splits_have_a_disjoint_tune_split():
    mini = official_splits("v1.0-mini")
    assert mini["tune"] == ["scene-0757", "scene-1100"]
    assert mini["train"] == ["scene-0061", "scene-0553", "scene-0655", "scene-0796", "scene-1077", "scene-1094"]
    assert mini["val"] == ["scene-0103", "scene-0916"]
    full = official_splits("v1.0-trainval")
    assert (len(full["train"]), len(full["val"]), len(full["tune"])) == (630, 150, 70)
    assert not set(full["tune"]) & set(full["train"]) and not set(full["tune"]) & set(full["val"])


# ---------------------------------------------------------------- bad inputs through the CLI
def _run_bad(args, capsys, tmp_path):
    rc = main(["prepare", *args])
    err = capsys.readouterr().err.strip()
    runs = tmp_path / "runs"
    leftovers = [p for p in runs.rglob("*")] if runs.exists() else []
    return rc, err, leftovers


@pytest.mark.parametrize("case,expect", [
    ("missing_dataroot", "dataroot not found"),
    ("wrong_version", "version 'v1.0-nope' not found (versions here: v1.0-minidb)"),
    ("table_missing", "sample_annotation.json: table 'sample_annotation' is missing"),
    ("unknown_camera", "unknown camera 'CAM_SIDE' (this database has images of CAM_FRONT, CAM_BACK)"),
    ("camera_without_images", "unknown camera 'CAM_FRONT_LEFT' (this database has images of CAM_FRONT, CAM_BACK)"),
    ("unknown_split", "unknown split 'test'"),
    ("empty_split", "split 'tune' has no scenes"),
    ("bad_visibility", "'--min-visibility': 7 is not in the range 0<=x<=4"),  # checked when parsed
    ("shared_scene", "splits.json: scene 'scene-0001' is in both 'val' and 'tune' (splits must not share a scene)"),
])
def test_bad_inputs_one_line_nonzero_nothing_written(case, expect, minidb, tmp_path, capsys):
    root = tmp_path / "db"
    shutil.copytree(minidb, root)
    args = ["--dataroot", str(root), "--version", VERSION]
    if case == "missing_dataroot":
        args[1] = str(tmp_path / "nowhere")
    elif case == "wrong_version":
        args[3] = "v1.0-nope"
    elif case == "table_missing":
        (root / VERSION / "sample_annotation.json").unlink()
    elif case == "unknown_camera":
        args += ["--cameras", "CAM_FRONT,CAM_SIDE"]
    elif case == "unknown_split":
        args += ["--splits", "train,test"]
    elif case == "camera_without_images":  # calibrated but never recorded
        for table, rec in (("sensor", {"token": "sensor-fl", "channel": "CAM_FRONT_LEFT", "modality": "camera"}),
                           ("calibrated_sensor", {"token": "cs-fl", "sensor_token": "sensor-fl", "translation": [0, 0, 0],
                                                  "rotation": [1, 0, 0, 0], "camera_intrinsic": np.eye(3).tolist()})):
            path = root / VERSION / f"{table}.json"
            path.write_text(json.dumps(json.loads(path.read_text()) + [rec]))
        args += ["--cameras", "CAM_FRONT_LEFT"]
    elif case == "empty_split":
        (root / "splits.json").write_text(json.dumps({"train": ["scene-0000"], "val": [], "tune": []}))
        args += ["--splits", "train,tune"]
    elif case == "bad_visibility":
        args += ["--min-visibility", "7"]
    elif case == "shared_scene":   # even when only train is asked for: the file itself is wrong
        (root / "splits.json").write_text(json.dumps({"train": ["scene-0000"], "val": ["scene-0001"],
                                                      "tune": ["scene-0002", "scene-0001"]}))
        args += ["--splits", "train"]
    rc, err, leftovers = _run_bad(args, capsys, tmp_path)
    assert rc == 2
    assert len(err.splitlines()) == 1 and err.startswith("error: ") and expect in err
    assert leftovers == []


def test_prepare_cli_writes_and_summarises(minidb, tmp_path, capsys):
    rc = main(["prepare", "--dataroot", str(minidb), "--version", VERSION, "--cameras", "CAM_FRONT", "--name", "mdb"])
    assert rc == 0
    out = capsys.readouterr().out
    assert "train" in out and "car" in out
    assert (tmp_path / "runs" / "data" / "mdb" / "meta.json").is_file()
    assert not [p for p in (tmp_path / "runs" / "data").iterdir() if p.name.startswith(".")]


@pytest.mark.parametrize("splits,notes", [
    ({"train": [0], "val": [1, 2], "tune": [3]}, []),
    ({"train": [0], "val": [1], "tune": [2, 3]}, ["note: split val has 1 scene: `detbench compare` gives no interval "
                                                  "and no verdict there"]),
    ({"train": [0], "val": [1, 2, 3]}, ["note: no tune split: `detbench compare` tunes each pair on it by default; "
                                        "run it with --no-tuned (the trackers' defaults) or --tune-split SPLIT"]),
    ({"train": [0, 1], "tune": [2, 3]}, ["note: no val split: `detbench compare` reports on val by default; "
                                         "pass it --split SPLIT (here: train, tune)"]),
])
def test_prepare_says_what_its_splits_mean_for_compare(splits, notes, tmp_path, capsys):
    """A dataset without a tune split, or with one scene to report on, still prepares; `prepare`
    ends by saying what that means for `compare` (which would otherwise fail after its tracking)."""
    names = [f"scene-{s:04d}" for s in range(4)]
    root = write_min_db(tmp_path / "db", scenes=4, splits={k: [names[i] for i in v] for k, v in splits.items()})
    assert main(["prepare", "--dataroot", str(root), "--version", VERSION, "--cameras", "CAM_FRONT"]) == 0
    said = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("note: ")]
    assert len(said) == len(notes) and all(ln.startswith(n) for ln, n in zip(said, notes)), said
