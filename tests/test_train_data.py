"""Training data: COCO loading, bad inputs, augmentation on/off at the recipe's probabilities."""
from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from detbench.core.classes import CLASSES


def make_dataset(root: Path, n_images: int = 8, size=(108, 192), seed: int = 0, split: str = "train") -> Path:
    """A tiny prepared dataset: ``root/images/*.jpg`` with filled rectangles, ``meta.json``, ``coco/<split>.json``."""
    rng = np.random.default_rng(seed)
    h, w = size
    (root / "images").mkdir(parents=True, exist_ok=True)
    images, anns = [], []
    for i in range(n_images):
        img = np.full((h, w, 3), 60, np.uint8)
        img[: h // 2] = (180, 140, 110)
        for _ in range(3):
            bw, bh = int(rng.integers(20, 60)), int(rng.integers(15, 40))
            x, y = int(rng.integers(0, w - bw)), int(rng.integers(0, h - bh))
            cls = int(rng.integers(0, len(CLASSES)))
            color = [int(c) for c in (40 + 30 * cls, 200 - 20 * cls, 90 + 15 * cls)]
            cv2.rectangle(img, (x, y), (x + bw - 1, y + bh - 1), color, -1)
            anns.append({"id": len(anns) + 1, "image_id": i + 1, "bbox": [x, y, bw, bh], "area": bw * bh,
                         "iscrowd": 0, "category_id": cls + 1, "track_id": len(anns) + 1})
        name = f"images/{i:03d}.jpg"
        cv2.imwrite(str(root / name), img)
        images.append({"id": i + 1, "file_name": name, "width": w, "height": h})
    cats = [{"id": i + 1, "name": c} for i, c in enumerate(CLASSES)]
    (root / "coco").mkdir(exist_ok=True)
    (root / "coco" / f"{split}.json").write_text(json.dumps({"images": images, "annotations": anns, "categories": cats}))
    (root / "meta.json").write_text(json.dumps({"dataroot": str(root)}))
    return root


def _dataset(root, recipe_name="stable_v3", on_bad_image="skip", **kw):
    from detbench.train.data import CocoImages, TrainData, load_coco
    from detbench.train.recipes import get_recipe

    recipe, _ = get_recipe(recipe_name, input_size="64,96", **kw)
    coco, image_root, _ = load_coco(root)
    return TrainData(CocoImages(coco, image_root, recipe.input_size, on_bad_image), recipe), recipe


def test_no_aug_epochs_leave_images_untouched(tmp_path):
    root = make_dataset(tmp_path / "ds", 4)
    data, _ = _dataset(root)
    data.set_epoch(23, augment=False)
    for index in range(4):
        img = cv2.imread(str(root / f"images/{index:03d}.jpg"))
        r = min(64 / 108, 96 / 192)  # 0.5: the 192x108 image becomes 96x54, padded with 114 below
        expected = np.full((64, 96, 3), 114, np.uint8)
        expected[:54, :96] = cv2.resize(img, (96, 54), interpolation=cv2.INTER_LINEAR)
        for _ in range(3):  # every draw: no mosaic, mixup, HSV or flip
            got, labels, _ = data[index]
            assert np.array_equal(got.numpy(), expected.transpose(2, 0, 1).astype(np.float32))
        coco = json.loads((root / "coco/train.json").read_text())
        boxes = np.array([a["bbox"] for a in coco["annotations"] if a["image_id"] == index + 1]) * r
        n = len(boxes)
        assert np.allclose(labels[:n, 1].numpy(), boxes[:, 0] + boxes[:, 2] / 2)  # cx
        assert np.allclose(labels[:n, 3].numpy(), boxes[:, 2])  # w
        assert labels[n:].abs().sum() == 0


def test_augmentation_rates_before_the_no_aug_phase(tmp_path, monkeypatch):
    import yolox.data.data_augment as aug
    import yolox.data.datasets.mosaicdetection as mosaic_mod

    root = make_dataset(tmp_path / "ds", 6)
    data, recipe = _dataset(root)
    counts = {"mosaic": 0, "mixup": 0, "hsv": 0, "flip": 0}
    real_affine, real_hsv, real_mirror = mosaic_mod.random_affine, aug.augment_hsv, aug._mirror
    real_mixup = data.mosaic.mixup

    def affine(*a, **k):
        counts["mosaic"] += 1
        return real_affine(*a, **k)

    def hsv(img, *a, **k):
        counts["hsv"] += 1
        return real_hsv(img, *a, **k)

    def mirror(image, boxes, prob=0.5):
        out, b = real_mirror(image, boxes, prob)
        counts["flip"] += out is not image
        return out, b

    def mixup(*a, **k):
        counts["mixup"] += 1
        return real_mixup(*a, **k)

    monkeypatch.setattr(mosaic_mod, "random_affine", affine)
    monkeypatch.setattr(aug, "augment_hsv", hsv)
    monkeypatch.setattr(aug, "_mirror", mirror)
    monkeypatch.setattr(data.mosaic, "mixup", mixup)
    n = 600  # augmentation is seeded per (seed, epoch, index): 100 epochs x 6 images are distinct draws
    for epoch in range(1, 101):
        data.set_epoch(epoch, augment=True)
        for i in range(6):
            data[i]
    sd = lambda p: 4 * (p * (1 - p) / n) ** 0.5  # noqa: E731 - 4 standard deviations
    assert abs(counts["mosaic"] / n - recipe.mosaic_prob) < sd(0.2)
    assert abs(counts["flip"] / n - recipe.flip_prob) < sd(0.5)
    assert counts["hsv"] / n > 0.97  # hsv_prob 1.0 (a mosaic whose crop lost every box skips it)
    assert 0 < counts["mixup"] / counts["mosaic"] < 0.15 + 4 * (0.15 * 0.85 / counts["mosaic"]) ** 0.5
    # and all of them stop in the no-aug phase
    before = dict(counts)
    data.set_epoch(23, augment=False)
    for i in range(60):
        data[i % 6]
    assert counts["mosaic"] == before["mosaic"] and counts["hsv"] == before["hsv"]
    assert counts["flip"] == before["flip"] and counts["mixup"] == before["mixup"]


def test_bad_inputs(tmp_path):
    from detbench.core.errors import InputError
    from detbench.train.data import load_coco

    with pytest.raises(InputError, match=r"meta.json: not found"):
        load_coco(tmp_path)  # no meta.json either: the first missing file is named
    root = make_dataset(tmp_path / "ds", 4)
    with pytest.raises(InputError, match=r"coco/val.json: not found"):
        load_coco(root, "val")
    (root / "images/001.jpg").write_bytes(b"not a jpeg")
    data, _ = _dataset(root, on_bad_image="stop")
    data.set_epoch(30, augment=False)
    with pytest.raises(InputError, match=r"images/001.jpg: image missing or cannot be decoded"):
        data[1]
    data, _ = _dataset(root, on_bad_image="skip")
    data.set_epoch(30, augment=False)
    img, _, bad = data[1]
    assert bad.endswith("images/001.jpg")
    assert np.array_equal(img.numpy(), data[2][0].numpy())  # the next image stands in
    assert data[2][2] == ""
