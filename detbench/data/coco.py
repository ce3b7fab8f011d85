"""COCO detection json for one split (``coco/<split>.json`` of a prepared dataset).

``images``: ``id``, ``file_name`` (relative to the dataroot), ``width``, ``height``, ``sequence``,
``frame`` (1-based), ``sample_data_token``. ``annotations``: ``id``, ``image_id``, ``bbox``
``[x, y, w, h]`` in pixels, ``area``, ``iscrowd`` 0, ``category_id`` 1..7, ``track_id``.
Ignore regions (``prepare``'s ignore rows) are annotations with ``iscrowd`` 1 and ``ignore`` 1
plus ``ignore_reason``: pycocotools (2.0.11 ``COCOeval.evaluate`` replaces a given ``ignore``
with ``iscrowd``) reads only ``iscrowd``, so a crowd box is never a miss, and a detection that
matches no regular box but overlaps the crowd box (intersection over the *detection's* area >=
the IoU threshold) is neither a TP nor an FP. Crowds are matched per category, so a box of a
category outside the seven gets one crowd annotation per category. Training skips crowds.
``categories``: ids 1..7 named in ``CLASSES`` order. Ids are 1-based and dense.
"""
from __future__ import annotations

from detbench.core.classes import CLASSES


def categories() -> list[dict]:
    return [{"id": i + 1, "name": name, "supercategory": "object"} for i, name in enumerate(CLASSES)]


class CocoBuilder:
    """Accumulates images and annotations of one split in the order they are added."""

    def __init__(self, description: str = ""):
        self.images: list[dict] = []
        self.annotations: list[dict] = []
        self.description = description

    def add_image(self, file_name: str, width: int, height: int, sequence: str, frame: int,
                  sample_data_token: str) -> int:
        image_id = len(self.images) + 1
        self.images.append({"id": image_id, "file_name": file_name, "width": int(width), "height": int(height),
                            "sequence": sequence, "frame": int(frame), "sample_data_token": sample_data_token})
        return image_id

    def add_box(self, image_id: int, x1: float, y1: float, x2: float, y2: float, class_index: int,
                track_id: int) -> None:
        w, h = x2 - x1, y2 - y1
        self.annotations.append({
            "id": len(self.annotations) + 1, "image_id": int(image_id),
            "bbox": [round(x1, 3), round(y1, 3), round(w, 3), round(h, 3)], "area": round(w * h, 3),
            "iscrowd": 0, "category_id": int(class_index) + 1, "track_id": int(track_id)})

    def add_ignore(self, image_id: int, x1: float, y1: float, x2: float, y2: float, class_id: int,
                   track_id: int, reason: str) -> None:
        """An ignore region: class id 1..7, or 0 (a category outside the seven) for every category."""
        w, h = x2 - x1, y2 - y1
        for cid in ([int(class_id)] if class_id else range(1, len(CLASSES) + 1)):
            self.annotations.append({
                "id": len(self.annotations) + 1, "image_id": int(image_id),
                "bbox": [round(x1, 3), round(y1, 3), round(w, 3), round(h, 3)], "area": round(w * h, 3),
                "iscrowd": 1, "ignore": 1, "ignore_reason": reason, "category_id": cid,
                "track_id": int(track_id)})

    def to_dict(self) -> dict:
        return {"info": {"description": self.description}, "images": self.images,
                "annotations": self.annotations, "categories": categories()}
