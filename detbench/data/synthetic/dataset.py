"""``write_dataset``: scenes -> nuScenes tables + rendered camera images + splits.json.

Layout of ``out`` (what ``NuScenes(version, dataroot=out)`` expects):
``<version>/<13 tables>.json``, ``maps/<token>.png`` (0-byte placeholder: the devkit only checks
that it exists), ``samples/<CAM>/*.jpg`` (keyframes, 2 Hz), ``sweeps/<CAM>/*.jpg`` (12 Hz, with
``sweeps=True``), ``splits.json`` ({train, val, tune: [scene names]}) and ``synth.json`` (options
and counts). Annotations are every actor within ``ANNOT_RANGE`` m of the ego at the sample time;
exactly those actors (plus unlabelled scenery) are drawn in the keyframe images, at their
annotated poses, seen from the camera's own ego pose and timestamp.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Callable, Iterable

import cv2
import numpy as np

from detbench.core.classes import CLASSES, class_of_category
from detbench.core.errors import InputError
from detbench.core.fileio import atomic_dir
from detbench.data.synthetic import render, shapes
from detbench.data.synthetic.rig import (
    CAMERA_CALIBRATION,
    CAMERA_OFFSET_US,
    CAMERAS,
    IMAGE_H,
    IMAGE_W,
    intrinsic,
    world_to_camera,
    yaw_quat,
)
from detbench.data.synthetic.tables import Tokens, attribute_names, fixed_tables, visibility_token, write_tables
from detbench.data.synthetic.world import EGO_D, Scene, make_scene

ANNOT_RANGE = 70.0           # m from the ego; nothing of an annotated category is drawn beyond it
KEYFRAME_US = 500_000        # 2 Hz samples
SWEEPS_PER_KEYFRAME = 6      # 12 Hz camera
SCENERY_RANGE = 140.0       # m; buildings and trees drawn around the ego
VIS_SCALE = 0.25             # visibility is measured on id buffers at 1/4 resolution
JPEG_QUALITY = 90
T0_US = 1_533_151_600_000_000


def split_names(names: list[str]) -> dict[str, list[str]]:
    """About 70/20/10 train/val/tune, in order; val gets a scene as soon as there are two."""
    n = len(names)
    n_val = 0 if n < 2 else max(1, round(0.2 * n))
    n_tune = round(0.1 * n) if n >= 5 else 0
    n_train = n - n_val - n_tune
    return {"train": names[:n_train], "val": names[n_train:n_train + n_val], "tune": names[n_train + n_val:]}


def _check(out: Path, scenes, keyframes, cameras, version, force) -> tuple[str, ...]:
    if not isinstance(scenes, int) or scenes < 1:
        raise InputError(f"{out}: --scenes must be a positive integer, got {scenes!r}")
    if not isinstance(keyframes, int) or keyframes < 1:
        raise InputError(f"{out}: --keyframes must be a positive integer, got {keyframes!r}")
    cams = tuple(cameras)
    unknown = [c for c in cams if c not in CAMERA_CALIBRATION]
    if unknown or not cams or len(set(cams)) != len(cams):
        raise InputError(f"{out}: cameras must be distinct names among {', '.join(CAMERAS)}; got {', '.join(cams) or 'none'}")
    if not version or "/" in version or version.startswith("."):
        raise InputError(f"{out}: invalid version name {version!r}")
    if out.exists() and not out.is_dir():
        raise InputError(f"{out}: exists and is not a directory")
    if out.is_dir() and any(out.iterdir()) and not force:
        raise InputError(f"{out}: directory is not empty (use --force to replace it)")
    return tuple(c for c in CAMERAS if c in cams)


def write_dataset(out, scenes: int = 2, keyframes: int = 6, cameras: Iterable[str] = ("CAM_FRONT",),
                  sweeps: bool = False, seed: int = 0, version: str = "v1.0-synth", *, style: str = "default",
                  force: bool = False, progress: Callable[[int], None] | None = None) -> Path:
    """Write a synthetic nuScenes database with rendered images to ``out``; returns ``out``.

    The same arguments always give byte-identical files. ``style`` (``render.STYLES``) changes only the
    images' appearance (sky, light, contrast, grain), never the scenes or annotations; ``synth.json``
    records it unless it is ``default``. ``out`` must be missing or empty unless
    ``force``; the dataset is built in a temporary directory and renamed into place.
    ``progress(n)`` is called after every n images written.
    """
    out = Path(out)
    cams = _check(out, scenes, keyframes, cameras, version, force)
    if style not in render.STYLES:
        raise InputError(f"{out}: unknown style {style!r}; known: {', '.join(render.STYLES)}")
    tok = Tokens(seed)
    tables = {**fixed_tables(tok), **{k: [] for k in ("instance", "calibrated_sensor", "ego_pose", "log", "scene",
                                                      "sample", "sample_data", "sample_annotation", "map")}}
    cat_token = {c["name"]: c["token"] for c in tables["category"]}
    attr_token = {a["name"]: a["token"] for a in tables["attribute"]}
    noise = render.noise_field(np.random.default_rng([seed, 99991]), IMAGE_H + 64, IMAGE_W + 64)
    if render.STYLES[style].grain != 1.0:
        noise = tuple(np.clip(np.round(n * np.float32(render.STYLES[style].grain)), 0, 255).astype(np.uint8)
                      for n in noise)
    counts: dict[str, int] = {}
    images = 0
    with atomic_dir(out) as tmp:
        for i in range(scenes):
            name = f"synth-{i + 1:04d}"
            srng = np.random.default_rng([seed, i])
            scene = make_scene(srng, (keyframes - 1) * KEYFRAME_US / 1e6)
            writer = _SceneWriter(tmp, name, scene, srng, tok, tables, cams, cat_token, attr_token, noise, progress,
                                  render.STYLES[style])
            images += writer.write(keyframes, sweeps, T0_US + i * 3_600_000_000)
            for a in writer.annotated_categories:
                counts[a] = counts.get(a, 0) + 1
        map_token = tok("map")
        tables["map"].append({"category": "semantic_prior", "token": map_token, "filename": f"maps/{map_token}.png",
                              "log_tokens": [lg["token"] for lg in tables["log"]]})
        (tmp / "maps").mkdir()
        (tmp / "maps" / f"{map_token}.png").write_bytes(b"")
        write_tables(tmp / version, tables)
        names = [s["name"] for s in tables["scene"]]
        (tmp / "splits.json").write_text(json.dumps(split_names(names), indent=2) + "\n")
        per_class = {c: sum(n for k, n in counts.items() if class_of_category(k) == c) for c in CLASSES}
        summary = {"version": version, "seed": seed, "scenes": scenes, "keyframes": keyframes, "cameras": list(cams),
                   "sweeps": bool(sweeps), "images": images, "annotations": len(tables["sample_annotation"]),
                   "instances": len(tables["instance"]), "annotations_per_class": per_class,
                   "annotations_per_category": dict(sorted(counts.items()))}
        if style != "default":  # default: the file as it was before styles existed
            summary["style"] = style
        (tmp / "synth.json").write_text(json.dumps(summary, indent=2) + "\n")
    return out


class _SceneWriter:
    """Adds one scene's records to ``tables`` and renders its images under ``root``."""

    def __init__(self, root, name, scene: Scene, rng, tok, tables, cams, cat_token, attr_token, noise, progress,
                 style: render.Style = render.STYLES["default"]):
        self.root, self.name, self.scene, self.rng, self.tok, self.t = root, name, scene, rng, tok, tables
        self.cams, self.cat_token, self.attr_token, self.noise, self.progress = cams, cat_token, attr_token, noise, progress
        self.style = style
        self.annotated_categories: list[str] = []
        self.scenery = _scenery_items(scene)
        self.sky = {}

    # -- geometry -----------------------------------------------------------------------------
    def ego_pose(self, t: float):
        x, y = self.scene.to_global(self.scene.ego_s(t), EGO_D)
        return [round(x, 4), round(y, 4), 0.0], [round(q, 8) for q in yaw_quat(self.scene.psi)]

    def actors_at(self, t: float, ego_xy):
        """(actor index, translation, rotation, moving) of actors within range at time t."""
        out = []
        for a_idx, actor in enumerate(self.scene.actors):
            s, d, heading, moving, dist = actor.state(t)
            x, y = self.scene.to_global(s, d)
            if np.hypot(x - ego_xy[0], y - ego_xy[1]) > ANNOT_RANGE:
                continue
            q = [round(v, 8) for v in yaw_quat(float(np.arctan2(np.sin(self.scene.psi + heading),
                                                                 np.cos(self.scene.psi + heading))))]
            out.append((a_idx, [round(x, 3), round(y, 3), round(actor.size[2] / 2, 3)], q, moving, dist))
        return out

    def items(self, located, ego_xy) -> list[render.Item]:
        centres = np.array([it.center[:2] for it in self.scenery])
        near = np.linalg.norm(centres - np.asarray(ego_xy[:2]), axis=1) < SCENERY_RANGE
        items = [it for it, keep in zip(self.scenery, near) if keep]
        for label, (a_idx, trans, q, _, dist) in enumerate(located):
            actor = self.scene.actors[a_idx]
            w, l, h = actor.size
            items.append(render.Item(np.array(trans, float), 2 * float(np.arctan2(q[3], q[0])), actor.parts(dist),
                                     label=label, radius=0.5 * float(np.sqrt(w * w + l * l + h * h)) + 0.2))
        return items

    # -- records ------------------------------------------------------------------------------
    def write(self, keyframes: int, sweeps: bool, t0_us: int) -> int:
        tok, t, name = self.tok, self.t, self.name
        log_token, scene_token = tok("log", name), tok("scene", name)
        t["log"].append({"token": log_token, "logfile": f"{name}-log", "vehicle": "synth-ego",
                         "date_captured": "2018-08-01", "location": "synthetic"})
        calib = {}
        for cam in self.cams:
            tr, rot, K = CAMERA_CALIBRATION[cam]
            calib[cam] = tok("calibrated_sensor", name, cam)
            t["calibrated_sensor"].append({"token": calib[cam], "sensor_token": tok("sensor", cam),
                                           "translation": list(tr), "rotation": list(rot),
                                           "camera_intrinsic": [list(r) for r in K]})
        sample_tokens = [tok("sample", name, k) for k in range(keyframes)]
        inst_anns: dict[int, list[dict]] = {}
        chains: dict[str, list[dict]] = {c: [] for c in self.cams}
        images = 0
        for k in range(keyframes):
            ts = t0_us + k * KEYFRAME_US
            t["sample"].append({"token": sample_tokens[k], "timestamp": ts,
                                "prev": sample_tokens[k - 1] if k else "",
                                "next": sample_tokens[k + 1] if k + 1 < keyframes else "", "scene_token": scene_token})
            tsec = (ts - t0_us) / 1e6
            ego_t, ego_q = self.ego_pose(tsec)
            located = self.actors_at(tsec, ego_t)
            items = self.items(located, ego_t)
            fractions = self.visibility(items, len(located), ego_t, ego_q)
            for label, (a_idx, trans, q, moving, _) in enumerate(located):
                actor = self.scene.actors[a_idx]
                w, l, h = actor.size
                dist = max(1.0, float(np.hypot(trans[0] - ego_t[0], trans[1] - ego_t[1])))
                pts = max(1, int(round(3000 * fractions[label] * max(l, w) * h / dist ** 2)))
                ann = {"token": tok("sample_annotation", name, a_idx, k), "sample_token": sample_tokens[k],
                       "instance_token": tok("instance", name, a_idx),
                       "visibility_token": visibility_token(fractions[label]),
                       "attribute_tokens": [self.attr_token[n] for n in attribute_names(actor.category, moving,
                                                                                         actor.rider)],
                       "translation": trans, "size": list(actor.size), "rotation": q, "prev": "", "next": "",
                       "num_lidar_pts": pts,
                       "num_radar_pts": pts // 25 if actor.category.startswith("vehicle") else 0}
                t["sample_annotation"].append(ann)
                inst_anns.setdefault(a_idx, []).append(ann)
                self.annotated_categories.append(actor.category)
            for cam in self.cams:
                if sweeps and k > 0:
                    prev_ts = chains[cam][-1]["timestamp"]
                    for j in range(1, SWEEPS_PER_KEYFRAME):
                        sts = prev_ts + round(j * KEYFRAME_US / SWEEPS_PER_KEYFRAME)
                        chains[cam].append(self.frame(cam, calib[cam], sample_tokens[k], sts, t0_us, None))
                        images += 1
                cts = ts + CAMERA_OFFSET_US[cam]
                chains[cam].append(self.frame(cam, calib[cam], sample_tokens[k], cts, t0_us, items))
                images += 1
        for chain in chains.values():
            for a, b in zip(chain, chain[1:]):
                a["next"], b["prev"] = b["token"], a["token"]
            t["sample_data"].extend(chain)
        for a_idx in sorted(inst_anns):
            anns = inst_anns[a_idx]
            for a, b in zip(anns, anns[1:]):
                a["next"], b["prev"] = b["token"], a["token"]
            t["instance"].append({"token": tok("instance", name, a_idx),
                                  "category_token": self.cat_token[self.scene.actors[a_idx].category],
                                  "nbr_annotations": len(anns), "first_annotation_token": anns[0]["token"],
                                  "last_annotation_token": anns[-1]["token"]})
        t["scene"].append({"token": scene_token, "log_token": log_token, "nbr_samples": keyframes,
                           "first_sample_token": sample_tokens[0], "last_sample_token": sample_tokens[-1],
                           "name": name, "description": f"synthetic urban road, ego {self.scene.ego_speed:.1f} m/s"})
        return images

    def frame(self, cam, calib_token, sample_token, ts, t0_us, items) -> dict:
        """Render one camera image and return its sample_data record (ego_pose written here)."""
        key = items is not None
        tsec = (ts - t0_us) / 1e6
        ego_t, ego_q = self.ego_pose(tsec)
        if not key:  # sweep: everything at the sweep's own time
            items = self.items(self.actors_at(tsec, ego_t), ego_t)
        pose_token = self.tok("ego_pose", self.name, cam, ts)
        self.t["ego_pose"].append({"token": pose_token, "timestamp": ts, "rotation": ego_q, "translation": ego_t})
        folder = "samples" if key else "sweeps"
        filename = f"{folder}/{cam}/{self.name}__{cam}__{ts}.jpg"
        img = self.render(cam, ego_t, ego_q, items)
        ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
        path = self.root / filename
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(buf.tobytes())
        if self.progress:
            self.progress(1)
        return {"token": self.tok("sample_data", self.name, cam, ts), "sample_token": sample_token,
                "ego_pose_token": pose_token, "calibrated_sensor_token": calib_token, "timestamp": ts,
                "fileformat": "jpg", "is_key_frame": key, "height": IMAGE_H, "width": IMAGE_W,
                "filename": filename, "prev": "", "next": ""}

    def render(self, cam, ego_t, ego_q, items) -> np.ndarray:
        camera = render.Camera(world_to_camera(ego_t, ego_q, cam), intrinsic(cam), IMAGE_W, IMAGE_H)
        sc = self.scene
        if cam not in self.sky:
            top, horizon = self.style.sky or (sc.sky_top, sc.sky_horizon)
            self.sky[cam] = render.sky(IMAGE_H, IMAGE_W, top, horizon)
        img = self.sky[cam].copy()
        render.draw_flat(img, _flat_polygons(sc, sc.ego_s(0) if False else _s_of(sc, ego_t)), camera)
        render.draw_items(img, items, camera, sc.sun)
        img = self.style.tone(img)
        oy, ox = (int(v) for v in self.rng.integers(0, 64, 2))
        cv2.add(img, self.noise[0][oy:oy + IMAGE_H, ox:ox + IMAGE_W], dst=img)
        cv2.subtract(img, self.noise[1][oy:oy + IMAGE_H, ox:ox + IMAGE_W], dst=img)
        return img

    def visibility(self, items, n_labels, ego_t, ego_q) -> np.ndarray:
        """Fraction of each labelled item visible over all six cameras (nuScenes' definition)."""
        vis, alone = np.zeros(n_labels), np.zeros(n_labels)
        for cam in CAMERAS:
            camera = render.Camera(world_to_camera(ego_t, ego_q, cam), intrinsic(cam), IMAGE_W, IMAGE_H)
            v, a = render.visible_pixels(items, camera.scaled(VIS_SCALE), n_labels)
            vis += v
            alone += a
        return np.where(alone > 0, vis / np.maximum(alone, 1), 0.0)


def _s_of(scene: Scene, xy) -> float:
    c, n = np.cos(scene.psi), np.sin(scene.psi)
    return float((xy[0] - scene.origin[0]) * c + (xy[1] - scene.origin[1]) * n)


def _quad(scene: Scene, s0, s1, d0, d1):
    return np.array([[*scene.to_global(s, d), 0.0] for s, d in ((s0, d0), (s1, d0), (s1, d1), (s0, d1))])


def _flat_polygons(scene: Scene, s: float):
    """Ground, road, parking strips, sidewalks, side streets and lane markings around road position s."""
    a = scene.asphalt
    polys = [(_quad(scene, s - 600, s + 600, -600, 600), scene.ground),
             (_quad(scene, s - 300, s + 500, -9.4, 9.4), a)]
    for st in scene.side_streets:
        polys.append((_quad(scene, st - 5, st + 5, -250, 250), a))
    for side in (-1, 1):
        polys.append((_quad(scene, s - 300, s + 500, side * 7.0, side * 9.4), tuple(max(0, c - 12) for c in a)))
        polys.append((_quad(scene, s - 300, s + 500, side * 9.4, side * 13.0), (150, 155, 160)))
        polys.append((_quad(scene, s - 300, s + 500, side * 6.9, side * 7.05), (225, 225, 225)))
        polys.append((_quad(scene, s - 300, s + 500, side * 0.08, side * 0.2), (40, 200, 230)))
        first = np.floor((s - 20) / 10) * 10
        for s0 in np.arange(first, s + 150, 10.0):
            polys.append((_quad(scene, s0, s0 + 3, side * 3.43, side * 3.57), (225, 225, 225)))
    for st in scene.side_streets:  # side streets cut through the sidewalks
        for side in (-1, 1):
            polys.append((_quad(scene, st - 5, st + 5, side * 9.4, side * 250), a))
    return polys


def _scenery_items(scene: Scene) -> list[render.Item]:
    items = []
    for s, d, yaw, l, w, h, kind, seed in scene.scenery:
        rng = np.random.default_rng(seed)
        x, y = scene.to_global(s, d)
        parts = (shapes.building_parts(l, w, h, rng) if kind == "building" else
                 shapes.tree_parts(h, rng) if kind == "tree" else shapes.pole_parts(h))
        ext = max(l, w, 3.0) if kind == "building" else 2.0
        items.append(render.Item(np.array([x, y, h / 2]), scene.psi + yaw, parts, label=-1,
                                 radius=0.5 * float(np.sqrt(ext * ext * 2 + h * h)) + 0.5,
                                 layer=0 if kind == "building" else 1))
    return items
