"""Training data: a prepared dataset's COCO json + YOLOX's own augmentations.

``runs/data/<name>/coco/<split>.json`` names images relative to the ``dataroot`` in the dataset's
``meta.json``. Samples go through the ``yolox`` package's ``MosaicDetection`` (mosaic, random
affine, mixup) and ``TrainTransform`` (HSV, flip, letterbox to the top left, pad 114, BGR 0..255).

Augmentation randomness is re-seeded per sample from (seed, epoch, index), so a sample's
augmentation does not depend on worker count, rank, or whether the run was resumed.
``set_epoch(epoch, augment=False)`` switches every augmentation off: the sample is then exactly
the letterboxed image (no mosaic, mixup, HSV or flip in the finetune phase,
unlike YOLOX's no-aug phase, which keeps HSV and flip).
"""
from __future__ import annotations

import random
import zlib
from pathlib import Path

import cv2
import numpy as np
import torch
from yolox.data.data_augment import TrainTransform
from yolox.data.datasets import MosaicDetection
from yolox.data.datasets.datasets_wrapper import Dataset as YoloxDataset

from detbench.core.classes import CLASSES
from detbench.core.errors import InputError
from detbench.core.fileio import read_json, sha256_file
from detbench.data.layout import PreparedDataset


def load_coco(data_dir: str | Path, split: str = "train") -> tuple[dict, Path, str]:
    """(coco json, image root, sha256 of the json), validated; InputError naming the file otherwise."""
    data = PreparedDataset(data_dir)
    meta_path, coco_path = data.meta_file, data.coco_file(split)
    for p in (meta_path, coco_path):
        if not p.is_file():
            raise InputError(f"{p}: not found (run `detbench prepare` first)")
    meta, coco = read_json(meta_path), read_json(coco_path)
    if "dataroot" not in meta:
        raise InputError(f"{meta_path}: no 'dataroot'")
    for key in ("images", "annotations", "categories"):
        if not isinstance(coco.get(key), list):
            raise InputError(f"{coco_path}: missing list {key!r}")
    names = [c.get("name") for c in sorted(coco["categories"], key=lambda c: c.get("id", 0))]
    ids = sorted(c.get("id") for c in coco["categories"])
    if names != list(CLASSES) or ids != list(range(1, len(CLASSES) + 1)):
        raise InputError(f"{coco_path}: categories must be ids 1..7 named {', '.join(CLASSES)}")
    if not coco["images"]:
        raise InputError(f"{coco_path}: no images")
    return coco, Path(meta["dataroot"]), sha256_file(coco_path)


class CocoImages(YoloxDataset):
    """Images + xyxy/class labels, resized so the image fits ``input_size`` (as YOLOX's COCODataset)."""

    def __init__(self, coco: dict, image_root: Path, input_size: tuple[int, int], on_bad_image: str = "skip"):
        super().__init__(input_size, mosaic=False)
        self.root, self.on_bad_image = Path(image_root), on_bad_image
        self.images = sorted(coco["images"], key=lambda im: im["id"])
        row_of = {im["id"]: i for i, im in enumerate(self.images)}
        labels = [[] for _ in self.images]
        for a in coco["annotations"]:
            x, y, w, h = (float(v) for v in a["bbox"])
            if not np.isfinite([x, y, w, h]).all():
                raise InputError(f"annotation {a.get('id')}: non-finite bbox {a['bbox']}")
            if a.get("iscrowd", 0) or w <= 0 or h <= 0 or a["image_id"] not in row_of:
                continue
            im = self.images[row_of[a["image_id"]]]
            x1, y1 = max(0.0, x), max(0.0, y)
            x2, y2 = min(float(im["width"]), x + w), min(float(im["height"]), y + h)
            if x2 > x1 and y2 > y1:
                labels[row_of[a["image_id"]]].append([x1, y1, x2, y2, a["category_id"] - 1])
        self.labels = [np.asarray(lb, dtype=np.float32).reshape(-1, 5) for lb in labels]
        self.bad: list[str] = []  # undecodable files met by this process since the last reset

    def __len__(self):
        return len(self.images)

    def _scale(self, index: int) -> float:
        im = self.images[index]
        return min(self.input_dim[0] / im["height"], self.input_dim[1] / im["width"])

    def load_anno(self, index: int) -> np.ndarray:
        lb = self.labels[index].copy()
        lb[:, :4] *= self._scale(index)
        return lb

    def _read(self, index: int):
        path = self.root / self.images[index]["file_name"]
        img = cv2.imread(str(path)) if path.is_file() else None
        if img is None:
            if self.on_bad_image == "stop":
                raise InputError(f"{path}: image missing or cannot be decoded")
            self.bad.append(str(path))
        return img

    def pull_item(self, index: int):
        index = int(index)
        for _ in range(len(self)):
            img = self._read(index)
            if img is not None:
                break
            index = (index + 1) % len(self)  # skip: the next image stands in
        else:
            raise InputError(f"{self.root}: no image of the split can be decoded")
        r = self._scale(index)
        h0, w0 = img.shape[:2]
        img = cv2.resize(img, (int(w0 * r), int(h0 * r)), interpolation=cv2.INTER_LINEAR).astype(np.uint8)
        return img, self.load_anno(index), (h0, w0), self.images[index]["id"]


class TrainData(torch.utils.data.Dataset):
    """(image CHW float32, labels (max_labels, 5) [cls, cx, cy, w, h], bad file names joined by '\\n')."""

    def __init__(self, images: CocoImages, recipe, seed: int = 0):
        self.images, self.recipe, self.seed = images, recipe, seed
        self.mosaic = MosaicDetection(
            images, recipe.input_size, mosaic=True, preproc=None, degrees=recipe.degrees,
            translate=recipe.translate, mosaic_scale=recipe.mosaic_scale, mixup_scale=recipe.mixup_scale,
            shear=recipe.shear, enable_mixup=recipe.mixup_prob > 0, mosaic_prob=recipe.mosaic_prob,
            mixup_prob=recipe.mixup_prob)
        self.epoch, self.augment = 1, True
        self.set_epoch(1, True)

    def set_epoch(self, epoch: int, augment: bool) -> None:
        """Before building the epoch's loader (workers copy the dataset when they start)."""
        r = self.recipe
        self.epoch, self.augment = epoch, augment
        self.mosaic.enable_mosaic = augment and r.mosaic_prob > 0
        self.mosaic.preproc = TrainTransform(max_labels=r.max_labels, flip_prob=r.flip_prob if augment else 0.0,
                                             hsv_prob=r.hsv_prob if augment else 0.0)

    def __len__(self):
        return len(self.images)

    def __getitem__(self, index: int):
        sample_seed = zlib.crc32(f"{self.seed}:{self.epoch}:{int(index)}".encode())
        random.seed(sample_seed)
        np.random.seed(sample_seed)
        self.images.bad = []
        img, labels, _, _ = self.mosaic[int(index)]
        return torch.from_numpy(img), torch.from_numpy(labels), "\n".join(self.images.bad)
