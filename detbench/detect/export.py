"""Export a detection cache: MOTChallenge det files per sequence, COCO results for pycocotools."""
from __future__ import annotations

from pathlib import Path

from detbench.core.errors import InputError
from detbench.core.fileio import read_json
from detbench.data.mot import write_mot_dets
from detbench.detect.cache import read_meta, read_sequence_detections


def export_mot_dets(cache_dir: str | Path, out_dir: str | Path, frames: str = "keyframes") -> list[Path]:
    """Write ``<out_dir>/<seq>.txt`` as ``frame,-1,x,y,w,h,score,class`` (class ids 1..7)."""

    meta = read_meta(cache_dir)
    return [write_mot_dets(Path(out_dir) / f"{seq}.txt", read_sequence_detections(cache_dir, seq, frames))
            for seq in sorted(meta["sequences"])]


def load_coco_gt(path: str | Path) -> dict:
    gt = read_json(path, "COCO ground truth not found (run detbench prepare)")
    if not all(k in gt for k in ("images", "annotations", "categories")):
        raise InputError(f"{path}: not a COCO detection json (needs images, annotations, categories)")
    return gt


def coco_results(cache_dir: str | Path, gt: dict, gt_path: str | Path = "ground truth") -> tuple[list[dict], list[int]]:
    """Cached keyframe detections -> (COCO results list, ids of the GT images the cache covers).

    Images are matched on (``sequence``, ``frame``); category_id = class index + 1; bbox is
    [x, y, w, h] rounded to 0.01 px, score to 1e-5.
    """
    index = {(im["sequence"], int(im["frame"])): im["id"] for im in gt["images"]}
    meta = read_meta(cache_dir)
    results, img_ids = [], []
    for seq in sorted(meta["sequences"]):
        for f, dets in enumerate(read_sequence_detections(cache_dir, seq), 1):
            img_id = index.get((seq, f))
            if img_id is None:
                raise InputError(f"{gt_path}: no image for sequence {seq} frame {f} "
                                 f"(cache {cache_dir} was made from another dataset?)")
            img_ids.append(img_id)
            for d in dets:
                results.append({"image_id": img_id, "category_id": int(d[5]) + 1,
                                "bbox": [round(float(d[0]), 2), round(float(d[1]), 2),
                                         round(float(d[2] - d[0]), 2), round(float(d[3] - d[1]), 2)],
                                "score": round(float(d[4]), 5)})
    return results, img_ids
