"""Detector AP with pycocotools: COCO AP/AP50/AP75/S/M/L, per-class AP, and per-class precision
and recall at one score threshold.

Per-class AP is the mean of COCOeval's precision array over IoU thresholds and recall points for
that category (area "all", 100 detections), exactly what ``COCOeval`` with ``catIds=[k]`` gives;
``None`` for a class without ground truth. Precision/recall at ``score_thr`` use COCOeval's own
matching at IoU 0.5 (``evalImgs``): a detection with score >= thr is a TP when matched to a
non-ignored ground-truth box, an FP when unmatched and not ignored; recall = TP / non-ignored GT.
Ignore regions (``iscrowd`` 1, :mod:`detbench.data.coco`) are pycocotools crowds: never counted
as GT, and a detection they absorb is ignored (``dtIgnore``), neither TP nor FP.
"""
from __future__ import annotations

import contextlib
import io

import numpy as np

from detbench.core.classes import CLASSES
from detbench.data.layout import PreparedDataset
from detbench.detect.export import coco_results, load_coco_gt

STAT_NAMES = ("AP", "AP50", "AP75", "APs", "APm", "APl")


def _quiet():
    return contextlib.redirect_stdout(io.StringIO())


def coco_from_dict(gt: dict):
    from pycocotools.coco import COCO

    coco = COCO()
    coco.dataset = gt
    with _quiet():
        coco.createIndex()
    return coco


def evaluate_coco(gt: dict, results: list[dict], img_ids: list[int] | None = None,
                  score_thr: float = 0.3) -> dict:
    """Score COCO ``results`` against ``gt`` (restricted to ``img_ids`` when given)."""
    from pycocotools.cocoeval import COCOeval

    coco_gt = coco_from_dict(gt)
    img_ids = sorted(set(img_ids)) if img_ids is not None else sorted(coco_gt.getImgIds())
    cat_ids = sorted(coco_gt.getCatIds())
    names = {c["id"]: c["name"] for c in gt["categories"]}
    num_gt = {c: len(coco_gt.getAnnIds(imgIds=img_ids, catIds=[c], iscrowd=False)) for c in cat_ids}
    out = {"num_images": len(img_ids), "num_detections": len(results), "score_threshold": score_thr}
    if not results:
        out.update({k: 0.0 for k in STAT_NAMES})
        out["per_class"] = {names[c]: {"AP": 0.0 if num_gt[c] else None, "AP50": 0.0 if num_gt[c] else None,
                                       "precision": None, "recall": 0.0 if num_gt[c] else None,
                                       "num_gt": num_gt[c], "tp": 0, "fp": 0} for c in cat_ids}
        return out
    with _quiet():
        coco_dt = coco_gt.loadRes([dict(r) for r in results])  # loadRes adds keys in place
        ev = COCOeval(coco_gt, coco_dt, "bbox")
        ev.params.imgIds = img_ids
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    out.update({k: _clean(v) for k, v in zip(STAT_NAMES, ev.stats[:6])})
    prec = ev.eval["precision"]  # [T, R, K, A, M]
    counts = _counts_at_threshold(ev, score_thr)
    per_class = {}
    for k, c in enumerate(ev.params.catIds):
        p = prec[:, :, k, 0, -1]
        p50 = prec[0, :, k, 0, -1]
        tp, fp, npos = counts.get(c, (0, 0, 0))
        per_class[names[c]] = {
            "AP": float(np.mean(p[p > -1])) if (p > -1).any() else None,
            "AP50": float(np.mean(p50[p50 > -1])) if (p50 > -1).any() else None,
            "precision": tp / (tp + fp) if tp + fp else None,
            "recall": tp / npos if npos else None,
            "num_gt": num_gt[c], "tp": tp, "fp": fp,
        }
    out["per_class"] = per_class
    return out


def evaluate_cache(cache_dir, data_dir, split: str = "val", score_thr: float = 0.3) -> tuple[dict, list[dict]]:
    """Score a detection cache against ``<data_dir>/coco/<split>.json``: (metrics, COCO results)."""

    gt_path = PreparedDataset(data_dir).coco_file(split)
    gt = load_coco_gt(gt_path)
    results, img_ids = coco_results(cache_dir, gt, gt_path)
    return evaluate_coco(gt, results, img_ids, score_thr), results


def _clean(v: float):
    return None if v < 0 else float(v)  # pycocotools uses -1 for "no ground truth"


def _counts_at_threshold(ev, thr: float) -> dict[int, tuple[int, int, int]]:
    """{category_id: (TP, FP, non-ignored GT)} at IoU 0.5, area all, score >= thr."""
    all_rng = ev.params.areaRng[0]
    out: dict[int, list[int]] = {}
    for e in ev.evalImgs:
        if e is None or list(e["aRng"]) != list(all_rng):
            continue
        acc = out.setdefault(e["category_id"], [0, 0, 0])
        scores = np.asarray(e["dtScores"], dtype=float)
        if len(scores):
            keep = (scores >= thr) & ~np.asarray(e["dtIgnore"], dtype=bool)[0]
            matched = np.asarray(e["dtMatches"])[0] > 0
            acc[0] += int((keep & matched).sum())
            acc[1] += int((keep & ~matched).sum())
        acc[2] += int((~np.asarray(e["gtIgnore"], dtype=bool)).sum())
    return {c: tuple(v) for c, v in out.items()}


def markdown_table(results: dict[str, dict]) -> str:
    """Side-by-side markdown of several detectors' results ({detector: evaluate_coco output})."""
    names = list(results)
    fmt = (lambda v: "-" if v is None else f"{v:.3f}")
    lines = ["| metric | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
    for s in STAT_NAMES:
        lines.append(f"| {s} | " + " | ".join(fmt(results[n][s]) for n in names) + " |")
    thr = results[names[0]]["score_threshold"]
    lines += ["", f"Per-class AP (AP50) and precision / recall at score >= {thr:g}, IoU 0.5:", "",
              "| class | GT | " + " | ".join(names) + " |", "|---|---|" + "---|" * len(names)]
    for cls in CLASSES:
        cells = []
        for n in names:
            r = results[n]["per_class"].get(cls)
            cells.append("-" if r is None else
                         f"{fmt(r['AP'])} ({fmt(r['AP50'])}) P {fmt(r['precision'])} R {fmt(r['recall'])}")
        gt_n = next((results[n]["per_class"][cls]["num_gt"] for n in names if cls in results[n]["per_class"]), 0)
        lines.append(f"| {cls} | {gt_n} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
