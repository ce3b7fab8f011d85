"""Ignore rows (docs/evaluation.md): ground truth that ``prepare`` filters out counts neither for nor
against a tracker or a detector.

Hand-built sequences use boxes 50 px high on one row, so every IoU below is a ratio of lengths
worked out in the comments. The perfect-tracker cases use the synthetic dataset prepared twice,
with and without the demo's filters.
"""
from __future__ import annotations

import json

import numpy as np
import pytest

from detbench.core.classes import CATEGORY_TO_CLASS, CLASSES
from detbench.core.errors import InputError
from detbench.data import mot
from detbench.data.coco import CocoBuilder
from detbench.data.prepare import prepare
from detbench.evaluate.api import evaluate_folders

CAR, PED = 1, 5


def row(frame, tid, x1, x2, cls=CAR, consider=1.0):
    """MOT row of a box spanning x1..x2, y 100..150."""
    return (frame, tid, float(x1), 100.0, float(x2 - x1), 50.0, consider, cls, 1.0)


def ignore(frame, tid, x1, x2, cls=CAR):
    return row(frame, tid, x1, x2, cls, consider=0.0)


def score(tmp_path, seqs: dict, classes="per-class") -> dict:
    """evaluate_folders over {name: (gt rows, result rows)}."""
    for name, (gt, res) in seqs.items():
        mot.write_mot(tmp_path / "gt" / name / "gt" / "gt.txt", np.array(gt, dtype=float).reshape(-1, 9))
        mot.write_mot(tmp_path / "res" / f"{name}.txt", np.array(res, dtype=float).reshape(-1, 9))
    return evaluate_folders(tmp_path / "gt", tmp_path / "res", classes=classes, check=True)


# ---------------------------------------------------------------- eval, hand-worked
@pytest.mark.parametrize("classes", ["per-class", "agnostic"])
def test_ignored_object_is_never_a_miss(tmp_path, classes):
    # object A (considered) tracked in frames 1-3; object B is an ignore row and nobody finds it
    gt = [row(f, 1, 0, 50) for f in (1, 2, 3)] + [ignore(f, 2, 200, 250) for f in (1, 2, 3)]
    res = [row(f, 7, 0, 50) for f in (1, 2, 3)]
    m = score(tmp_path, {"s": (gt, res)}, classes)["overall"]
    assert (m["TP"], m["FN"], m["FP"], m["IDSW"]) == (3, 0, 0, 0)
    assert m["MOTA"] == 1.0 and m["HOTA"] == pytest.approx(1.0) and m["IDF1"] == 1.0


@pytest.mark.parametrize("classes", ["per-class", "agnostic"])
def test_result_on_ignored_object_is_neither_tp_nor_fp(tmp_path, classes):
    gt = [row(f, 1, 0, 50) for f in (1, 2, 3)] + [ignore(f, 2, 200, 250) for f in (1, 2, 3)]
    res = [row(f, 7, 0, 50) for f in (1, 2, 3)] + [row(f, 8, 200, 250) for f in (1, 2, 3)]
    m = score(tmp_path, {"s": (gt, res)}, classes)["overall"]
    assert (m["TP"], m["FN"], m["FP"], m["IDSW"]) == (3, 0, 0, 0)
    assert m["MOTA"] == 1.0 and m["HOTA"] == pytest.approx(1.0)
    assert m["IDF1"] == 1.0 and m["IDP"] == 1.0


def test_one_assignment_over_considered_and_ignore_boxes_decides(tmp_path):
    """The ignore row takes what the optimal assignment over all boxes gives it (TrackEval's order).

    "joint": considered g 100..200, ignore box 80..170, results r1 100..190 and r2 130..200.
    IoU(r1, g) = 90/100 = 0.9, IoU(r2, g) = 70/100 = 0.7, IoU(r1, ign) = 70/110 = 0.636,
    IoU(r2, ign) = 40/120 = 0.333 (< 0.5). Pairs r1-g alone sum 0.9; r1-ign + r2-g sum 1.336,
    so r1 is removed and r2 is the TP at IoU 0.7 (matching considered boxes first would leave r2
    an FP). "kept": g 100..200, result on it (IoU 1) and an ignore box 120..210 (IoU 80/110 =
    0.727): r-g beats r-ign, so the result stays a TP (removing every result that overlaps an
    ignore box would make g a miss)."""
    seqs = {"joint": ([row(1, 1, 100, 200), ignore(1, 2, 80, 170)],
                      [row(1, 1, 100, 190), row(1, 2, 130, 200)]),
            "kept": ([row(1, 1, 100, 200), ignore(1, 2, 120, 210)], [row(1, 1, 100, 200)])}
    out = score(tmp_path, seqs)
    for name, motp in (("joint", 0.7), ("kept", 1.0)):
        m = out["per_sequence"][name]
        assert (m["TP"], m["FN"], m["FP"]) == (1, 0, 0), name
        assert m["MOTP"] == pytest.approx(motp), name
    assert out["overall"]["MOTP"] == pytest.approx(0.85)  # (0.7 + 1.0) / 2


def test_which_results_an_ignore_row_takes_per_class_and_agnostic(tmp_path):
    """An ignore row of class car takes only car results when classes are scored apart, any result
    class-agnostically; an ignore row of class 0 (a category outside the seven) takes any class."""
    gt = [row(1, 1, 0, 50), ignore(1, 2, 200, 250, cls=CAR), ignore(1, 3, 400, 450, cls=0)]
    res = [row(1, 1, 0, 50), row(1, 2, 200, 250, cls=PED), row(1, 3, 400, 450, cls=PED)]
    per_class = score(tmp_path / "p", {"s": (gt, res)}, "per-class")
    assert per_class["overall"]["FP"] == 1  # the pedestrian on the ignored car
    assert per_class["per_class"]["pedestrian"]["FP"] == 1
    agnostic = score(tmp_path / "a", {"s": (gt, res)}, "agnostic")
    assert (agnostic["overall"]["FP"], agnostic["overall"]["TP"], agnostic["overall"]["FN"]) == (0, 1, 0)


def test_reference_path_and_motmetrics_see_the_same_filtered_tables(tmp_path):
    from reference_metrics import evaluate_folders_reference

    rng = np.random.default_rng(0)
    gt, res = [], []
    for f in range(1, 9):
        for obj in range(6):
            x = 120.0 * obj
            (gt.append(ignore(f, obj + 1, x, x + 50, cls=obj % 2 * 4 + 1)) if obj in (1, 4) and f % 3
             else gt.append(row(f, obj + 1, x, x + 50, cls=obj % 2 * 4 + 1)))
            if rng.random() < 0.8:
                tid = obj + 1 if f < 5 or obj != 2 else 20  # one identity switch
                res.append(row(f, tid, x + rng.uniform(-8, 8), x + 50 + rng.uniform(-8, 8), cls=obj % 2 * 4 + 1))
    for classes in ("per-class", "agnostic"):
        fast = score(tmp_path / classes, {"s": (gt, res)}, classes)  # check=True: motmetrics agrees
        ref = evaluate_folders_reference(tmp_path / classes / "gt", tmp_path / classes / "res", classes=classes)
        assert json.dumps(fast, sort_keys=True) == json.dumps(ref, sort_keys=True)
        assert fast["overall"]["FP"] == 0  # every result on an ignore row was removed, none is left over
        m = fast["overall"]
        assert m["TP"] + m["FN"] == sum(r[6] != 0 for r in gt) < len(gt)  # ignore rows are no GT


# ---------------------------------------------------------------- the reader
def test_reader_leaves_ignore_rows_out_unless_asked(tmp_path):
    from detbench.evaluate.loading import read_table

    p = tmp_path / "gt.txt"
    p.write_text("1,1,10,10,20,20,1,1,1\n1,2,40,10,20,20,0,0,1\n1,3,70,10,20,20,0,3,0.4\n2,1,10,10,20,20,1,5,1\n")
    default = mot.read_mot(p, kind="gt")
    assert default[:, mot.ID].tolist() == [1, 1] and default[:, mot.CLASS].tolist() == [1, 5]
    every = mot.read_mot(p, kind="gt", include_ignored=True)
    assert every[:, mot.ID].tolist() == [1, 2, 3, 1]
    assert mot.considered(every).tolist() == [True, False, False, True]
    assert np.array_equal(read_table(p, "gt"), default)
    assert np.array_equal(read_table(p, "gt", include_ignored=True), every)
    p.write_text("1,1,10,10,20,20,1,0,1\n")  # class 0 is only for ignore rows
    for read in (lambda: mot.read_mot(p, kind="gt"), lambda: read_table(p, "gt")):
        with pytest.raises(InputError, match=r"gt.txt:1: class 0 is outside 1..7"):
            read()
    p.write_text("1,1,10,10,20,20,0,0,1\n")  # in a results file column 7 is a score, not a flag
    with pytest.raises(InputError, match=r"gt.txt:1: class 0 is outside 1..7"):
        mot.read_mot(p, kind="results")


def test_real_fixture_has_no_ignore_rows(real_fixture):
    total = 0
    for p in sorted((real_fixture / "sequences").glob("*/gt/gt.txt")):
        every = mot.read_mot(p, kind="gt", include_ignored=True)
        assert mot.considered(every).all() and np.array_equal(every, mot.read_mot(p, kind="gt"))
        total += len(every)
    assert total == 2369  # the fixture README's box count


# ---------------------------------------------------------------- the perfect tracker and detector
@pytest.fixture(scope="module")
def prepared_twice(synth_root, tmp_path_factory):
    """The synthetic dataset prepared as the demo does (visibility >= 2, boxes >= 40 px) and without
    those filters (every box >= 5 px)."""
    version = next(p.name for p in synth_root.iterdir() if (p / "scene.json").is_file())
    root = tmp_path_factory.mktemp("prepared")
    every, s_every = prepare(synth_root, version, min_visibility=0, min_size=5, out=root / "every")
    demo, s_demo = prepare(synth_root, version, min_visibility=2, min_size=40, out=root / "demo")
    return every, s_every, demo, s_demo


def test_perfect_tracker_scores_one_against_filtered_ground_truth(prepared_twice, tmp_path):
    every, _, demo, _ = prepared_twice
    meta = json.loads((demo / "meta.json").read_text())
    for split, seqs in meta["sequences"].items():
        res = tmp_path / split
        res.mkdir()
        for seq in seqs:  # the tracker reports every object >= 5 px, with its true id
            found = mot.read_mot(every / "sequences" / split / seq / "gt" / "gt.txt", kind="gt")
            mot.write_mot(res / f"{seq}.txt", found)
        for classes in ("per-class", "agnostic"):
            m = evaluate_folders(demo / "sequences" / split, res, classes=classes, check=True)["overall"]
            assert (m["HOTA"], m["MOTA"], m["FP"], m["FN"], m["IDSW"]) == (pytest.approx(1.0), 1.0, 0, 0, 0), \
                (split, classes, m)
            assert m["TP"] > 0


def test_filters_only_change_the_consider_flag(prepared_twice):
    every, s_every, demo, s_demo = prepared_twice
    meta = json.loads((demo / "meta.json").read_text())
    n_rows = 0
    for split, seqs in meta["sequences"].items():
        for seq in seqs:
            a = mot.read_mot(every / "sequences" / split / seq / "gt" / "gt.txt", kind="gt", include_ignored=True)
            b = mot.read_mot(demo / "sequences" / split / seq / "gt" / "gt.txt", kind="gt", include_ignored=True)
            keep = [c for c in range(9) if c != mot.CONSIDER]
            assert np.array_equal(a[:, keep], b[:, keep])
            assert not (mot.considered(b) & ~mot.considered(a)).any()  # the demo filters only remove
            n_rows += len(b)
        # every row is counted once, as a considered box or under one ignore reason
        ign = s_demo[split]["ignored"]
        assert set(ign) == {"category", "no_points", "visibility", "size"}
        assert ign["visibility"] > 0 and ign["size"] > 0 and ign["category"] > 0
        assert ign["category"] == s_every[split]["ignored"]["category"]
    assert n_rows == sum(sum(s["boxes"].values()) + sum(s["ignored"].values()) for s in s_demo.values())
    assert meta["summary"] == json.loads(json.dumps(s_demo))


def test_perfect_detector_ap_is_unaffected_by_detections_on_ignore_boxes(prepared_twice):
    from detbench.detect.coco_eval import evaluate_coco

    every, _, demo, _ = prepared_twice
    gt = json.loads((demo / "coco" / "val.json").read_text())
    assert any(a["iscrowd"] for a in gt["annotations"])
    seen = json.loads((every / "coco" / "val.json").read_text())
    image = {(im["sequence"], im["frame"]): im["id"] for im in gt["images"]}
    considered = {(a["image_id"], tuple(a["bbox"])) for a in gt["annotations"] if not a["iscrowd"]}
    results = []
    for a in seen["annotations"]:
        if a["iscrowd"]:
            continue
        im = next(i for i in seen["images"] if i["id"] == a["image_id"])
        img_id = image[(im["sequence"], im["frame"])]
        # found objects that the demo considers score above those it ignores
        s = 0.9 if (img_id, tuple(a["bbox"])) in considered else 0.8
        results.append({"image_id": img_id, "category_id": a["category_id"], "bbox": a["bbox"], "score": s})
    assert len(results) > len(considered)
    out = evaluate_coco(gt, results, score_thr=0.3)
    assert out["AP"] == pytest.approx(1.0) and out["AP50"] == pytest.approx(1.0)
    for name, c in out["per_class"].items():
        if c["num_gt"]:
            assert (c["fp"], c["recall"], c["AP"]) == (0, 1.0, pytest.approx(1.0)), name


def test_eval_det_ignore_regions_hand_worked():
    """One image: car A (regular), car B (ignore region), an ambulance C (class 0: one crowd box per
    category). Detections: on B score 0.95, on A 0.9, a pedestrian on C 0.97.

    With the ignore regions, B's and C's detections are neither TP nor FP: car AP 1, recall 1,
    1 GT. Were B simply absent (prepare's old output), the car detections ranked B (FP) before A
    (TP): precision 1/2 at recall 1, so AP 0.5 at every IoU threshold; the pedestrian on C an FP."""
    from detbench.detect.coco_eval import evaluate_coco

    b = CocoBuilder()
    img = b.add_image("a.jpg", 1600, 900, "s_CAM_FRONT", 1, "tok")
    b.add_box(img, 100, 100, 200, 200, CLASSES.index("car"), 1)
    b.add_ignore(img, 400, 100, 500, 200, 1, 2, "size")
    b.add_ignore(img, 700, 100, 800, 200, 0, 3, "category")
    gt = b.to_dict()
    crowds = [a for a in gt["annotations"] if a["iscrowd"]]
    assert [a["category_id"] for a in crowds] == [1, 1, 2, 3, 4, 5, 6, 7] and all(a["ignore"] for a in crowds)
    dets = [{"image_id": img, "category_id": 1, "bbox": [400, 100, 100, 100], "score": 0.95},
            {"image_id": img, "category_id": 1, "bbox": [100, 100, 100, 100], "score": 0.9},
            {"image_id": img, "category_id": 5, "bbox": [700, 100, 100, 100], "score": 0.97}]
    out = evaluate_coco(gt, dets, score_thr=0.3)
    car, ped = out["per_class"]["car"], out["per_class"]["pedestrian"]
    assert (car["AP"], car["AP50"]) == (pytest.approx(1.0), pytest.approx(1.0))
    assert (car["recall"], car["num_gt"], car["tp"], car["fp"]) == (1.0, 1, 1, 0)
    assert (ped["num_gt"], ped["fp"], ped["AP"]) == (0, 0, None)
    plain = dict(gt, annotations=[a for a in gt["annotations"] if not a["iscrowd"]])
    old = evaluate_coco(plain, dets, score_thr=0.3)["per_class"]
    assert (old["car"]["AP"], old["car"]["fp"], old["pedestrian"]["fp"]) == (pytest.approx(0.5), 1, 1)


# ---------------------------------------------------------------- prepare, against the devkit
def test_prepare_writes_filtered_boxes_as_ignore_rows(tmp_path):
    """Every box the filters leave out is an ignore row with the devkit's box: under 5 px or under
    visibility 2 (hand-placed objects), no lidar and no radar points (car_ahead of scene 0, its
    counts set to 0 here), and the dog (class 0)."""
    from nusc_minidb import OBJECTS, VERSION, instance_token, write_min_db
    from test_prepare import devkit_reference, expected_track_ids

    db = write_min_db(tmp_path / "db")
    table = db / VERSION / "sample_annotation.json"
    anns = json.loads(table.read_text())
    no_points = instance_token(0, "car_ahead")
    for a in anns:
        if a["instance_token"] == no_points:
            a["num_lidar_pts"] = a["num_radar_pts"] = 0
    table.write_text(json.dumps(anns))
    out, summary = prepare(db, VERSION, min_size=5, min_visibility=2, out=tmp_path / "out")

    considered = devkit_reference(db, VERSION, 5, 2)
    considered = {k: v for k, v in considered.items() if k[1] != no_points}
    in_class = devkit_reference(db, VERSION, 0)
    dog = devkit_reference(db, VERSION, 0, categories={"animal"})
    name_of = {instance_token(s, n): n for s in range(3) for n in OBJECTS}
    expected = {}
    for key, box in in_class.items():
        if key in considered:
            continue
        vis = int(OBJECTS[name_of[key[1]]][4])
        reason = "no_points" if key[1] == no_points else "visibility" if vis < 2 else "size"
        expected[key] = (box, CLASSES.index(CATEGORY_TO_CLASS[OBJECTS[name_of[key[1]]][0]]) + 1, reason)
    expected.update({k: (v, 0, "category") for k, v in dog.items()})
    assert {r for _, _, r in expected.values()} == {"no_points", "visibility", "size", "category"}

    tracks = expected_track_ids(db, VERSION)
    got, got_coco, got_considered = {}, {}, set()
    meta = json.loads((out / "meta.json").read_text())
    for split, seqs in meta["sequences"].items():
        coco = json.loads((out / "coco" / f"{split}.json").read_text())
        images = {im["id"]: im for im in coco["images"]}
        for a in coco["annotations"]:
            if a["iscrowd"]:
                im = images[a["image_id"]]
                key = (im["sample_data_token"], tracks[(im["sequence"].rsplit("_CAM", 1)[0], a["track_id"])])
                got_coco.setdefault(key, []).append((a["category_id"], a["ignore_reason"], a["bbox"]))
        for seq in seqs:
            d = out / "sequences" / split / seq
            frames = mot.read_frames_json(d / "frames.json")
            for r in mot.read_mot(d / "gt" / "gt.txt", kind="gt", include_ignored=True):
                inst = tracks[(seq.rsplit("_CAM", 1)[0], int(r[mot.ID]))]
                key = (frames[int(r[mot.FRAME]) - 1]["sample_data_token"], inst)
                if r[mot.CONSIDER] == 0:
                    got[key] = ((r[2], r[3], r[2] + r[4], r[3] + r[5]), int(r[mot.CLASS]))
                else:
                    got_considered.add(key)
    assert got_considered == set(considered)
    assert set(got) == set(expected) == set(got_coco)
    for key, (box, cid, reason) in expected.items():
        np.testing.assert_allclose(got[key][0], box, atol=0.01, rtol=0, err_msg=str(key))
        assert got[key][1] == cid, key
        assert [(c, r) for c, r, _ in got_coco[key]] == [(c, reason) for c in ([cid] if cid else range(1, 8))]
        for _, _, (x, y, w, h) in got_coco[key]:
            np.testing.assert_allclose((x, y, x + w, y + h), box, atol=0.01, rtol=0, err_msg=str(key))
    counts = {r: sum(1 for _, _, x in expected.values() if x == r)
              for r in ("category", "no_points", "visibility", "size")}
    assert {r: sum(s["ignored"][r] for s in summary.values()) for r in counts} == counts
    assert meta["summary"] == summary


def test_switch_attribution_sees_the_tables_eval_scores(tmp_path):
    """Object A (100..200) is tracked by id 7 in frames 1 and 3; in frame 2 only id 9 is there,
    on an ignore box B (100..190): IoU(9, B) = 1, IoU(9, A) = 0.9, so B takes id 9 and A is simply
    missed in frame 2. eval counts no switch; attribution must not either (with B's row left out
    of the ground truth, id 9 would match A: two switches, 7 -> 9 -> 7)."""
    from detbench.compare.attribution import AttributionRules
    from detbench.compare.pipeline import attribute_pair

    gt = [row(f, 1, 100, 200) for f in (1, 2, 3)] + [ignore(2, 2, 100, 190)]
    res = [row(1, 7, 100, 200), row(2, 9, 100, 190), row(3, 7, 100, 200)]
    m = score(tmp_path, {"s": (gt, res)})["overall"]
    assert (m["IDSW"], m["TP"], m["FN"], m["FP"]) == (0, 2, 1, 0)
    mot.write_seqinfo(tmp_path / "gt" / "s" / "seqinfo.ini", mot.SeqInfo("s", 2, 1600, 900, 3))
    assert attribute_pair(tmp_path / "gt", tmp_path / "res", AttributionRules()) == []


def test_trackssm_windows_never_see_ignore_rows(tmp_path):
    """Object 1 is considered in frames 1-3 and 5-6 and an ignore row in frame 4 (it became small);
    object 2 is only ever ignored. The training windows are those of the considered rows alone:
    two segments (1-3 and 5-6), no window of object 2, none spanning frame 4."""
    from detbench.motion.windows import sequence_windows

    considered_rows = [row(f, 1, 10 * f, 10 * f + 50) for f in (1, 2, 3, 5, 6)]
    ignored_rows = [ignore(4, 1, 40, 90), *(ignore(f, 2, 500, 505, cls=0) for f in range(1, 7))]
    for name, rows in (("with", considered_rows + ignored_rows), ("without", considered_rows)):
        mot.write_mot(tmp_path / name / "gt" / "gt.txt", np.array(rows, dtype=float))
        mot.write_seqinfo(tmp_path / name / "seqinfo.ini", mot.SeqInfo(name, 2, 1600, 900, 6))
    got, want = sequence_windows(tmp_path / "with", history=2), sequence_windows(tmp_path / "without", history=2)
    assert len(got) == len(want) == 3  # targets: frames 2, 3 and 6
    for field in ("hist", "mask", "target", "hist_frames", "target_frame"):
        np.testing.assert_array_equal(getattr(got, field), getattr(want, field))
    assert sorted(got.target_frame.tolist()) == [2, 3, 6]
