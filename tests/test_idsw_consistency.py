"""Every IDSW figure comes from TrackEval's CLEAR matching: the attribution's switches are the ones
TrackEval counts (per class and overall), and `compare` stops (exit 3) if they ever differ."""
from __future__ import annotations

import numpy as np
import pytest

from detbench.compare.attribution import find_switches
from detbench.core.classes import CLASSES
from detbench.data import mot
from detbench.evaluate import trackeval_adapter as te
from detbench.evaluate.matching import match_sequence, trackeval_data


def _rows(frames, tid, box, cls=1, score=0.9):
    x, y, w, h = box
    return [[f, tid, x, y, w, h, score, cls, 1.0] for f in frames]


def _trackeval_clear(gt, res, num_frames, group):
    seq = match_sequence("s", gt, res, num_frames, per_class=True)
    return te.eval_sequence(trackeval_data(seq, group))["CLEAR"]


def gap_case():
    """Object 1 is tracked by track 10, missed at frame 2 (object 2 keeps the frame scored), and at
    frame 3 both track 10 (IoU 0.6) and track 11 (IoU 1) cover it. TrackEval continues only the
    previous timestep's pair, so it takes track 11 by IoU: a switch. motmetrics keeps the last
    match across the gap (track 10 is still valid): no switch."""
    a = (500, 400, 100, 100)
    gt = _rows([1, 2, 3], 1, a) + _rows([1, 2, 3], 2, (100, 100, 50, 50))
    res = (_rows([1], 10, a) + _rows([3], 10, (525, 400, 100, 100))   # IoU 75*100 / 12500 = 0.6
           + _rows([3], 11, a) + _rows([1, 2, 3], 12, (100, 100, 50, 50)))
    return np.array(gt, dtype=float), np.array(res, dtype=float)


def test_gap_case_switch_is_the_one_trackeval_counts():
    from detbench.evaluate.motmetrics_check import motmetrics_counts

    gt, res = gap_case()
    assert _trackeval_clear(gt, res, 3, 1)["IDSW"] == 1
    assert motmetrics_counts(match_sequence("s", gt, res, 3))["IDSW"] == 0   # why the old attribution said 0
    sw = find_switches(gt, res, num_frames=3)
    assert [(s.frame, s.gt_id, s.prev_track_id, s.track_id, s.cause, s.gap_frames) for s in sw] == \
        [(3, 1, 10, 11, "gap", 1)]


def _random_case(rng, frames=14, n_obj=12, n_cls=3):
    """A crowded scene on a 10 px grid (many equal and exactly-0.5 IoUs): objects that come and
    go, results that drop boxes, jitter, swap and renew ids, change class and add clutter."""
    gt, res = [], []
    for o in range(1, n_obj + 1):
        cls = int(rng.integers(1, n_cls + 1))
        x, y = rng.integers(20, 40) * 10, rng.integers(20, 30) * 10
        w, h = rng.choice([40, 50, 60]), rng.choice([40, 50, 60])
        vx, vy = rng.choice([-10, 0, 10]), rng.choice([-10, 0, 10])
        tid, renew = 100 + o, int(rng.integers(2, frames + 4))
        for f in range(1, frames + 1):
            if rng.random() < 0.2:   # the object is not annotated in this frame
                continue
            bx, by = x + vx * f, y + vy * f
            gt.append([f, o, bx, by, w, h, 1, cls, 1])
            if f == renew:
                tid += 1000
            if rng.random() < 0.85:
                jx, jy, jw = rng.choice([-10, 0, 10], size=3)
                rc = cls if rng.random() > 0.05 else int(rng.integers(1, n_cls + 1))
                res.append([f, tid, bx + jx, by + jy, w + jw, h, rng.random(), rc, 1])
    for f in range(1, frames + 1):   # clutter from a small id pool, so clutter ids recur
        for _ in range(int(rng.integers(0, 4))):
            res.append([f, int(rng.integers(1, 6)), rng.integers(20, 40) * 10, rng.integers(20, 30) * 10,
                        50, 50, rng.random(), int(rng.integers(1, n_cls + 1)), 1])
    res = np.array(res, dtype=float)
    frames_ids = res[:, mot.FRAME] * 1e6 + res[:, mot.ID]
    _, first = np.unique(frames_ids, return_index=True)   # one box per (frame, id)
    res = res[np.sort(first)]
    # swap the ids of two tracks from a random frame on (a crossing)
    a, b, f0 = 100 + int(rng.integers(1, n_obj + 1)), 100 + int(rng.integers(1, n_obj + 1)), int(rng.integers(3, frames))
    later = res[:, mot.FRAME] >= f0
    ia, ib = later & (res[:, mot.ID] == a), later & (res[:, mot.ID] == b)
    res[ia, mot.ID], res[ib, mot.ID] = b, a
    return np.array(gt, dtype=float), res


@pytest.mark.parametrize("seed", range(40))
def test_random_crowded_switches_equal_trackeval_per_class(seed):
    gt, res = _random_case(np.random.default_rng(seed))
    seq = match_sequence("s", gt, res, 14, per_class=True)
    switches = find_switches(gt, res, num_frames=14)
    gt_class = {int(r[mot.ID]): int(r[mot.CLASS]) for r in gt}
    for group in seq.groups():
        idsw = te.eval_sequence(trackeval_data(seq, group))["CLEAR"]["IDSW"]
        assert sum(gt_class[s.gt_id] == group for s in switches) == idsw, CLASSES[group - 1]
    assert len(switches) == sum(te.eval_sequence(trackeval_data(seq, g))["CLEAR"]["IDSW"] for g in seq.groups())


@pytest.mark.parametrize("seed", range(40))
def test_replay_gives_trackeval_matches_and_switches(seed):
    from detbench.compare.attribution import switches_per_class
    from detbench.evaluate.clear_matching import clear_switches, replay

    gt, res = _random_case(np.random.default_rng(seed))
    seq = match_sequence("s", gt, res, 14, per_class=True)
    per_class = switches_per_class(find_switches(gt, res, num_frames=14))
    for group in seq.groups():
        data = trackeval_data(seq, group)
        clear = te.eval_sequence(data)["CLEAR"]
        steps = replay(data)
        assert sum(len(m.rows) for m in steps) == clear["CLR_TP"]    # the very same matches ...
        assert sum(int(m.is_idsw.sum()) for m in steps) == clear["IDSW"]
        assert len(clear_switches(seq, group)) == clear["IDSW"]     # ... and switches
        assert per_class[CLASSES[group - 1]] == clear["IDSW"]


def test_random_cases_are_crowded_enough_to_matter():
    # over the seeds above, TrackEval counts switches, and motmetrics' matching (what the
    # attribution used before) disagrees on some of them: the test above can fail
    from detbench.evaluate.motmetrics_check import motmetrics_counts

    idsw, differ = 0, 0
    for seed in range(40):
        gt, res = _random_case(np.random.default_rng(seed))
        seq = match_sequence("s", gt, res, 14, per_class=True)
        ours = sum(te.eval_sequence(trackeval_data(seq, g))["CLEAR"]["IDSW"] for g in seq.groups())
        idsw += ours
        differ += motmetrics_counts(seq)["IDSW"] != ours
    assert idsw > 100 and differ >= 3


def test_check_totals_names_the_pair_and_both_numbers():
    from detbench.compare.attribution import AttributionMismatch, check_totals

    gt, res = gap_case()
    sw = find_switches(gt, res, num_frames=3)
    overall, per_class = {"IDSW": 1}, {"car": {"IDSW": 1}}
    check_totals("e1 x iou", sw, overall, per_class)   # consistent: no error
    with pytest.raises(AttributionMismatch, match=r"^e1 x iou: the IDSW causes add up to 1 switches for car, "
                                                  r"the IDSW column says 2$"):
        check_totals("e1 x iou", sw, {"IDSW": 2}, {"car": {"IDSW": 2}})
    with pytest.raises(AttributionMismatch, match=r"add up to 0 switches, the IDSW column says 1$"):
        check_totals("e1 x iou", [], {"IDSW": 1}, {})
    assert AttributionMismatch.exit_code == 3


def test_pipeline_attribution_reads_what_eval_scores(tmp_path):
    from detbench.compare.attribution import AttributionRules, check_totals, count_causes
    from detbench.compare.pipeline import attribute_pair
    from detbench.evaluate.api import evaluate_folders

    gt, res = gap_case()
    seq_dir = tmp_path / "gt" / "scene-0001_CAM_FRONT"
    mot.write_mot(seq_dir / "gt" / "gt.txt", gt)
    mot.write_seqinfo(seq_dir / "seqinfo.ini", mot.SeqInfo("scene-0001_CAM_FRONT", 2.0, 1600, 900, 3))
    mot.write_mot(tmp_path / "res" / "scene-0001_CAM_FRONT.txt", res)
    metrics = evaluate_folders(tmp_path / "gt", tmp_path / "res", check=True)
    switches = attribute_pair(tmp_path / "gt", tmp_path / "res", AttributionRules())
    assert metrics["overall"]["IDSW"] == 1 and metrics["per_class"]["car"]["IDSW"] == 1
    assert count_causes(switches)["gap"] == 1 and sum(count_causes(switches).values()) == 1
    check_totals("e x t", switches, metrics["overall"], metrics["per_class"])
