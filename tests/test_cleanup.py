"""The detection clean-up (trackers/cleanup.py; docs/trackers.md, "Tracker options"): a hand-worked NMS case, the score
recalibration rule, options through meta.json and the cache key, the same cleaned detections for
every tracker, and "off" is today's behaviour exactly."""
from __future__ import annotations

import json

import numpy as np
import pytest

from detbench.core.errors import InputError
from detbench.data.mot import SeqInfo, read_mot, write_mot, write_mot_dets, write_seqinfo
from detbench.data.noisy import noisy_detections
from trackers import TRACKERS, make_tracker, tracker_class, tracker_params
from trackers.base import Frame
from trackers.cleanup import (
    CleanedTracker,
    CleanupParams,
    buffer_boxes,
    clean_frame,
    clean_sequence,
    nms,
    unbuffer_boxes,
)

# Hand-worked case. Boxes x1, y1, x2, y2, score, class (all 10 px high unless said):
#   row 0  A = [0, 10] x [0, 10]    0.90 car        area 100
#   row 1  B = [1, 11] x [0, 10]    0.80 truck      IoU(A, B) = 9*10 / (100 + 100 - 90) = 90/110 = 0.818
#   row 2  C = [5, 15] x [0, 10]    0.70 car        IoU(A, C) = 50/150 = 0.333, IoU(B, C) = 60/140 = 0.429
#   row 3  D = [20, 30] x [20, 30]  0.95 pedestrian no overlap with anything
#   row 4  E = [6, 16] x [0, 10]    0.60 car        IoU(C, E) = 90/110 = 0.818, IoU(A, E) = 40/160 = 0.25,
#                                                   IoU(B, E) = 50/150 = 0.333
# Greedy, by descending score: D (0.95), A (0.90), B (0.80), C (0.70), E (0.60).
# nms_iou = 0.5: D kept; A kept, suppresses B (0.818 > 0.5; class-agnostic: B is a truck), not C
#   (0.333) nor E (0.25); B is gone; C kept, suppresses E (0.818) -> kept rows 0, 2, 3 (A keeps car).
#   noisy_or: A = 1 - (1 - 0.9)(1 - 0.8) = 0.98, C = 1 - (1 - 0.7)(1 - 0.6) = 0.88, D = 0.95.
# nms_iou = 0.3: D kept; A suppresses B (0.818) and C (0.333 > 0.3), not E (0.25); C, suppressed,
#   suppresses nothing, so E (0.818 with C) is kept: rows 0, 3, 4.
# nms_iou = 0.85: nothing exceeds 0.85 -> all five rows.
CASE = np.array([[0, 0, 10, 10, 0.90, 0],
                 [1, 0, 11, 10, 0.80, 1],
                 [5, 0, 15, 10, 0.70, 0],
                 [20, 20, 30, 30, 0.95, 4],
                 [6, 0, 16, 10, 0.60, 0]], dtype=np.float32)


def test_nms_keeps_exactly_the_hand_worked_boxes():
    out, rows = clean_frame(CASE, CleanupParams(nms_iou=0.5))
    assert rows.tolist() == [0, 2, 3]
    np.testing.assert_array_equal(out, CASE[[0, 2, 3]])  # own box, class and (max) score
    out, rows = clean_frame(CASE, CleanupParams(nms_iou=0.5, nms_fuse="noisy_or"))
    assert rows.tolist() == [0, 2, 3]
    np.testing.assert_allclose(out[:, 4], [0.98, 0.88, 0.95], atol=1e-6)
    np.testing.assert_array_equal(out[:, [0, 1, 2, 3, 5]], CASE[[0, 2, 3]][:, [0, 1, 2, 3, 5]])
    assert clean_frame(CASE, CleanupParams(nms_iou=0.3))[1].tolist() == [0, 3, 4]
    assert clean_frame(CASE, CleanupParams(nms_iou=0.85))[1].tolist() == [0, 1, 2, 3, 4]
    kept, scores = nms(CASE, 0.5)
    assert kept.tolist() == [3, 0, 2] and scores.tolist() == pytest.approx([0.95, 0.9, 0.7])


def test_weighted_box_fusion_by_hand():
    # nms_iou 0.5 groups {A, B}, {C, E}, {D} (above). wbf: score-weighted boxes, class by summed score
    #   {A, B}: x1 = (0.9*0 + 0.8*1) / 1.7 = 0.470588, x2 = (0.9*10 + 0.8*11) / 1.7 = 10.470588, car 0.9 > truck 0.8
    #   {C, E}: x1 = (0.7*5 + 0.6*6) / 1.3 = 5.461538, x2 = (0.7*15 + 0.6*16) / 1.3 = 15.461538, car
    out, rows = clean_frame(CASE, CleanupParams(nms_iou=0.5, nms_merge="wbf"))
    assert rows.tolist() == [0, 2, 3]
    np.testing.assert_allclose(out[:, [0, 2]], [[0.470588, 10.470588], [5.461538, 15.461538], [20, 30]], atol=1e-5)
    np.testing.assert_array_equal(out[:, 5], [0, 0, 4])
    np.testing.assert_allclose(out[:, 4], [0.9, 0.7, 0.95], atol=1e-6)  # nms_fuse max: the kept box's score
    # the vote can overrule the top box: truck 0.9 vs car 0.6 + 0.5 = 1.1 (IoUs 100/110 and 90/100)
    # -> car; y1 = 0.5*1 / 2.0 = 0.25, y2 = (0.9*10 + 0.6*11 + 0.5*10) / 2.0 = 10.3
    vote = np.array([[0, 0, 10, 10, 0.9, 1], [0, 0, 10, 11, 0.6, 0], [0, 1, 10, 10, 0.5, 0]], np.float32)
    out, rows = clean_frame(vote, CleanupParams(nms_iou=0.5, nms_merge="wbf"))
    assert rows.tolist() == [0]
    np.testing.assert_allclose(out[0], [0, 0.25, 10, 10.3, 0.9, 0], atol=1e-5)
    assert clean_frame(vote, CleanupParams(nms_iou=0.5))[0][0, 5] == 1  # "top": the truck's class


def test_min_box_size_and_invalid_rows_pass_through():
    tiny = np.array([[40, 40, 43, 60, 0.99, 0]], np.float32)          # 3 px wide
    bad = np.array([[50, 50, 40, 60, 0.5, 0]], np.float32)            # negative width: not a detection
    dets = np.concatenate([CASE, tiny, bad])
    out, rows = clean_frame(dets, CleanupParams(min_box_px=4))
    assert rows.tolist() == [0, 1, 2, 3, 4, 6]                          # tiny gone, bad left for the tracker
    out, rows = clean_frame(dets, CleanupParams(min_box_px=3))
    assert 5 in rows.tolist()                                           # 3 px is not below 3 px


def test_recalibration_stretches_only_a_narrow_band():
    rng = np.random.default_rng(0)
    frames = []
    for _ in range(5):
        d = np.zeros((20, 6), np.float32)
        d[:, 0] = np.arange(20) * 50
        d[:, 1] = 0
        d[:, 2] = d[:, 0] + 40
        d[:, 3] = 40
        d[:, 4] = rng.uniform(0.90, 0.95, 20)
        frames.append(d)
    scores = np.concatenate([f[:, 4] for f in frames]).astype(np.float64)
    lo, hi = np.quantile(scores, [0.05, 0.95])
    out = clean_sequence(frames, CleanupParams(recal_band=0.1))
    got = np.concatenate([o[:, 4] for o, _ in out])
    np.testing.assert_allclose(got, np.clip(0.1 + 0.8 * (scores - lo) / (hi - lo), 0, 1), atol=1e-6)
    assert np.argsort(got, kind="stable").tolist() == np.argsort(scores.astype(np.float32), kind="stable").tolist()
    # a band wider than recal_band: unchanged
    out = clean_sequence(frames, CleanupParams(recal_band=0.02))
    np.testing.assert_array_equal(np.concatenate([o[:, 4] for o, _ in out]), scores.astype(np.float32))


def test_bad_cleanup_values_name_the_option():
    with pytest.raises(InputError, match="nms_fuse"):
        make_tracker("iou", {"nms_fuse": "mean"})
    with pytest.raises(InputError, match="nms_iou"):
        make_tracker("iou", {"nms_iou": "1.5"})
    with pytest.raises(InputError, match="box_buffer"):
        make_tracker("iou", {"box_buffer": "-0.1"})
    with pytest.raises(InputError, match="clean-up options of every tracker"):
        make_tracker("iou", {"nms_io": "0.5"})
    trk = make_tracker("iou", {"recal_band": "0.2"})
    with pytest.raises(InputError, match="begin_sequence"):
        trk.update(CASE, None)


def _options(name, extra=None):
    return {**({"weights": "random"} if name.startswith("trackssm") else {}), **(extra or {})}


def _sequence(real_fixture, frames=10):
    seq = real_fixture / "sequences" / "scene-0103_CAM_FRONT"
    gt = read_mot(seq / "gt" / "gt.txt", kind="gt")
    gt = gt[gt[:, 0] <= frames]
    return noisy_detections(gt, frames, 1600, 900, seed=3, dup_share=0.5)


def _frame(i, calibration=None):
    """Frame ``i``; ``calibration``: the sequence's frames.json rows (trackers that need it read them)."""
    row = calibration[i] if calibration else {}
    return Frame(index=i, timestamp=i / 2.0, frame_rate=2.0,
                 intrinsics=np.array(row["intrinsics"]) if row else None,
                 cam2global=np.array(row["cam2global"]) if row else None)


def _calibration(real_fixture):
    return json.loads((real_fixture / "sequences" / "scene-0103_CAM_FRONT" / "frames.json").read_text())


@pytest.mark.parametrize("name", sorted(TRACKERS))
def test_off_is_todays_tracker_exactly(name, real_fixture):
    """Defaults (and explicit off values) give the bare tracker's tracks bit for bit."""
    dets = _sequence(real_fixture)
    params, _ = tracker_params(name, _options(name))
    bare = tracker_class(name)(params, frame_rate=2.0)
    wrapped = make_tracker(name, _options(name, {"nms_iou": "1.0", "min_box_px": "0", "recal_band": "0",
                                                 "box_buffer": "0"}))
    assert isinstance(wrapped, CleanedTracker) and wrapped.params == bare.params
    wrapped.begin_sequence(dets)
    calib = _calibration(real_fixture)
    for i, d in enumerate(dets):
        np.testing.assert_array_equal(wrapped.update(d, _frame(i, calib)), bare.update(d, _frame(i, calib)))


def test_every_tracker_gets_the_same_cleaned_detections(real_fixture, monkeypatch):
    dets = _sequence(real_fixture)
    cleanup = {"nms_iou": "0.6", "nms_fuse": "noisy_or", "nms_merge": "wbf", "min_box_px": "4", "recal_band": "0.3",
               "box_buffer": "0.3"}
    seen = {}
    for name in sorted(TRACKERS):
        trk = make_tracker(name, _options(name, cleanup))
        inner_update = trk.inner.update
        got = seen.setdefault(name, [])

        def spy(d, frame=None, _inner=inner_update, _got=got):
            _got.append(np.array(d, copy=True))
            return _inner(d, frame)

        monkeypatch.setattr(trk.inner, "update", spy)
        trk.begin_sequence(dets)
        for i, d in enumerate(dets):
            tracks = trk.update(d, _frame(i, _calibration(real_fixture)))
            assert (tracks[:, 7] < len(d)).all()  # det_index: the caller's rows
    expected = [c for c, _ in clean_sequence(dets, CleanupParams(nms_iou=0.6, nms_fuse="noisy_or", nms_merge="wbf",
                                                                  min_box_px=4, recal_band=0.3, box_buffer=0.3))]
    for name, got in seen.items():
        assert len(got) == len(expected), name
        for g, e in zip(got, expected):
            np.testing.assert_array_equal(g, e)
    assert sum(len(e) for e in expected) < sum(len(d) for d in dets)  # the duplicates were removed


def test_options_round_trip_through_meta_json_and_key_the_cache(real_fixture, tmp_path):
    from detbench.tracking.run import track_split
    from detbench.tracking.sources import from_external

    seq = "scene-0103_CAM_FRONT"
    src = real_fixture / "sequences" / seq
    gt = read_mot(src / "gt" / "gt.txt", kind="gt")
    gt = gt[gt[:, 0] <= 6]
    root, det_dir = tmp_path / "seqs", tmp_path / "dets"
    (root / seq / "gt").mkdir(parents=True)
    write_mot(root / seq / "gt" / "gt.txt", gt)
    write_seqinfo(root / seq / "seqinfo.ini", SeqInfo(seq, 2.0, 1600, 900, 6))
    write_mot_dets(det_dir / f"{seq}.txt", noisy_detections(gt, 6, 1600, 900, seed=0, dup_share=0.5))
    jobs = from_external(det_dir, root)
    opts = {"nms_iou": "0.6", "nms_fuse": "noisy_or", "nms_merge": "wbf", "min_box_px": "5", "recal_band": "0.25",
            "box_buffer": "0.3"}
    meta = track_split(jobs, "iou", tmp_path / "a", opts)
    on_disk = json.loads((tmp_path / "a" / "meta.json").read_text())
    assert CleanupParams(**on_disk["cleanup"]) == CleanupParams(nms_iou=0.6, nms_fuse="noisy_or", nms_merge="wbf",
                                                                min_box_px=5.0, recal_band=0.25, box_buffer=0.3)
    assert {k: on_disk["params"][k] for k in on_disk["cleanup"]} == on_disk["cleanup"]
    again = track_split(jobs, "iou", tmp_path / "a", on_disk["cleanup"])  # the recorded values reproduce it
    assert again.get("reused") and again["inputs_hash"] == meta["inputs_hash"]
    off = track_split(jobs, "iou", tmp_path / "b", {})
    assert off["cleanup"] == {"nms_iou": 1.0, "nms_fuse": "max", "nms_merge": "top", "min_box_px": 0.0,
                              "recal_band": 0.0, "box_buffer": 0.0}
    assert off["inputs_hash"] != meta["inputs_hash"]
    other = track_split(jobs, "iou", tmp_path / "c", {**opts, "nms_iou": "0.7"})
    assert other["inputs_hash"] != meta["inputs_hash"]
    unbuffered = track_split(jobs, "iou", tmp_path / "d", {**opts, "box_buffer": "0"})
    assert unbuffered["inputs_hash"] != meta["inputs_hash"]


def test_buffered_boxes_by_hand():
    # [10, 20] - [30, 60]: w 20, h 40; b = 0.25 widens by 5 px left/right and 10 px top/bottom
    box = np.array([[10, 20, 30, 60, 0.9, 2]], dtype=np.float64)
    np.testing.assert_array_equal(buffer_boxes(box, 0.25), [[5, 10, 35, 70, 0.9, 2]])
    np.testing.assert_allclose(unbuffer_boxes(buffer_boxes(box, 0.25), 0.25), box)
    np.testing.assert_array_equal(buffer_boxes(box, 0.0), box)


def test_box_buffer_bridges_a_2hz_step_and_reports_the_detections_own_boxes():
    # A 10 px box moves 8 px right between keyframes: IoU = (2 x 10) / (100 + 100 - 20) = 0.111 < 0.3,
    # so the iou tracker (last box, plain IoU, threshold 0.3) starts a new track. Buffered by 0.5 the
    # boxes are [-5, 15] and [3, 23] (20 x 20): IoU = (12 x 20) / (400 + 400 - 240) = 0.429 >= 0.3.
    frames = [np.array([[0, 0, 10, 10, 0.9, 0]], np.float32), np.array([[8, 0, 18, 10, 0.9, 0]], np.float32)]
    opts = {"cost": "iou", "motion": "none", "iou_threshold": "0.3", "min_score": "0.1"}
    ids = {}
    for b in ("0", "0.5"):
        trk = make_tracker("iou", {**opts, "box_buffer": b})
        out = [trk.update(d, _frame(i)) for i, d in enumerate(frames)]
        ids[b] = [int(o[0, 4]) for o in out]
        for o, d in zip(out, frames):
            np.testing.assert_allclose(o[:, :4], d[:, :4], atol=1e-4)  # the detection's own box again
    assert ids["0"][0] != ids["0"][1] and ids["0.5"][0] == ids["0.5"][1]
