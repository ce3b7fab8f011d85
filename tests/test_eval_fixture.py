"""``detbench eval`` on the real nuScenes fixture (scene-0103, 6 cameras, 2,369 GT boxes)."""
from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from detbench.cli import main
from detbench.core.types import iou_matrix
from detbench.data.mot import read_mot, write_mot
from detbench.evaluate.api import evaluate_folders
from detbench.evaluate.loading import read_table
from detbench.evaluate.matching import match_sequence, trackeval_data
from detbench.evaluate.motmetrics_check import EvaluationMismatch, check_sequence
from detbench.evaluate.trackeval_adapter import eval_sequence


def gt_as_results(fixture, out):
    seqs = sorted(p for p in (fixture / "sequences").iterdir() if (p / "gt" / "gt.txt").is_file())
    out.mkdir(parents=True)
    for p in seqs:
        shutil.copy(p / "gt" / "gt.txt", out / f"{p.name}.txt")
    return [p.name for p in seqs]


def test_ground_truth_as_results_is_perfect(real_fixture, tmp_path, capsys):
    names = gt_as_results(real_fixture, tmp_path / "res")
    out_json = tmp_path / "m.json"
    rc = main(["eval", "--gt", str(real_fixture / "sequences"), "--results", str(tmp_path / "res"),
               "--json", str(out_json), "--jobs", "1", "--check"])
    assert rc == 0
    assert "OVERALL" in capsys.readouterr().out
    result = json.loads(out_json.read_text())
    assert set(result["per_sequence"]) == set(names)
    o = result["overall"]
    assert (o["MOTA"], o["IDF1"], o["HOTA"], o["IDSW"]) == (1.0, 1.0, 1.0, 0)
    assert (o["FP"], o["FN"], o["TP"]) == (0, 0, 2369)   # the fixture's 2,369 boxes (README)
    for s in result["per_sequence"].values():
        assert (s["MOTA"], s["IDF1"], s["HOTA"], s["IDSW"]) == (1.0, 1.0, 1.0, 0)


def _swap_candidates(gt):
    """Two car ids present before and after a middle frame whose boxes never overlap (IoU < 0.5)."""
    cars = gt[gt[:, 7] == 1]
    frames = np.unique(cars[:, 0]).astype(int)
    mid = int(frames[len(frames) // 2])
    ids = [i for i in np.unique(cars[:, 1])
           if (cars[(cars[:, 1] == i), 0] < mid).any() and (cars[(cars[:, 1] == i), 0] >= mid).any()]
    for a in ids:
        for b in ids:
            if a >= b:
                continue
            ok = True
            for f in frames:
                ra, rb = cars[(cars[:, 0] == f) & (cars[:, 1] == a)], cars[(cars[:, 0] == f) & (cars[:, 1] == b)]
                boxes = [np.c_[r[:, 2:4], r[:, 2:4] + r[:, 4:6]] for r in (ra, rb)]
                if len(ra) and len(rb) and iou_matrix(*boxes).max() >= 0.5:
                    ok = False
                    break
            if ok:
                return mid, a, b
    raise AssertionError("the committed fixture has no pair of non-overlapping car tracks spanning the middle frame")


def test_swapped_ids_give_hand_counted_switches(real_fixture, tmp_path):
    seq = "scene-0103_CAM_FRONT"
    gt_as_results(real_fixture, tmp_path / "res")
    gt = read_mot(real_fixture / "sequences" / seq / "gt" / "gt.txt", kind="gt")
    mid, a, b = _swap_candidates(gt)
    res = gt.copy()
    later = res[:, 0] >= mid
    res[later & (gt[:, 1] == a), 1] = b
    res[later & (gt[:, 1] == b), 1] = a
    write_mot(tmp_path / "res" / f"{seq}.txt", res)
    out = evaluate_folders(real_fixture / "sequences", tmp_path / "res", check=True)
    s = out["per_sequence"][seq]
    # every box still matched (same boxes); GT a and GT b each change result id once, at `mid`
    n_gt = len(gt)
    assert (s["IDSW"], s["FP"], s["FN"], s["TP"]) == (2, 0, 0, n_gt)
    assert s["MOTA"] == pytest.approx(1 - (0 + 0 + 2) / n_gt)
    # identity: a's best partner is whichever result id covers more of its boxes
    na_before = int(((gt[:, 1] == a) & ~later).sum())
    na_after = int(((gt[:, 1] == a) & later).sum())
    nb_before = int(((gt[:, 1] == b) & ~later).sum())
    nb_after = int(((gt[:, 1] == b) & later).sum())
    # options: keep (a<->a, b<->b) or cross (a<->b, b<->a); the other ids are all perfect
    idtp_pair = max(na_before + nb_before, na_after + nb_after)
    idtp = n_gt - (na_before + na_after + nb_before + nb_after) + idtp_pair
    assert s["IDF1"] == pytest.approx(2 * idtp / (2 * idtp + (n_gt - idtp) + (n_gt - idtp)))
    assert s["HOTA"] < 1.0 and s["DetA"] == 1.0
    assert out["overall"]["IDSW"] == 2
    assert out["per_class"]["car"]["IDSW"] == 2


def test_fast_reader_equals_read_mot(real_fixture, tmp_path):
    for p in (real_fixture / "sequences").glob("*/gt/gt.txt"):
        assert np.array_equal(read_table(p, "gt"), read_mot(p, kind="gt"))
    short = tmp_path / "short.txt"
    short.write_text("1,3,10,20,30,40,0.5\n2,3,11,21,30,40,0.6\n")  # results without class / visibility
    assert np.array_equal(read_table(short, "results"), read_mot(short, kind="results"))


def test_motmetrics_disagreement_is_an_error(real_fixture):
    gt = read_mot(real_fixture / "sequences" / "scene-0103_CAM_FRONT" / "gt" / "gt.txt", kind="gt")
    res = gt[np.arange(len(gt)) % 7 != 0]        # drop every 7th box
    seq = match_sequence("s", gt, res, 40)
    results = [eval_sequence(trackeval_data(seq, g)) for g in seq.groups()]
    counts = check_sequence(seq, results)        # TrackEval and motmetrics agree
    assert counts["FN"] == len(gt) - len(res)
    results[0]["Identity"]["IDTP"] += 1          # identity counts must agree exactly
    with pytest.raises(EvaluationMismatch, match="IDTP"):
        check_sequence(seq, results)
    results[0]["Identity"]["IDTP"] -= 1
    results[0]["CLEAR"]["IDSW"] += len(gt)       # the rules never differ here: all frames compared
    with pytest.raises(EvaluationMismatch, match="IDSW"):
        check_sequence(seq, results)


def test_unambiguous_sequences_must_agree_exactly(tmp_path):
    # two objects far apart, ids swapped at frame 3: both rules pick the same pairs in every frame
    gt = np.array([(f, i, 200.0 * i, 100, 50, 50, 1, 1, 1) for f in range(1, 5) for i in (1, 2)])
    res = gt.copy()
    res[(res[:, 0] >= 3), 1] = 3 - res[(res[:, 0] >= 3), 1]
    seq = match_sequence("s", gt, res, 4)
    results = [eval_sequence(trackeval_data(seq, g)) for g in seq.groups()]
    assert check_sequence(seq, results)["IDSW"] == 2
    results[0]["CLEAR"]["IDSW"] += 1             # off by one over the whole sequence is an error
    with pytest.raises(EvaluationMismatch, match="IDSW TrackEval 3 vs motmetrics 2"):
        check_sequence(seq, results)


def _random_sequence(rng, frames, objects, classes):
    """Seeded tracker-like results: jitter, drops, false positives, id switches, sparse classes."""
    gt, res = [], []
    start = rng.uniform([0, 0], [600, 300], size=(objects, 2))
    vel = rng.normal(0, 10, size=(objects, 2))
    size = rng.uniform([30, 30], [120, 120], size=(objects, 2))
    cls = rng.integers(1, classes + 1, size=objects)
    alive = rng.random((frames, objects)) < 0.85
    for f in range(1, frames + 1):
        for k in np.flatnonzero(alive[f - 1]):
            x, y = start[k] + vel[k] * f
            gt.append((f, k + 1, x, y, *size[k], 1, cls[k], 1))
            if rng.random() < 0.1:
                continue
            tid = k + 1 if rng.random() > 0.05 else 500 + k
            dx, dy = rng.normal(0, 6, size=2)
            res.append((f, tid, x + dx, y + dy, *size[k], 0.9, cls[k], 1))
        for _ in range(rng.poisson(1.0)):
            res.append((f, 1000 + len(res), *rng.uniform([0, 0], [600, 300]), 50, 50, 0.3,
                        rng.integers(1, classes + 1), 1))
    return np.array(gt, dtype=float).reshape(-1, 9), np.array(res, dtype=float).reshape(-1, 9)


@pytest.mark.parametrize("classes", ["per-class", "agnostic"])
def test_optimised_path_gives_exactly_the_straightforward_json(tmp_path, classes):
    """Vectorised IoU, the numpy motmetrics counts and the worker pool change no number:
    the JSON equals the straightforward path's (per-frame IoU, motmetrics' own compute)."""
    from reference_metrics import evaluate_folders_reference

    rng = np.random.default_rng(1234)
    for i in range(12):
        gt, res = _random_sequence(rng, frames=int(rng.integers(5, 25)), objects=int(rng.integers(2, 12)),
                                   classes=7)
        write_mot(tmp_path / "gt" / f"s{i:02d}" / "gt" / "gt.txt", gt)
        write_mot(tmp_path / "res" / f"s{i:02d}.txt", res)
    ref = evaluate_folders_reference(tmp_path / "gt", tmp_path / "res", classes=classes)
    for jobs in (1, 2):
        out = evaluate_folders(tmp_path / "gt", tmp_path / "res", classes=classes, jobs=jobs, check=True)
        assert json.dumps(out, sort_keys=True) == json.dumps(ref, sort_keys=True)


def test_motmetrics_counts_equal_motmetrics_compute():
    """The counts read from motmetrics' events table equal ``mm.metrics.create().compute``'s."""
    from reference_metrics import match_sequence_reference, motmetrics_counts_reference

    from detbench.evaluate.motmetrics_check import motmetrics_counts

    rng = np.random.default_rng(99)
    for _ in range(10):
        frames = int(rng.integers(3, 20))
        gt, res = _random_sequence(rng, frames=frames, objects=int(rng.integers(1, 10)), classes=3)
        for per_class in (True, False):
            seq = match_sequence("s", gt, res, frames, per_class=per_class)
            ref_seq = match_sequence_reference("s", gt, res, frames, per_class=per_class)
            for a, b in zip(seq.frames, ref_seq.frames):   # vectorised IoU is bit-identical
                assert a.iou.shape == b.iou.shape and a.iou.tobytes() == b.iou.tobytes()
            ours, ref = motmetrics_counts(seq), motmetrics_counts_reference(ref_seq)
            assert ours.pop("events") is not None and ref.pop("events") is not None
            assert ours == ref
