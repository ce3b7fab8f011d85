"""A nuScenes-shaped workload of any size, without images: what the scale benchmark and the executor
tests run ``tune`` and ``compare`` on.

``build_workload(root, scenes)`` writes, with detbench's own formats and writers:

- a prepared dataset ``<root>/data`` (:mod:`detbench.data.layout`) with splits ``val`` and ``tune``
  of ``scenes`` scenes each, every scene seen by the six cameras of the real fixture
  (``tests/fixtures/nuscenes-mini-real``: nuScenes scene-0103, 40 keyframes at 2 Hz, real
  ground truth and calibration): scene ``k``'s camera ``C`` holds that camera's ground truth,
  mirrored left-right in odd scenes; frames.json names images that do not exist (nothing is
  rendered; no tracker used here reads pixels);
- two stand-in detector checkpoints, ``epoch1`` and ``epoch2`` of the training run ``scale`` (files
  of a few bytes, never loaded: ``runs/train/scale/epoch_{1,2}.pth``) and, for each and each
  split, the detection cache ``detect`` would serve for them
  (:func:`detbench.detect.api.write_entry` under the key ``detect`` computes), holding
  ground-truth-derived detections (:func:`detbench.data.noisy.noisy_detections`, seeded per
  sequence): ``epoch1`` misses 30 % of the boxes, adds 4 false positives a frame and jitters
  8 %; ``epoch2`` misses 10 %, adds 1 and jitters 4 %.

So ``detbench compare --run scale --detectors epoch1,epoch2 --data <root>/data`` and ``detbench
tune --run scale --detector epoch1 ...`` find their detections cached and run as on real data.
The run and the caches go under the current runs folder (``DETBENCH_RUNS``).
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent

def _fixture() -> Path:
    from detbench.data.layout import PreparedDataset

    return PreparedDataset(ROOT / "tests" / "fixtures" / "nuscenes-mini-real").sequences_root
CAMERAS = ("CAM_FRONT", "CAM_FRONT_RIGHT", "CAM_BACK_RIGHT", "CAM_BACK", "CAM_BACK_LEFT", "CAM_FRONT_LEFT")
RUN = "scale"
DETECTORS = {"epoch1": dict(drop=0.3, fp_rate=4.0, jitter=0.08), "epoch2": dict(drop=0.1, fp_rate=1.0, jitter=0.04)}
SPLITS = {"val": 1000, "tune": 5000}   # split -> number of its first scene (splits never share a scene)


def scene_names(split: str, scenes: int) -> list[str]:
    return [f"scene-{SPLITS[split] + k:04d}" for k in range(scenes)]


def _mirror(gt: np.ndarray, width: int) -> np.ndarray:
    out = gt.copy()
    out[:, 2] = width - gt[:, 2] - gt[:, 4]
    return out


def write_dataset(data_dir: Path, scenes: int, cameras=CAMERAS) -> Path:
    """The prepared dataset (see the module docstring) -> ``data_dir``."""
    from detbench.data import mot
    from detbench.data.layout import PreparedDataset, frames_file, gt_file, seqinfo_file

    data, fixture = PreparedDataset(data_dir), _fixture()
    sequences = {}
    for split in SPLITS:
        sequences[split] = []
        for k, scene in enumerate(scene_names(split, scenes)):
            for cam in cameras:
                src, seq = fixture / f"scene-0103_{cam}", f"{scene}_{cam}"
                info = mot.read_seqinfo(seqinfo_file(src))
                gt = mot.read_mot(gt_file(src), kind="gt", include_ignored=True)
                dst = data.seq_dir(split, seq)
                data.gt_file(split, seq).parent.mkdir(parents=True, exist_ok=True)
                mot.write_mot(data.gt_file(split, seq), _mirror(gt, info.width) if k % 2 else gt)
                mot.write_seqinfo(seqinfo_file(dst), mot.SeqInfo(seq, info.frame_rate, info.width, info.height,
                                                                 info.length))
                frames = json.loads(frames_file(src).read_text(encoding="utf-8"))
                for row in frames:
                    row["image"] = f"samples/{seq}/{row['frame']:03d}.jpg"   # not rendered
                frames_file(dst).write_text(json.dumps(frames), encoding="utf-8")
                sequences[split].append(seq)
    meta = {"stage": "prepare", "dataroot": str(data_dir.resolve()), "version": "scale-workload",
            "cameras": list(cameras), "splits": {s: scene_names(s, scenes) for s in SPLITS},
            "image_size": [1600, 900], "sequences": sequences, "has_sweeps": False}
    data.meta_file.write_text(json.dumps(meta), encoding="utf-8")
    return data_dir


def write_detections(data_dir: Path, checkpoint: Path, noise: dict, seed: int) -> None:
    """The detection caches of stand-in ``checkpoint`` on every split: GT-derived ``noise``."""
    from detbench.core import paths
    from detbench.core.fileio import sha256_file
    from detbench.data import mot
    from detbench.data.layout import PreparedDataset
    from detbench.data.noisy import noisy_detections
    from detbench.detect import api

    data = PreparedDataset(data_dir)
    for split in SPLITS:
        key, options, seq_frames, ckpt_sha, data_sha = api._key(checkpoint, data_dir, split, 0.01, 0.65, "cpu",
                                                                "keyframes", None, 300)
        per_frame = []
        for i, seq in enumerate(seq_frames):
            info = mot.read_seqinfo(data.seqinfo(split, seq))
            gt = mot.read_mot(data.gt_file(split, seq), kind="gt")
            per_frame += noisy_detections(gt, info.length, info.width, info.height, seed=seed * 100003 + i, **noise)
        blobs, recs, _ = api.pack_sequences(seq_frames, per_frame)
        api.write_entry(paths.detections_root() / key, key, options, checkpoint, sha256_file(checkpoint), data_dir,
                        data_sha, checkpoint.stem, None, None, (640, 1152), 8, "cpu", blobs, recs, 1.0)


def build_workload(data_dir: Path, scenes: int, cameras=CAMERAS) -> Path:
    """The dataset at ``data_dir`` (replaced), the stand-in run ``scale`` and its cached detections."""
    from detbench.core import paths

    data_dir = Path(data_dir)
    if data_dir.exists():
        shutil.rmtree(data_dir)
    write_dataset(data_dir, scenes, cameras)
    for seed, (name, noise) in enumerate(DETECTORS.items()):
        ckpt = paths.train_dir(RUN) / f"epoch_{name[len('epoch'):]}.pth"
        ckpt.parent.mkdir(parents=True, exist_ok=True)
        ckpt.write_bytes(f"stand-in checkpoint {name}: its detections are cached, never computed\n".encode())
        write_detections(data_dir, ckpt, noise, seed)
    return data_dir
