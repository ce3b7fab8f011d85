"""detect: letterbox inverse, decode, NMS, batched inference, and the detection cache."""
from __future__ import annotations

import copy
import functools
import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from detbench.core.classes import CLASSES
from detbench.core.errors import InputError

INPUT = (64, 96)  # (h, w) tiny model input for tests


# ------------------------------------------------------------------ builders shared with test_detect_eval
@functools.lru_cache(maxsize=None)
def _nano_template(seed: int):
    return _build_nano(seed)


def nano_model(seed: int = 0):
    """A fresh copy of the seeded test model (built once per process: building is slow)."""
    return copy.deepcopy(_nano_template(seed))


def save_detector(path, model, epoch: int) -> None:
    """``model`` written as a training run's ``epoch_<epoch>.pth`` (the format ``detect`` and
    ``compare`` load by epoch name)."""
    from detbench.train import checkpoint as ckpt_mod

    ckpt_mod.save_pth(path, {
        "format": ckpt_mod.FORMAT, "model_size": "yolox-nano", "num_classes": len(CLASSES),
        "class_names": list(CLASSES), "input_size": [64, 96], "epoch": epoch, "step": epoch, "recipe": {},
        "model": model.state_dict(), "ema": None, "frozen_base": None})


def _build_nano(seed: int):
    """A fresh 7-class YOLOX-nano; biases set so random weights give scores ~0.1-0.4 and class
    logits separated by 0.2 (no near-ties that float noise between batch sizes could flip)."""
    from yolox.config import YoloxConfig

    torch.manual_seed(seed)
    cfg = YoloxConfig.get_named_config("yolox_nano")
    cfg.num_classes = len(CLASSES)
    model = cfg.get_model()
    with torch.no_grad():
        for conv in model.head.obj_preds:
            conv.bias.fill_(-0.5)
        for conv in model.head.cls_preds:
            conv.bias.copy_(-0.5 - 0.2 * torch.arange(len(CLASSES)))
    return model.eval()


def save_checkpoint(path: Path, model) -> Path:
    torch.save({"model": model.state_dict(), "input_size": list(INPUT)}, path)
    return path


def load_checkpoint(path, device="cpu"):
    """Real loader of the test checkpoint format (weights_only)."""
    ck = torch.load(path, map_location=device, weights_only=True)
    model = nano_model()
    model.load_state_dict(ck["model"])
    return model.eval(), {"num_classes": len(CLASSES), "input_size": tuple(ck["input_size"]), "epoch": 1}


def make_dataset(root: Path, seqs=("scene-0001_CAM_FRONT", "scene-0002_CAM_BACK"), frames=3, size=(160, 90),
                 split="val", sweeps=0, seed=0) -> Path:
    """A prepared dataset (contracts section 1): images with coloured boxes, COCO GT, frames.json."""
    rng = np.random.default_rng(seed)
    dataroot, data_dir = root / "nusc", root / "data"
    images, anns = [], []
    for seq in seqs:
        sdir = data_dir / "sequences" / split / seq
        sdir.mkdir(parents=True)
        rows, all_rows = [], []
        n_total = frames * (sweeps + 1)
        for t in range(n_total):
            is_key = t % (sweeps + 1) == 0
            rel = f"samples/{seq}_{t:03d}.jpg"
            img = np.full((size[1], size[0], 3), 90, np.uint8)
            boxes = []
            for _ in range(3):
                w, h = rng.integers(15, 40, 2)
                x, y = rng.integers(0, size[0] - w), rng.integers(0, size[1] - h)
                cv2.rectangle(img, (int(x), int(y)), (int(x + w), int(y + h)), tuple(int(c) for c in rng.integers(0, 255, 3)), -1)
                boxes.append((int(x), int(y), int(w), int(h), int(rng.integers(1, 8))))
            (dataroot / rel).parent.mkdir(parents=True, exist_ok=True)
            cv2.imwrite(str(dataroot / rel), img)
            rec = {"sample_token": f"s{t}", "sample_data_token": f"{seq}-{t}", "timestamp": 1000 + t * 83333,
                   "image": rel}
            if is_key:
                kf = len(rows) + 1
                rows.append(dict(rec, frame=kf))
                img_id = len(images) + 1
                images.append({"id": img_id, "file_name": rel, "width": size[0], "height": size[1],
                               "sequence": seq, "frame": kf, "sample_data_token": rec["sample_data_token"]})
                for x, y, w, h, c in boxes:
                    anns.append({"id": len(anns) + 1, "image_id": img_id, "bbox": [x, y, w, h], "area": w * h,
                                 "iscrowd": 0, "category_id": c, "track_id": 1})
            all_rows.append(dict(rec, frame=t + 1, is_key_frame=is_key, keyframe=len(rows) if is_key else None))
        (sdir / "frames.json").write_text(json.dumps(rows))
        if sweeps:
            (sdir / "frames_all.json").write_text(json.dumps(all_rows))
    (data_dir / "coco").mkdir(parents=True)
    cats = [{"id": i + 1, "name": n} for i, n in enumerate(CLASSES)]
    (data_dir / "coco" / f"{split}.json").write_text(json.dumps({"images": images, "annotations": anns,
                                                                 "categories": cats}))
    meta = {"stage": "prepare", "dataroot": str(dataroot.resolve()), "version": "test", "cameras": ["CAM_FRONT", "CAM_BACK"],
            "splits": {split: sorted({s.rsplit("_CAM", 1)[0] for s in seqs})}, "image_size": list(size),
            "sequences": {split: list(seqs)}, "has_sweeps": bool(sweeps)}
    (data_dir / "meta.json").write_text(json.dumps(meta))
    return data_dir


def canon(d: np.ndarray) -> np.ndarray:
    """Rows in a canonical order (flat image regions give equal-score boxes in any order)."""
    return d[np.lexsort(np.round(d, 2).T[::-1])]


# ------------------------------------------------------------------ letterbox
def test_letterbox_places_image_top_left_and_inverse_is_exact():
    from detbench.detect.letterbox import letterbox, unletterbox_boxes

    img = np.zeros((200, 400, 3), np.uint8)  # h=200, w=400
    img[48:152, 100:200] = 255
    canvas, r = letterbox(img, (64, 100))
    assert r == 0.25  # min(64/200, 100/400)
    assert canvas.shape == (64, 100, 3)
    assert (canvas[50:] == 114).all()  # rows below the 50-px-high content are padding
    assert (canvas[14:36, 27:48] == 255).all() and (canvas[:10, :20] == 0).all()
    # a box in input pixels maps to exactly 4x in the original
    back = unletterbox_boxes(np.array([[25.0, 12.5, 50.0, 37.5]]), r, 400, 200)
    np.testing.assert_array_equal(back, [[100.0, 50.0, 200.0, 150.0]])
    # clipped to the image (a box reaching into the padding)
    clipped = unletterbox_boxes(np.array([[90.0, 40.0, 110.0, 60.0]]), r, 400, 200)
    np.testing.assert_array_equal(clipped, [[360.0, 160.0, 400.0, 200.0]])


def test_nuscenes_size_ratio():
    from detbench.detect.letterbox import letterbox

    canvas, r = letterbox(np.zeros((900, 1600, 3), np.uint8), (800, 1440))
    assert r == pytest.approx(800 / 900)
    assert (canvas[:, 1422:] == 114).all() and (canvas[:, :1422] == 0).all()  # int(1600 * 0.888..) = 1422


# ------------------------------------------------------------------ decode + NMS
def test_decode_matches_yolox_head_decode():
    from detbench.detect.infer import decode_raw

    model = nano_model()
    x = torch.rand(2, 3, *INPUT) * 255
    with torch.no_grad():
        model.head.decode_in_inference = True
        ref = model(x)
        model.head.decode_in_inference = False
        raw = model(x)
    ours = decode_raw(raw, [tuple(s) for s in model.head.hw], list(model.head.strides))
    torch.testing.assert_close(ours, ref.float())


def test_select_boxes_scores_class_aware_nms_and_mapping():
    from detbench.detect.infer import select_boxes
    from detbench.detect.letterbox import unletterbox_boxes

    C = len(CLASSES)
    pred = torch.zeros(1, 4, 5 + C)
    # (cx, cy, w, h, obj, cls...) in input pixels
    pred[0, 0, :5] = torch.tensor([37.5, 25.0, 25.0, 25.0, 0.9])
    pred[0, 0, 5 + 1] = 0.8   # truck 0.72
    pred[0, 1, :5] = torch.tensor([38.5, 25.0, 25.0, 25.0, 0.9])
    pred[0, 1, 5 + 1] = 0.5   # truck 0.45, IoU .92 -> suppressed
    pred[0, 2, :5] = torch.tensor([38.5, 25.0, 25.0, 25.0, 0.9])
    pred[0, 2, 5 + 4] = 0.6   # pedestrian 0.54, other class -> kept
    pred[0, 3, :5] = torch.tensor([10.0, 10.0, 4.0, 4.0, 0.1])
    pred[0, 3, 5 + 0] = 0.05    # 0.005 < conf
    (dets,) = select_boxes(pred, conf=0.01, nms=0.65)
    assert dets.shape == (2, 6)
    np.testing.assert_allclose(dets[:, 4], [0.72, 0.54], rtol=1e-6)
    np.testing.assert_array_equal(dets[:, 5], [1, 4])
    np.testing.assert_array_equal(dets[0, :4], [25.0, 12.5, 50.0, 37.5])
    np.testing.assert_array_equal(unletterbox_boxes(dets[:1], 0.25, 400, 200), [[100.0, 50.0, 200.0, 150.0]])


def test_detector_batch_equals_single_and_boxes_inside_images():
    from detbench.detect.infer import Detector

    det = Detector(nano_model(), INPUT, conf=0.05)
    rng = np.random.default_rng(1)
    imgs = [rng.integers(0, 255, (90, 160, 3), dtype=np.uint8), rng.integers(0, 255, (120, 100, 3), dtype=np.uint8)]
    batch = det(imgs)
    assert sum(len(d) for d in batch) > 0
    for im, d in zip(imgs, batch):
        single = det([im])[0]
        assert len(d) == len(single)  # same boxes; equal-score rows may come in another order
        np.testing.assert_allclose(canon(d), canon(single), rtol=1e-4, atol=1e-3)
        assert d.dtype == np.float32 and d.shape[1] == 6
        assert (d[:, 0] >= 0).all() and (d[:, 2] <= im.shape[1]).all() and (d[:, 3] <= im.shape[0]).all()
        assert (d[:, 2] > d[:, 0]).all() and (np.diff(d[:, 4]) <= 0).all()


def test_worker_batches_equal_in_process_preprocessing_and_give_the_same_detections(tmp_path):
    """detect decodes + letterboxes in DataLoader worker processes: the same tensors, the same boxes."""
    from detbench.detect.infer import Detector, iter_batches, load_image
    from detbench.detect.letterbox import letterbox, to_chw_float

    data_dir = make_dataset(tmp_path)
    root = Path(json.loads((data_dir / "meta.json").read_text())["dataroot"])
    paths = sorted(root.glob("samples/*.jpg"))
    assert len(paths) == 6
    workers = list(iter_batches(paths, INPUT, 4, workers=2))
    assert [len(b[1]) for b in workers] == [4, 2]  # in order, last batch short
    det = Detector(nano_model(), INPUT, conf=0.05)
    found = 0
    for (batch, ratios, shapes), chunk in zip(workers, (paths[:4], paths[4:])):
        imgs = [load_image(p) for p in chunk]
        prepped = [letterbox(im, INPUT) for im in imgs]
        ref = np.stack([to_chw_float(c) for c, _ in prepped])  # the in-process path of Detector.__call__
        assert np.array_equal(batch.numpy(), ref) and ratios == [r for _, r in prepped]
        assert shapes == [im.shape[:2] for im in imgs]
        for a, b in zip(det.finish(batch, ratios, shapes), det(imgs)):
            assert np.array_equal(a, b)
            found += len(a)
    assert found > 0
    inproc = list(iter_batches(paths, INPUT, 4, workers=0))
    assert all(torch.equal(a[0], b[0]) for a, b in zip(workers, inproc))


# ------------------------------------------------------------------ cache
@pytest.fixture
def setup(tmp_path):
    data_dir = make_dataset(tmp_path)
    ckpt = save_checkpoint(tmp_path / "epoch_1.pth", nano_model())
    return data_dir, ckpt


def _ensure(ckpt, data_dir, **kw):
    from detbench.detect.api import ensure_detections_for

    return ensure_detections_for(ckpt, load_checkpoint, data_dir, "val", detector="epoch1", **kw)


def test_cache_written_reused_and_equal_to_direct_inference(setup):
    from detbench.detect.api import CACHE_STATS
    from detbench.detect.cache import read_meta, read_sequence_detections
    from detbench.detect.infer import Detector, load_image

    data_dir, ckpt = setup
    hits = CACHE_STATS["hit"]
    first = _ensure(ckpt, data_dir, batch_size=2)
    assert not first.cache_hit and first.num_images == 6
    second = _ensure(ckpt, data_dir, batch_size=2)
    assert second.cache_hit and second.cache_dir == first.cache_dir and CACHE_STATS["hit"] == hits + 1
    meta = read_meta(first.cache_dir)
    assert meta["detector"] == "epoch1" and meta["split"] == "val" and sorted(meta["sequences"]) == [
        "scene-0001_CAM_FRONT", "scene-0002_CAM_BACK"]
    # independent path: the model on each image directly
    model, info = load_checkpoint(ckpt)
    det = Detector(model, info["input_size"], conf=0.01)
    frames = json.loads((data_dir / "sequences/val/scene-0002_CAM_BACK/frames.json").read_text())
    root = Path(json.loads((data_dir / "meta.json").read_text())["dataroot"])
    cached = read_sequence_detections(first.cache_dir, "scene-0002_CAM_BACK")
    assert len(cached) == 3
    for f, c in zip(frames, cached):
        direct = det([load_image(root / f["image"])])[0]
        assert len(c) == len(direct)
        np.testing.assert_allclose(canon(c), canon(direct), rtol=1e-4, atol=1e-3)
    assert sum(len(c) for c in cached) > 0


def test_changed_checkpoint_or_conf_makes_new_entry(setup):
    data_dir, ckpt = setup
    base = _ensure(ckpt, data_dir).cache_dir
    other_conf = _ensure(ckpt, data_dir, conf=0.2)
    assert not other_conf.cache_hit and other_conf.cache_dir != base
    model = nano_model()
    with torch.no_grad():
        model.head.cls_preds[0].bias.add_(0.01)
    save_checkpoint(ckpt, model)  # same path, new content
    changed = _ensure(ckpt, data_dir)
    assert not changed.cache_hit and changed.cache_dir not in (base, other_conf.cache_dir)


def test_corrupt_cache_is_detected_and_recomputed(setup):
    from detbench.detect.api import CACHE_STATS
    from detbench.detect.cache import check_cache, read_sequence_detections

    data_dir, ckpt = setup
    first = _ensure(ckpt, data_dir)
    seq = "scene-0001_CAM_FRONT"
    good = read_sequence_detections(first.cache_dir, seq)
    f = first.cache_dir / f"{seq}.npz"
    for damage in ("flip_bytes", "delete_seq", "bad_meta"):
        if damage == "flip_bytes":
            blob = bytearray(f.read_bytes())
            blob[len(blob) // 2] ^= 0xFF
            f.write_bytes(bytes(blob))
            with pytest.raises(InputError, match="sha256 does not match"):
                read_sequence_detections(first.cache_dir, seq)
        elif damage == "delete_seq":
            f.unlink()
        else:
            (first.cache_dir / "meta.json").write_text("{not json")
        assert check_cache(first.cache_dir), damage
        corrupt = CACHE_STATS["corrupt"]
        again = _ensure(ckpt, data_dir)
        assert not again.cache_hit and again.problems and CACHE_STATS["corrupt"] == corrupt + 1, damage
        assert again.cache_dir == first.cache_dir and check_cache(again.cache_dir) == []
        for a, b in zip(good, read_sequence_detections(again.cache_dir, seq)):
            np.testing.assert_array_equal(a, b)


def test_frames_all_marks_keyframes(tmp_path):
    from detbench.detect.cache import read_sequence_detections

    data_dir = make_dataset(tmp_path, seqs=("scene-0003_CAM_FRONT",), frames=2, sweeps=2)
    ckpt = save_checkpoint(tmp_path / "e.pth", nano_model())
    res = _ensure(ckpt, data_dir, frames="all")
    all_f = read_sequence_detections(res.cache_dir, "scene-0003_CAM_FRONT", frames="all")
    key_f = read_sequence_detections(res.cache_dir, "scene-0003_CAM_FRONT")
    assert len(all_f) == 6 and len(key_f) == 2
    np.testing.assert_array_equal(key_f[0], all_f[0])
    np.testing.assert_array_equal(key_f[1], all_f[3])
    assert res.cache_dir != _ensure(ckpt, data_dir).cache_dir  # keyframes-only is its own entry


# ------------------------------------------------------------------ bad inputs
def test_missing_checkpoint_and_split(setup, tmp_path):
    data_dir, ckpt = setup
    with pytest.raises(InputError, match="checkpoint not found"):
        _ensure(tmp_path / "nope.pth", data_dir)
    from detbench.detect.api import ensure_detections_for

    with pytest.raises(InputError, match=r"no split 'tune' \(available: val\)"):
        ensure_detections_for(ckpt, load_checkpoint, data_dir, "tune")
    from detbench.detect.api import split_frames

    assert list(split_frames(data_dir, "val", cameras=["CAM_BACK"])) == ["scene-0002_CAM_BACK"]
    with pytest.raises(InputError, match="no sequence from camera.*CAM_LEFT"):
        split_frames(data_dir, "val", cameras=["CAM_LEFT"])
    with pytest.raises(InputError, match="meta.json not found"):
        split_frames(tmp_path / "nowhere", "val")


def test_undecodable_image_names_file_and_writes_nothing(setup):
    from detbench.core import paths

    data_dir, ckpt = setup
    root = Path(json.loads((data_dir / "meta.json").read_text())["dataroot"])
    bad = root / "samples/scene-0002_CAM_BACK_001.jpg"
    bad.write_bytes(b"\xff\xd8 definitely not a jpeg")
    with pytest.raises(InputError, match=r"scene-0002_CAM_BACK_001\.jpg: image fails to decode"):
        _ensure(ckpt, data_dir)
    root = paths.detections_root()
    assert not root.exists() or not any(root.iterdir())  # no half-written cache entry
