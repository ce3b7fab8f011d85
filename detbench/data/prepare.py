"""``detbench prepare``: a nuScenes-format database -> COCO json per split + MOT GT per sequence.

Written atomically (built under a temporary name and renamed). The layout is docs/contracts.md,
section 1; every ground-truth choice (classes, boxes, visibility, ignore rows, track ids) is in
docs/data.md, "What prepare writes", and recorded in ``meta.json``.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np

from detbench.core import paths
from detbench.core.classes import CLASS_INDEX, CLASSES, IGNORE_CATEGORIES, class_of_category, is_ignore_category
from detbench.core.errors import InputError
from detbench.core.fileio import atomic_dir, atomic_write_json, ensure_writable, sha256_file
from detbench.core.provenance import make_meta
from detbench.data import layout, mot
from detbench.data.coco import CocoBuilder
from detbench.data.nuscenes_db import load_nuscenes, resolve_cameras, table_hashes
from detbench.data.projection import box_corners, project_box, quaternion_matrix
from detbench.data.splits import resolve_splits

KEYFRAME_RATE = 2
VISIBILITY_FRACTION = {"": 1.0, "1": 0.4, "2": 0.6, "3": 0.8, "4": 1.0}
IGNORE_REASONS = ("category", "no_points", "visibility", "size")
MIN_WRITTEN = 0.01  # px: smaller boxes would be written with a size of 0.00


def scene_samples(nusc, scene: dict) -> list[dict]:
    """The scene's samples (keyframes) in time order, following the ``next`` chain."""
    out, token = [], scene["first_sample_token"]
    while token:
        sample = nusc.get("sample", token)
        out.append(sample)
        token = sample["next"]
    return out


def track_ids(nusc, samples: list[dict]) -> dict[str, int]:
    """instance token -> 1-based id: the scene's annotated instances, sorted by token."""
    tokens = {nusc.get("sample_annotation", a)["instance_token"] for s in samples for a in s["anns"]}
    return {tok: i for i, tok in enumerate(sorted(tokens), 1)}


def annotation_status(ann: dict, min_visibility: int) -> tuple[int, str | None] | None:
    """``(MOT class id, ignore reason or None)`` of an annotation before its box is projected;
    None when the annotation is dropped. Class id 0: a category of ``IGNORE_CATEGORIES``."""
    category = ann["category_name"]
    cls = class_of_category(category)
    if cls is None:
        return (mot.IGNORE_CLASS, "category") if is_ignore_category(category) else None
    if "num_lidar_pts" in ann and "num_radar_pts" in ann and ann["num_lidar_pts"] + ann["num_radar_pts"] == 0:
        return CLASS_INDEX[cls] + 1, "no_points"
    vis = ann.get("visibility_token", "") or ""
    if min_visibility > 0 and (not vis.isdigit() or int(vis) < min_visibility):
        return CLASS_INDEX[cls] + 1, "visibility"
    return CLASS_INDEX[cls] + 1, None


def _frame_record(nusc, frame: int, sd: dict) -> dict:
    """One frames.json entry: tokens, timestamp (us), image path and the camera's calibration:
    ``intrinsics`` (3x3) and ``cam2global`` (4x4 camera -> global, ego pose @ calibrated sensor,
    with this sample_data's own ego pose)."""
    cs = nusc.get("calibrated_sensor", sd["calibrated_sensor_token"])
    ego = nusc.get("ego_pose", sd["ego_pose_token"])
    cam2global = pose_matrix(ego["translation"], ego["rotation"]) @ pose_matrix(cs["translation"], cs["rotation"])
    return {"frame": frame, "sample_token": sd["sample_token"], "sample_data_token": sd["token"],
            "timestamp": int(sd["timestamp"]), "image": sd["filename"],
            "intrinsics": [[float(v) for v in row] for row in cs["camera_intrinsic"]],
            "cam2global": [[float(v) for v in row] for row in cam2global]}


def pose_matrix(translation, rotation_wxyz) -> np.ndarray:
    """4x4 child -> parent transform of a nuScenes translation and (w, x, y, z) rotation."""
    m = np.eye(4)
    m[:3, :3] = quaternion_matrix(rotation_wxyz)
    m[:3, 3] = translation
    return m


def all_camera_frames(nusc, scene_token: str, first_sd: dict, keyframe_of: dict[str, int]) -> list[dict]:
    """Every sample_data of one camera in the scene (keyframes and sweeps), in time order."""
    chain, sd = [], first_sd
    while sd["prev"]:
        sd = nusc.get("sample_data", sd["prev"])
    while True:
        if nusc.get("sample", sd["sample_token"])["scene_token"] == scene_token:
            chain.append(sd)
        if not sd["next"]:
            break
        sd = nusc.get("sample_data", sd["next"])
    chain.sort(key=lambda r: r["timestamp"])
    out = []
    for sd in chain:
        rec = _frame_record(nusc, keyframe_of.get(sd["token"]), sd)
        del rec["frame"]
        rec.update(is_key_frame=bool(sd["is_key_frame"]), keyframe=keyframe_of.get(sd["token"]))
        out.append(rec)
    return out


def prepare(dataroot: str | Path, version: str, cameras: str = "all", splits=None,
            min_visibility: int = 0, min_size: float = 5.0, out: str | Path | None = None,
            name: str | None = None, progress: Callable[[int, int], None] | None = None) -> tuple[Path, dict]:
    """Prepare a dataset; returns ``(output dir, summary)``. Raises InputError on bad input,
    before anything is written. ``splits`` None: every split that has scenes. ``summary`` is
    ``{split: {"sequences", "frames", "boxes": {class: n}, "ignored": {reason: n}}}`` (``boxes``:
    considered rows; ``ignored``: ignore rows per :data:`IGNORE_REASONS` reason).
    ``progress(done, total)``: called with the samples (keyframes of all cameras) done so far, once
    before the first and after each."""
    if not 0 <= int(min_visibility) <= 4:
        raise InputError(f"--min-visibility: {min_visibility} is outside 0..4 (nuScenes visibility levels)")
    if not min_size >= 0:
        raise InputError(f"--min-size: {min_size} must be >= 0 pixels")
    dataroot = Path(dataroot).resolve()
    out = Path(out) if out else paths.data_dir(name or dataroot.name)
    ensure_writable(out, "prepared dataset", inputs={"--dataroot": dataroot})
    nusc = load_nuscenes(dataroot, version)
    table_root = dataroot / version
    cams = resolve_cameras(nusc, cameras, table_root)
    scene_by_name = {s["name"]: s for s in nusc.scene}
    split_scenes, split_source = resolve_splits(dataroot, version, None if splits is None else list(splits),
                                                set(scene_by_name))

    inputs = {"tables": table_hashes(dataroot, version)}
    if (dataroot / "splits.json").is_file():
        inputs["splits.json"] = sha256_file(dataroot / "splits.json")
    has_sweeps = any(not sd["is_key_frame"] for sd in nusc.sample_data if sd["channel"] in cams)
    summary: dict = {}
    sequences: dict[str, list[str]] = {}
    image_size = None
    n_samples = sum(scene_by_name[s]["nbr_samples"] for v in split_scenes.values() for s in v)

    done = 0
    with atomic_dir(out) as tmp:
        ds = layout.PreparedDataset(tmp)
        if progress:
            progress(done, n_samples)
        for split, scene_names in split_scenes.items():
            coco = CocoBuilder(f"detbench prepare {version} {split}")
            counts = {c: 0 for c in CLASSES}
            ignored = {r: 0 for r in IGNORE_REASONS}
            seq_names, frames_total = [], 0
            for scene_name in scene_names:
                scene = scene_by_name[scene_name]
                samples = scene_samples(nusc, scene)
                ids = track_ids(nusc, samples)
                per_cam = {c: {"frames": [], "rows": [], "keyframe_of": {}} for c in cams}
                for sample in samples:
                    kept = []
                    for ann_token in sample["anns"]:
                        ann = nusc.get("sample_annotation", ann_token)
                        status = annotation_status(ann, min_visibility)
                        if status is not None:
                            kept.append((ann, *status, box_corners(ann["translation"], ann["size"], ann["rotation"])))
                    for cam in cams:
                        if cam not in sample["data"]:
                            continue
                        sd = nusc.get("sample_data", sample["data"][cam])
                        acc = per_cam[cam]
                        frame = len(acc["frames"]) + 1
                        acc["frames"].append(_frame_record(nusc, frame, sd))
                        acc["keyframe_of"][sd["token"]] = frame
                        w, h = int(sd["width"]), int(sd["height"])
                        image_size = image_size or [w, h]
                        seq = f"{scene_name}_{cam}"
                        image_id = coco.add_image(sd["filename"], w, h, seq, frame, sd["token"])
                        ego = nusc.get("ego_pose", sd["ego_pose_token"])
                        cs = nusc.get("calibrated_sensor", sd["calibrated_sensor_token"])
                        for ann, cid, reason, corners in kept:
                            box = project_box(corners, ego, cs, w, h)
                            if box is None or min(box[2] - box[0], box[3] - box[1]) < MIN_WRITTEN:
                                continue
                            if reason is None and (box[2] - box[0] < min_size or box[3] - box[1] < min_size):
                                reason = "size"
                            tid = ids[ann["instance_token"]]
                            x1, y1, x2, y2 = box
                            vis = VISIBILITY_FRACTION.get(ann.get("visibility_token", "") or "", 1.0)
                            consider = 1.0 if reason is None else 0.0
                            acc["rows"].append((frame, tid, x1, y1, x2 - x1, y2 - y1, consider, cid, vis))
                            if reason is None:
                                coco.add_box(image_id, x1, y1, x2, y2, cid - 1, tid)
                                counts[CLASSES[cid - 1]] += 1
                            else:
                                coco.add_ignore(image_id, x1, y1, x2, y2, cid, tid, reason)
                                ignored[reason] += 1
                    done += 1
                    if progress:
                        progress(done, n_samples)
                for cam in cams:
                    acc = per_cam[cam]
                    if not acc["frames"]:
                        continue
                    seq = f"{scene_name}_{cam}"
                    seq_dir = ds.seq_dir(split, seq)
                    mot.write_mot(layout.gt_file(seq_dir), np.array(acc["rows"], dtype=np.float64).reshape(-1, 9))
                    first = acc["frames"][0]
                    sd0 = nusc.get("sample_data", first["sample_data_token"])
                    mot.write_seqinfo(layout.seqinfo_file(seq_dir), mot.SeqInfo(
                        name=seq, frame_rate=KEYFRAME_RATE, width=int(sd0["width"]), height=int(sd0["height"]),
                        length=len(acc["frames"])))
                    atomic_write_json(layout.frames_file(seq_dir), acc["frames"])
                    if has_sweeps:
                        atomic_write_json(layout.frames_file(seq_dir, all_frames=True),
                                          all_camera_frames(nusc, scene["token"], sd0, acc["keyframe_of"]))
                    seq_names.append(seq)
                    frames_total += len(acc["frames"])
            atomic_write_json(ds.coco_file(split), coco.to_dict(), indent=None)
            sequences[split] = seq_names
            summary[split] = {"sequences": len(seq_names), "frames": frames_total, "boxes": counts,
                              "ignored": ignored}
        options = {"cameras": cams, "splits": list(split_scenes), "min_visibility": int(min_visibility),
                   "min_size": float(min_size)}
        meta = make_meta(
            "prepare", options=options, inputs=inputs, dataroot=str(dataroot), version=version, cameras=cams,
            splits=split_scenes, split_source=split_source, image_size=image_size or [1600, 900],
            sequences=sequences, has_sweeps=has_sweeps, frame_rate=KEYFRAME_RATE, summary=summary,
            ground_truth={"classes": list(CLASSES), "boxes": "devkit export_2d recipe: in-front corners, "
                          "convex hull clipped to the image; considered when w and h >= min_size",
                          "ignore_rows": "gt.txt consider flag 0 / COCO iscrowd 1: boxes under min_size or "
                          "min_visibility, with no lidar and no radar points, or of an ignore category "
                          "(class id 0); summary.<split>.ignored counts them per reason",
                          "ignore_categories": sorted(IGNORE_CATEGORIES),
                          "track_ids": "per scene: sorted instance tokens numbered from 1",
                          "visibility_column": "upper bound of the nuScenes visibility bin (1:0.4 2:0.6 3:0.8 4:1.0)"})
        atomic_write_json(ds.meta_file, meta)
    return out, summary
