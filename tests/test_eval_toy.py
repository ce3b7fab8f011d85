"""Hand-built toy sequences: every expected count and ratio is worked out here, by hand.

All boxes are 50x50 and objects lie 200 px apart, so a result box either coincides with its GT
box (IoU 1) or does not touch it (IoU 0), unless a test says otherwise.
HOTA is compared with TrackEval's HOTA class run directly on a data dict built in the test.
"""
from __future__ import annotations

import numpy as np
import pytest
from trackeval.metrics import HOTA

from detbench.data.mot import write_mot
from detbench.evaluate.api import evaluate_folders


def box_row(frame, tid, obj, cls=1, dx=0.0):
    """MOT row of object ``obj``'s box (x = 200 * obj + dx) in ``frame`` with id ``tid``."""
    return (frame, tid, 200.0 * obj + dx, 100.0, 50.0, 50.0, 1.0, cls, 1.0)


def write_seq(root, name, gt_rows, res_rows):
    write_mot(root / "gt" / name / "gt" / "gt.txt", np.array(gt_rows, dtype=float).reshape(-1, 9))
    write_mot(root / "res" / f"{name}.txt", np.array(res_rows, dtype=float).reshape(-1, 9))


# name -> (gt rows, result rows); objects 0, 1, 2 ...
TOYS = {
    # GT id 1 in frames 1-4, tracked by id 7 throughout
    "clean": ([box_row(f, 1, 0) for f in range(1, 5)], [box_row(f, 7, 0) for f in range(1, 5)]),
    # result id 1 in frames 1-2, id 2 in frames 3-4
    "switch": ([box_row(f, 1, 0) for f in range(1, 5)],
               [box_row(f, 1 if f <= 2 else 2, 0) for f in range(1, 5)]),
    # GT frames 1-6; result id 1 in frames 1-2, nothing in 3, id 2 in frames 4-6; a second
    # object (GT id 2) tracked by id 5 throughout (TrackEval skips the bookkeeping of frames
    # with no result at all, so the companion makes frame 3 an ordinary frame)
    "split": ([box_row(f, 1, 0) for f in range(1, 7)] + [box_row(f, 2, 1) for f in range(1, 7)],
              [box_row(f, 1 if f <= 2 else 2, 0) for f in (1, 2, 4, 5, 6)]
              + [box_row(f, 5, 1) for f in range(1, 7)]),
    # GT frames 1-3 tracked; an extra result box (id 9) on empty ground in frame 2
    "false_positive": ([box_row(f, 1, 0) for f in range(1, 4)],
                       [box_row(f, 1, 0) for f in range(1, 4)] + [box_row(2, 9, 3)]),
    # GT frames 1-4; the result misses frame 3; companion object as in "split"
    "miss": ([box_row(f, 1, 0) for f in range(1, 5)] + [box_row(f, 2, 1) for f in range(1, 5)],
             [box_row(f, 1, 0) for f in (1, 2, 4)] + [box_row(f, 5, 1) for f in range(1, 5)]),
    # objects A (0) and B (1), GT ids 1, 2 in frames 1-4; result ids swap at frame 3
    "swap": ([box_row(f, 1, 0) for f in range(1, 5)] + [box_row(f, 2, 1) for f in range(1, 5)],
             [box_row(f, 1 if f <= 2 else 2, 0) for f in range(1, 5)]
             + [box_row(f, 2 if f <= 2 else 1, 1) for f in range(1, 5)]),
}

# Expected values by hand. GT = number of GT boxes; MOTA = 1 - (FN + FP + IDSW) / GT;
# IDF1 = 2 IDTP / (2 IDTP + IDFP + IDFN) with the best one-to-one GT id <-> result id assignment.
EXPECTED = {
    # 4 boxes, all matched by the same id: IDTP 4
    "clean": dict(TP=4, FP=0, FN=0, IDSW=0, MOTA=1 - (0 + 0 + 0) / 4, IDF1=2 * 4 / (2 * 4 + 0 + 0)),
    # id changes once; best id pair covers 2 of 4 boxes: IDTP 2, IDFP 2, IDFN 2
    "switch": dict(TP=4, FP=0, FN=0, IDSW=1, MOTA=1 - (0 + 0 + 1) / 4, IDF1=2 * 2 / (2 * 2 + 2 + 2)),
    # 5 + 6 of 6 + 6 matched; TrackEval counts the switch across the gap; Frag 1 (tracking of
    # GT 1 resumes once); best pairs GT 1 <-> id 2 (3 boxes), GT 2 <-> id 5 (6 boxes):
    # IDTP 3 + 6, IDFN (6 - 3) + 0, IDFP (5 - 3) + 0
    "split": dict(TP=11, FP=0, FN=1, IDSW=1, Frag=1, MOTA=1 - (1 + 0 + 1) / 12,
                  IDF1=2 * 9 / (2 * 9 + 2 + 3)),
    # 3 matched, 1 FP: IDTP 3, IDFP 1
    "false_positive": dict(TP=3, FP=1, FN=0, IDSW=0, MOTA=1 - (0 + 1 + 0) / 3, IDF1=2 * 3 / (2 * 3 + 1 + 0)),
    # 3 + 4 of 4 + 4 matched: IDTP 3 + 4, IDFN 1, Frag 1
    "miss": dict(TP=7, FP=0, FN=1, IDSW=0, Frag=1, MOTA=1 - (1 + 0 + 0) / 8, IDF1=2 * 7 / (2 * 7 + 0 + 1)),
    # both GT ids switch once at frame 3; best pairs A<->1, B<->2 cover 2 + 2 of 8: IDTP 4, IDFP 4, IDFN 4
    "swap": dict(TP=8, FP=0, FN=0, IDSW=2, MOTA=1 - (0 + 0 + 2) / 8, IDF1=2 * 4 / (2 * 4 + 4 + 4)),
}


def te_data(gt_rows, res_rows, num_frames):
    """TrackEval data dict built directly from the rows (IoU is 1 for equal boxes, else 0)."""
    gt, res = np.array(gt_rows, dtype=float), np.array(res_rows, dtype=float)
    gid = {v: i for i, v in enumerate(sorted(set(gt[:, 1])))}
    rid = {v: i for i, v in enumerate(sorted(set(res[:, 1])))}
    d = {"gt_ids": [], "tracker_ids": [], "similarity_scores": [], "num_timesteps": num_frames,
         "num_gt_dets": len(gt), "num_tracker_dets": len(res), "num_gt_ids": len(gid), "num_tracker_ids": len(rid)}
    for f in range(1, num_frames + 1):
        g, r = gt[gt[:, 0] == f], res[res[:, 0] == f]
        d["gt_ids"].append(np.array([gid[v] for v in g[:, 1]], dtype=int))
        d["tracker_ids"].append(np.array([rid[v] for v in r[:, 1]], dtype=int))
        d["similarity_scores"].append((g[:, None, 2] == r[None, :, 2]).astype(float))
    return d


@pytest.mark.parametrize("name", sorted(TOYS))
def test_toy_sequence(tmp_path, name):
    gt_rows, res_rows = TOYS[name]
    write_seq(tmp_path, name, gt_rows, res_rows)
    out = evaluate_folders(tmp_path / "gt", tmp_path / "res", check=True)
    s = out["per_sequence"][name]
    for key, value in EXPECTED[name].items():
        assert s[key] == pytest.approx(value, abs=1e-12), key
    n_frames = int(max(r[0] for r in gt_rows + res_rows))
    hota = HOTA().eval_sequence(te_data(gt_rows, res_rows, n_frames))
    assert s["HOTA"] == pytest.approx(float(np.mean(hota["HOTA"])), abs=1e-12)
    assert s["AssA"] == pytest.approx(float(np.mean(hota["AssA"])), abs=1e-12)
    assert s["DetA"] == pytest.approx(float(np.mean(hota["DetA"])), abs=1e-12)
    assert out["overall"] == s  # one sequence, one class
    assert set(out["per_class"]) == {"car"}


def test_hota_by_hand_for_one_switch(tmp_path):
    gt_rows, res_rows = TOYS["switch"]
    write_seq(tmp_path, "switch", gt_rows, res_rows)
    s = evaluate_folders(tmp_path / "gt", tmp_path / "res", check=True)["overall"]
    # every box matched at IoU 1 for every alpha: DetA = 4 / (4 + 0 + 0) = 1.
    # GT 1 shares 2 boxes with id 1 and 2 with id 2: A(1,1) = 2 / (4 + 2 - 2) = 0.5, A(1,2) = 0.5;
    # AssA = (2 * 0.5 + 2 * 0.5) / 4 = 0.5; HOTA = sqrt(DetA * AssA).
    assert s["DetA"] == pytest.approx(1.0)
    assert s["AssA"] == pytest.approx((2 * 0.5 + 2 * 0.5) / 4)
    assert s["HOTA"] == pytest.approx(np.sqrt(1.0 * 0.5))
    # IDP = IDR = 2 / 4 and HOTA is not sqrt(IDP * IDR) = 0.5 (HOTA is TrackEval's, never derived from IDP and IDR)
    assert s["IDP"] == s["IDR"] == pytest.approx(2 / 4)
    assert s["HOTA"] != pytest.approx(np.sqrt(s["IDP"] * s["IDR"]))


def test_localisation_by_hand(tmp_path):
    # result shifted 10 px: IoU = (40 * 50) / (2 * 2500 - 40 * 50) = 2000 / 3000
    iou = 2000 / 3000
    gt = [box_row(f, 1, 0) for f in (1, 2, 3)]
    res = [box_row(f, 1, 0, dx=10.0) for f in (1, 2, 3)]
    write_seq(tmp_path, "shift", gt, res)
    s = evaluate_folders(tmp_path / "gt", tmp_path / "res", check=True)["overall"]
    assert s["MOTP"] == pytest.approx(iou)
    assert (s["TP"], s["FP"], s["FN"], s["MOTA"]) == (3, 0, 0, 1.0)
    # HOTA alphas 0.05 .. 0.95: the 13 alphas <= 0.65 match (DetA = AssA = 1), the 6 others
    # match nothing (DetA = AssA = 0, and TrackEval's LocA is 1 where nothing matched).
    assert s["DetA"] == pytest.approx(13 / 19)
    assert s["HOTA"] == pytest.approx(13 / 19)
    assert s["LocA"] == pytest.approx((13 * iou + 6 * 1.0) / 19)
    # at IoU threshold 0.7 CLEAR and Identity match nothing
    s7 = evaluate_folders(tmp_path / "gt", tmp_path / "res", iou=0.7, check=True)["overall"]
    assert (s7["TP"], s7["FP"], s7["FN"], s7["IDF1"]) == (0, 3, 3, 0.0)
    assert s7["MOTA"] == pytest.approx(1 - (3 + 3 + 0) / 3)


def test_counts_are_summed_over_sequences(tmp_path):
    for name, (gt_rows, res_rows) in TOYS.items():
        write_seq(tmp_path, name, gt_rows, res_rows)
    out = evaluate_folders(tmp_path / "gt", tmp_path / "res", check=True)
    o = out["overall"]
    gt_boxes = 4 + 4 + 12 + 3 + 8 + 8         # clean, switch, split, false_positive, miss, swap
    idsw, fp, fn = 0 + 1 + 1 + 0 + 0 + 2, 1, 1 + 1
    assert (o["IDSW"], o["FP"], o["FN"], o["TP"] + o["FN"]) == (idsw, fp, fn, gt_boxes)
    assert o["MOTA"] == pytest.approx(1 - (fn + fp + idsw) / gt_boxes)   # not a mean of MOTAs
    idtp = 4 + 2 + 9 + 3 + 7 + 4
    idfp = 0 + 2 + 2 + 1 + 0 + 4
    idfn = 0 + 2 + 3 + 0 + 1 + 4
    assert o["IDF1"] == pytest.approx(2 * idtp / (2 * idtp + idfp + idfn))
    # HOTA combined the way TrackEval combines sequences (per-alpha counts), not averaged
    metric = HOTA()
    per_seq = {n: metric.eval_sequence(te_data(g, r, int(max(x[0] for x in g + r)))) for n, (g, r) in TOYS.items()}
    combined = metric.combine_sequences(per_seq)
    assert o["HOTA"] == pytest.approx(float(np.mean(combined["HOTA"])), abs=1e-12)
    assert o["HOTA"] != pytest.approx(np.mean([s["HOTA"] for s in out["per_sequence"].values()]))
    assert out == evaluate_folders(tmp_path / "gt", tmp_path / "res", jobs=2, check=True)


def test_per_class_never_matches_across_classes(tmp_path):
    gt = [box_row(f, 1, 0, cls=1) for f in (1, 2)] + [box_row(f, 2, 1, cls=5) for f in (1, 2)]
    res = [box_row(f, 1, 0, cls=2) for f in (1, 2)] + [box_row(f, 2, 1, cls=5) for f in (1, 2)]
    write_seq(tmp_path, "cls", gt, res)
    out = evaluate_folders(tmp_path / "gt", tmp_path / "res", classes="per-class", check=True)
    # car GT vs truck result: 2 FN (car) + 2 FP (truck); pedestrians match
    assert set(out["per_class"]) == {"car", "truck", "pedestrian"}
    assert (out["per_class"]["car"]["FN"], out["per_class"]["car"]["TP"]) == (2, 0)
    assert (out["per_class"]["truck"]["FP"], out["per_class"]["truck"]["TP"]) == (2, 0)
    assert out["per_class"]["pedestrian"]["TP"] == 2
    o = out["overall"]
    assert (o["TP"], o["FP"], o["FN"]) == (2, 2, 2)
    assert o["MOTA"] == pytest.approx(1 - (2 + 2 + 0) / 4)
    agn = evaluate_folders(tmp_path / "gt", tmp_path / "res", classes="agnostic", check=True)
    assert (agn["overall"]["TP"], agn["overall"]["FP"], agn["overall"]["FN"]) == (4, 0, 0)
    assert agn["per_class"] == {}


def test_summary_types_and_keys(tmp_path):
    gt_rows, res_rows = TOYS["swap"]
    write_seq(tmp_path, "swap", gt_rows, res_rows)
    out = evaluate_folders(tmp_path / "gt", tmp_path / "res", check=True)
    keys = ["HOTA", "DetA", "AssA", "LocA", "MOTA", "MOTP", "IDSW", "Frag", "FP", "FN", "TP",
            "MT", "PT", "ML", "IDF1", "IDP", "IDR"]
    for s in [out["overall"], *out["per_class"].values(), *out["per_sequence"].values()]:
        assert list(s) == keys
        for k in ("IDSW", "Frag", "FP", "FN", "TP", "MT", "PT", "ML"):
            assert type(s[k]) is int
        for k in ("HOTA", "DetA", "AssA", "LocA", "MOTP", "IDF1", "IDP", "IDR"):
            assert type(s[k]) is float and 0.0 <= s[k] <= 1.0
