"""eval-det against pycocotools run directly, precision/recall by hand, exports, show-dets, CLI."""
from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from test_detect import make_dataset

from detbench.core.classes import CLASSES


def gt_cache(tmp_path: Path, data_dir: Path, name: str, jitter: float, drop_every: int = 0, fp: bool = False,
             seed: int = 0) -> Path:
    """A detection cache built from the GT boxes (jittered, some dropped, some false positives)."""
    from detbench.detect.cache import pack_sequence, write_cache

    rng = np.random.default_rng(seed)
    gt = json.loads((data_dir / "coco" / "val.json").read_text())
    by_img: dict[int, list] = {}
    for a in gt["annotations"]:
        by_img.setdefault(a["image_id"], []).append(a)
    blobs, seqs = {}, sorted({im["sequence"] for im in gt["images"]})
    for seq in seqs:
        ims = sorted((im for im in gt["images"] if im["sequence"] == seq), key=lambda im: im["frame"])
        per_frame = []
        for im in ims:
            rows = []
            for i, a in enumerate(by_img.get(im["id"], [])):
                if drop_every and i % drop_every == 0:
                    continue
                x, y, w, h = np.array(a["bbox"], float) + rng.normal(0, jitter, 4) * [1, 1, 0.5, 0.5]
                rows.append([x, y, x + w, y + h, rng.uniform(0.3, 1.0), a["category_id"] - 1])
            if fp:
                rows.append([5, 5, 25, 25, rng.uniform(0.3, 0.9), 0])
            per_frame.append(np.array(rows, np.float32).reshape(-1, 6))
        blobs[seq] = pack_sequence(per_frame, list(range(1, len(ims) + 1)), [0] * len(ims))
    out = tmp_path / "caches" / name
    write_cache(out, {"detector": name, "split": "val", "sequences": {}}, blobs)
    return out


def pycocotools_direct(gt_path: Path, results_path: Path, cat_ids=None):
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO(str(gt_path))
        dt = gt.loadRes(str(results_path))
        ev = COCOeval(gt, dt, "bbox")
        if cat_ids is not None:
            ev.params.catIds = cat_ids
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return ev.stats


@pytest.fixture
def data_dir(tmp_path):
    return make_dataset(tmp_path, seqs=("scene-0001_CAM_FRONT", "scene-0002_CAM_FRONT", "scene-0003_CAM_BACK"),
                        frames=4)


def test_eval_det_cli_equals_pycocotools_direct(tmp_path, data_dir):
    from detbench.cli import main

    good = gt_cache(tmp_path, data_dir, "good", jitter=1.0, fp=True)
    poor = gt_cache(tmp_path, data_dir, "poor", jitter=4.0, drop_every=2, fp=True, seed=1)
    out = tmp_path / "ev"
    assert main(["eval-det", "--cache", str(good), "--cache", str(poor), "--data", str(data_dir),
                 "--out", str(out)]) == 0
    doc = json.loads((out / "eval.json").read_text())
    assert list(doc["detectors"]) == ["good", "poor"]
    gt_path = data_dir / "coco" / "val.json"
    for name in ("good", "poor"):
        stats = pycocotools_direct(gt_path, out / "results" / f"{name}.json")
        got = doc["detectors"][name]
        for i, k in enumerate(("AP", "AP50", "AP75")):
            assert got[k] == pytest.approx(stats[i], abs=1e-12)
        # per-class AP equals COCOeval restricted to that category
        for c, cls in enumerate(CLASSES, 1):
            if got["per_class"][cls]["num_gt"]:
                assert got["per_class"][cls]["AP"] == pytest.approx(pycocotools_direct(gt_path, out / "results" / f"{name}.json", [c])[0], abs=1e-12)
    assert 0 < doc["detectors"]["poor"]["AP"] < doc["detectors"]["good"]["AP"]
    md = (out / "eval.md").read_text()
    assert "| AP | " in md and "good" in md and "pedestrian" in md
    # one detector: top-level AP, AP50, AP75, per_class
    assert main(["eval-det", "--cache", str(good), "--data", str(data_dir), "--out", str(out / "one"),
                 "--json", str(tmp_path / "one.json")]) == 0
    one = json.loads((tmp_path / "one.json").read_text())
    assert one["AP"] == doc["detectors"]["good"]["AP"] and set(one["per_class"]) == set(CLASSES)


def test_precision_recall_at_threshold_by_hand():
    from detbench.detect.coco_eval import evaluate_coco

    cats = [{"id": i + 1, "name": n} for i, n in enumerate(CLASSES)]
    gt = {"images": [{"id": 1, "width": 200, "height": 100}],
          "categories": cats,
          "annotations": [{"id": i + 1, "image_id": 1, "bbox": b, "area": b[2] * b[3], "iscrowd": 0, "category_id": 1}
                          for i, b in enumerate([[10, 10, 40, 40], [60, 10, 40, 40], [110, 10, 40, 40]])]}
    dt = [{"image_id": 1, "category_id": 1, "bbox": [10, 10, 40, 40], "score": 0.9},     # TP
          {"image_id": 1, "category_id": 1, "bbox": [150, 60, 30, 30], "score": 0.8},    # FP
          {"image_id": 1, "category_id": 1, "bbox": [61, 11, 40, 40], "score": 0.5},     # TP (IoU .91)
          {"image_id": 1, "category_id": 1, "bbox": [110, 10, 40, 40], "score": 0.1},    # TP below threshold
          {"image_id": 1, "category_id": 2, "bbox": [110, 10, 40, 40], "score": 0.95}]   # truck: no truck GT
    r = evaluate_coco(gt, dt, score_thr=0.3)
    car = r["per_class"]["car"]
    assert (car["tp"], car["fp"], car["num_gt"]) == (2, 1, 3)
    assert car["precision"] == pytest.approx(2 / 3) and car["recall"] == pytest.approx(2 / 3)
    truck = r["per_class"]["truck"]
    assert truck["AP"] is None and truck["recall"] is None and truck["fp"] == 1 and truck["precision"] == 0.0
    # AP50 of car by hand: ranked TP, FP, TP, TP -> precision at recall 1/3, 2/3, 1 = 1, 2/3, 3/4;
    # interpolated (max to the right): 1 up to 1/3, 3/4 up to 1 -> 101-point mean
    rec = np.linspace(0, 1, 101)
    expected = np.mean(np.where(rec <= 1 / 3 + 1e-12, 1.0, 0.75))
    assert car["AP50"] == pytest.approx(expected, abs=1e-9)


def test_export_mot_and_coco(tmp_path, data_dir):
    from detbench.data.mot import read_mot_dets
    from detbench.detect.cache import read_sequence_detections
    from detbench.detect.export import coco_results, export_mot_dets

    cache = gt_cache(tmp_path, data_dir, "good", jitter=1.0)
    files = export_mot_dets(cache, tmp_path / "mot")
    assert [f.name for f in files] == ["scene-0001_CAM_FRONT.txt", "scene-0002_CAM_FRONT.txt", "scene-0003_CAM_BACK.txt"]
    want = read_sequence_detections(cache, "scene-0003_CAM_BACK")
    got = read_mot_dets(tmp_path / "mot" / "scene-0003_CAM_BACK.txt", num_frames=4)
    for w, g in zip(want, got):
        np.testing.assert_allclose(g[:, :4], w[:, :4], atol=0.011)
        np.testing.assert_allclose(g[:, 4], w[:, 4], atol=1e-4)
        np.testing.assert_array_equal(g[:, 5], w[:, 5])
    gt = json.loads((data_dir / "coco" / "val.json").read_text())
    res, ids = coco_results(cache, gt)
    assert sorted(ids) == sorted(im["id"] for im in gt["images"]) and len(res) == len(gt["annotations"])


def test_show_dets_draws_boxes(tmp_path, data_dir):
    from detbench.cli import main
    from detbench.detect.render import COLORS

    cache = gt_cache(tmp_path, data_dir, "exact", jitter=0.0)
    out = tmp_path / "png"
    assert main(["show-dets", "--cache", str(cache), "--data", str(data_dir), "--seq", "scene-0001_CAM_FRONT",
                 "--score-thr", "0", "--out", str(out)]) == 0
    pngs = sorted(out.glob("*.png"))
    assert [p.name for p in pngs] == ["000001.png", "000002.png", "000003.png", "000004.png"]
    gt = json.loads((data_dir / "coco" / "val.json").read_text())
    img = next(im for im in gt["images"] if im["sequence"] == "scene-0001_CAM_FRONT" and im["frame"] == 1)
    ann = next(a for a in gt["annotations"] if a["image_id"] == img["id"])
    x, y, w, h = ann["bbox"]
    drawn = cv2.imread(str(pngs[0]))
    # the bottom edge of a box is drawn in its class colour (top edge may carry the label)
    assert tuple(int(v) for v in drawn[int(y + h), int(x + w / 2)]) in {COLORS[a["category_id"] - 1] for a in gt["annotations"] if a["image_id"] == img["id"]}


def test_cli_bad_inputs(tmp_path, data_dir, capsys):
    from detbench.cli import main

    assert main(["eval-det", "--data", str(data_dir)]) == 2
    assert main(["detect", "--detector", "epoch1", "--data", str(tmp_path / "nowhere")]) == 2
    assert "no prepared dataset" in capsys.readouterr().err
    cache = gt_cache(tmp_path, data_dir, "good", jitter=1.0)
    assert main(["show-dets", "--cache", str(cache), "--data", str(data_dir), "--seq", "nope", "--out",
                 str(tmp_path / "x")]) == 2
    assert "has no sequence 'nope'" in capsys.readouterr().err


def test_cli_detect_with_training_checkpoint(tmp_path, data_dir, capsys):
    """Integration with detbench.train.checkpoint: names, load, cache hit, unknown name."""
    from test_detect import nano_model, save_detector

    from detbench.cli import main
    from detbench.core import paths
    from detbench.detect.api import CACHE_STATS

    run_dir = paths.train_dir("r1")
    run_dir.mkdir(parents=True)
    save_detector(run_dir / "epoch_1.pth", nano_model(), 1)
    args = ["detect", "--detector", "epoch1", "--data", str(data_dir), "--device", "cpu",
            "--export-mot", str(tmp_path / "mot")]
    assert main(args) == 0
    assert "wrote " in capsys.readouterr().out
    hits = CACHE_STATS["hit"]
    assert main(args) == 0
    assert "cache hit" in capsys.readouterr().out and CACHE_STATS["hit"] == hits + 1
    assert len(list((tmp_path / "mot").glob("*.txt"))) == 3
    assert main(["detect", "--detector", "epoch999", "--data", str(data_dir)]) == 2
    assert "available: epoch1" in capsys.readouterr().err
    assert main(["detect", "--detector", str(tmp_path / "missing.pth"), "--data", str(data_dir)]) == 2
    assert "checkpoint not found" in capsys.readouterr().err
