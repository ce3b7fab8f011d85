"""The motmetrics cross-check: exact agreement, and exactly where the two libraries' rules part.

TrackEval and motmetrics choose per-frame matches by different documented rules (see
``detbench.evaluate.motmetrics_check``). Counts both define identically must always agree; CLEAR
counts must agree on every frame before the first frame where the rules pick different pairs.
"""
from __future__ import annotations

import numpy as np
import pytest

from detbench.evaluate import motmetrics_check as mc
from detbench.evaluate.matching import FrameMatch, SequenceMatch, match_sequence, trackeval_data
from detbench.evaluate.trackeval_adapter import eval_sequence


def row(frame, tid, x, y, w, h, cls=1):
    return (frame, tid, x, y, w, h, 1.0, cls, 1)


def scored(seq):
    return [eval_sequence(trackeval_data(seq, g)) for g in seq.groups()]


def reacquisition(far_false_positive: bool):
    """Object 1 matched by result 7 in frame 1, unmatched in frame 2, and in frame 3 both 7
    (IoU 0.6) and 8 (IoU 0.95) cover it. With a false positive of the same class in frame 2,
    TrackEval forgets the frame-1 pair and takes 8 (a switch); motmetrics keeps its last match 7.
    Without one, TrackEval skips frame 2 (no results of the class) and keeps 7 too."""
    gt = np.array([row(f, 1, 0, 0, 100, 100) for f in (1, 2, 3)], dtype=float)
    res = [row(1, 7, 0, 0, 100, 100), row(3, 7, 0, 0, 100, 60), row(3, 8, 0, 0, 100, 95)]
    if far_false_positive:
        res.append(row(2, 9, 500, 500, 50, 50))
    return match_sequence("reacq", gt, np.array(res, dtype=float), 3)


def test_reacquisition_counts_agree_up_to_the_rule_difference():
    seq = reacquisition(far_false_positive=True)
    theirs = mc.motmetrics_counts(seq)
    ours = mc.check_sequence(seq, scored(seq), theirs=theirs)      # no error
    assert (ours["IDSW"], theirs["IDSW"]) == (1, 0)                # the rules really differ
    assert (ours["TP"], ours["FP"], ours["FN"]) == (theirs["TP"], theirs["FP"], theirs["FN"]) == (2, 2, 1)
    assert mc.first_rule_difference(seq, theirs["events"]) == 2    # frames 1-2 compared exactly
    assert mc.clear_before(theirs["events"], 2) == {"TP": 1, "FP": 1, "FN": 1, "IDSW": 0}
    assert mc.trackeval_clear_before(seq, 2) == {"TP": 1, "FP": 1, "FN": 1, "IDSW": 0}


def test_trackeval_skipping_a_timestep_keeps_the_pair():
    seq = reacquisition(far_false_positive=False)
    theirs = mc.motmetrics_counts(seq)
    ours = mc.check_sequence(seq, scored(seq), theirs=theirs)
    assert mc.first_rule_difference(seq, theirs["events"]) == 3 and ours["IDSW"] == theirs["IDSW"] == 0


def test_disagreement_before_the_rule_difference_is_an_error(monkeypatch):
    seq = reacquisition(far_false_positive=True)
    real = mc.trackeval_clear_before
    monkeypatch.setattr(mc, "trackeval_clear_before",
                        lambda s, n, iou=0.5: {**real(s, n, iou), "FN": real(s, n, iou)["FN"] + 1})
    with pytest.raises(mc.EvaluationMismatch, match="FN over frames 1-2 TrackEval 2 vs motmetrics 1"):
        mc.check_sequence(seq, scored(seq))


def test_identity_counts_must_agree_even_after_the_rule_difference():
    seq = reacquisition(far_false_positive=True)
    results = scored(seq)
    results[0]["Identity"]["IDFP"] += 1
    with pytest.raises(mc.EvaluationMismatch, match="IDFP"):
        mc.check_sequence(seq, results)


def test_iou_one_rounding_step_below_the_threshold():
    """TrackEval's CLEAR accepts IoU >= 0.5 - eps, motmetrics (and TrackEval's Identity) do not."""
    gt = np.array([row(1, 1, 0, 0, 10, 10), row(2, 1, 0, 0, 10, 10)], dtype=float)
    res = np.array([row(1, 5, 0, 0, 10, 10), row(2, 5, 0, 0, 10, 10)], dtype=float)
    frames = [FrameMatch(np.array([0]), np.array([0]), np.array([[1.0]])),
              FrameMatch(np.array([1]), np.array([1]), np.array([[np.nextafter(0.5, 0)]]))]
    seq = SequenceMatch("band", 2, gt, res, np.ones(2, dtype=np.int64), np.ones(2, dtype=np.int64), frames)
    theirs = mc.motmetrics_counts(seq)
    ours = mc.check_sequence(seq, scored(seq), theirs=theirs)
    assert (ours["TP"], theirs["TP"]) == (2, 1) and mc.first_rule_difference(seq, theirs["events"]) == 1


def crowded(rng, frames, objects, classes):
    """Seeded crowded scenes: overlapping objects that vanish and return, jittered results with
    duplicates and id swaps, so that the two rules often pick different pairs."""
    gt, res = [], []
    pos = rng.uniform(0, 60, size=(objects, 2))
    size = rng.uniform(40, 60, size=(objects, 2))
    cls = rng.integers(1, classes + 1, size=objects)
    alive = rng.random((frames, objects)) < 0.7
    tids = np.arange(1, objects + 1)
    for f in range(1, frames + 1):
        if rng.random() < 0.2:
            i, j = rng.integers(0, objects, 2)
            tids[[i, j]] = tids[[j, i]]
        for k in np.flatnonzero(alive[f - 1]):
            x, y = pos[k] + rng.normal(0, 2, 2)
            gt.append(row(f, k + 1, x, y, *size[k], cls=cls[k]))
            for copy in range(rng.choice([0, 1, 1, 1, 2])):
                dx, dy = rng.normal(0, 8, 2)
                res.append(row(f, tids[k] + 100 * copy, x + dx, y + dy, *size[k], cls=cls[k]))
    return np.array(gt, dtype=float).reshape(-1, 9), np.array(res, dtype=float).reshape(-1, 9)


def rule_at(seq, t, iou=0.5):
    """Which documented rule explains that motmetrics' frame-``t`` pairs are not TrackEval's:
    motmetrics' state rebuilt here from its events with plain loops; TrackEval's pairs at frame
    ``t`` from the replayed rule (before ``t`` the prefix comparison vouches for it)."""
    codes, frames, oid, hid, _ = mc.event_arrays(mc.accumulate(seq, iou))
    matched = (codes == mc._TYPES.index("MATCH")) | (codes == mc._TYPES.index("SWITCH"))
    pairs = {f: set() for f in range(seq.num_frames)}
    for f, o, h in zip(frames[matched].tolist(), oid[matched].astype(np.int64).tolist(),
                       hid[matched].astype(np.int64).tolist()):
        pairs[f].add((o, h))
    last_match, previous = {}, {}        # motmetrics' last match; TrackEval's previous-timestep pair
    gk, rk = mc._keys(seq)
    for f in range(t):
        fm = seq.frames[f]
        both = set(seq.gt_group[fm.gt_rows].tolist()) & set(seq.res_group[fm.res_rows].tolist())
        previous = {o: h for o, h in previous.items() if (o >> 40) not in both}
        for o, h in pairs[f]:
            last_match[o] = previous[o] = h
    fm = seq.frames[t]
    ious = {(o, h): v for o, line in zip(gk[fm.gt_rows].tolist(), fm.iou)
            for h, v in zip(rk[fm.res_rows].tolist(), line.tolist())}
    theirs = pairs[t]
    rows, cols = mc._trackeval_rule(
        seq, fm, iou, sorted(set(seq.gt_group[fm.gt_rows].tolist()) & set(seq.res_group[fm.res_rows].tolist())),
        gk[fm.gt_rows], rk[fm.res_rows], {g: {o: h for o, h in previous.items() if o >> 40 == g} for g in range(8)})
    ours = set(zip(gk[fm.gt_rows][rows].tolist(), rk[fm.res_rows][cols].tolist()))
    assert ours != theirs
    return {
        "kept last match": any(last_match.get(o) == h and previous.get(o) != h for o, h in theirs),
        "more matches": len(theirs) > len(ours),
        "threshold rounding": any(iou - mc._EPS <= v < iou for v in ious.values()),
        "tie": len(theirs) == len(ours) and abs(sum(ious[p] for p in theirs - ours)
                                                 - sum(ious[p] for p in ours - theirs)) < 1e-12,
    }


def test_every_stop_of_the_exact_comparison_is_a_documented_rule():
    rng = np.random.default_rng(7)
    stops, differ, seen = 0, 0, set()
    for _ in range(60):
        frames = int(rng.integers(3, 15))
        gt, res = crowded(rng, frames, int(rng.integers(2, 7)), int(rng.integers(1, 3)))
        for per_class in (True, False):
            seq = match_sequence("s", gt, res, frames, per_class=per_class)
            theirs = mc.motmetrics_counts(seq)
            ours = mc.check_sequence(seq, scored(seq), theirs=theirs)  # never a false alarm
            differ += any(ours[k] != theirs[k] for k in ("TP", "FP", "FN", "IDSW"))
            stop = mc.first_rule_difference(seq, theirs["events"])
            if stop < frames:
                stops += 1
                why = {k for k, v in rule_at(seq, stop).items() if v}
                assert why, f"unexplained rule difference at frame {stop}"
                seen |= why
    print(f"{stops} stops, {differ} sequences whose whole counts differ, rules seen: {sorted(seen)}")
    assert stops >= 20 and differ >= 15 and {"kept last match", "more matches"} <= seen


def _gt_as_results_with_motmetrics_off_by_one(real_fixture, tmp_path, monkeypatch):
    """The fixture's ground truth copied as results to ``tmp_path/res``, and motmetrics' IDTP made
    one lower than it counts (a simulated disagreement); returns the ground-truth folder."""
    import shutil

    gt_dir = real_fixture / "sequences"
    (tmp_path / "res").mkdir()
    for p in sorted(gt_dir.glob("*/gt/gt.txt")):
        shutil.copy(p, tmp_path / "res" / f"{p.parent.parent.name}.txt")
    real = mc.event_counts
    monkeypatch.setattr(mc, "event_counts", lambda events: {**real(events), "IDTP": real(events)["IDTP"] - 1})
    return gt_dir


def test_eval_command_stops_on_a_disagreement(real_fixture, tmp_path, monkeypatch, capsys):
    """A disagreement reaches the user as one line naming the sequence, exit code 3, no JSON."""
    from detbench.cli import main

    gt_dir = _gt_as_results_with_motmetrics_off_by_one(real_fixture, tmp_path, monkeypatch)
    out_json = tmp_path / "m.json"
    rc = main(["eval", "--gt", str(gt_dir), "--results", str(tmp_path / "res"), "--json", str(out_json),
               "--jobs", "1", "--check"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 3 and not out_json.exists()
    assert len(err) == 1 and "TrackEval and motmetrics disagree: IDTP" in err[0] and "sequence scene-0103_CAM_" in err[0]


def test_eval_command_cross_checks_only_with_check(real_fixture, tmp_path, monkeypatch, capsys):
    """The cross-check is opt-in: without --check, or with --no-check, motmetrics is
    not consulted, so even a (simulated) disagreement passes; with --check it stops (exit 3)."""
    from detbench.cli import main

    gt_dir = _gt_as_results_with_motmetrics_off_by_one(real_fixture, tmp_path, monkeypatch)
    base = ["eval", "--gt", str(gt_dir), "--results", str(tmp_path / "res"), "--jobs", "1", "--summary"]
    assert main(base) == 0
    assert main(base + ["--no-check"]) == 0
    assert main(base + ["--check"]) == 3
    capsys.readouterr()
