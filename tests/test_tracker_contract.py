"""Every registered tracker, same sequences, same contract (trackers/base.py)."""
from __future__ import annotations

import json

import numpy as np
import pytest
from test_geometry import K, pose

from detbench.core.errors import InputError
from detbench.core.types import iou_matrix
from detbench.data.mot import read_mot, read_seqinfo
from detbench.data.noisy import noisy_detections
from trackers import TRACKERS, make_tracker
from trackers.base import Frame

OPTIONS: dict[str, dict] = {}   # tracker -> options; TrackSSM's trained weights are filled in below
#: variants run through the same contract: camera-motion compensation from the frames' poses
VARIANTS = {"botsort:cmc=pose": ("botsort", {"cmc": "pose"}), "bytetrack:cmc=pose": ("bytetrack", {"cmc": "pose"}),
            "ocsort:cmc=pose": ("ocsort", {"cmc": "pose"})}
PARAMS = sorted(TRACKERS) + sorted(VARIANTS)  # every registered tracker; a missing module fails, it never skips


@pytest.fixture(autouse=True)
def _trained_trackssm(trained_motion):
    """TrackSSM runs the contract with weights trained on synthetic tracks (tests/conftest.py),
    never random ones: random weights predict boxes nowhere near the object."""
    for name in ("trackssm", "trackssm-gated"):
        OPTIONS[name] = {"weights": str(trained_motion[0])}


def test_trackssm_runs_the_contract_with_trained_weights(trained_motion):
    trk = _new("trackssm")
    assert trk.model.config.d_model == 32 and trained_motion[1]["trackssm_iou"] > 0.75


def _new(name, frame_rate=2.0):
    base, options = VARIANTS.get(name, (name, {}))
    return make_tracker(base, {**OPTIONS.get(base, {}), **options}, frame_rate=frame_rate)


def _frame(i, fr=2.0, **kw):
    """Frame ``i``, seen by a forward camera 1.5 m above the ground driving 1 m/s (trackers that
    need calibration, ``ground`` and the ``cmc=pose`` variants, read it; the others ignore it)."""
    return Frame(index=i, timestamp=i / fr, frame_rate=fr, intrinsics=K, cam2global=pose(0.0, x=i / fr), **kw)


def _run(tracker, seq, frames=None):
    out = []
    for i, dets in enumerate(seq):
        out.append(tracker.update(dets, frames[i] if frames else _frame(i)))
    return out


def _clean_sequence(n=12):
    """Three objects of three classes, far apart, drifting 3 px per frame; row k = object k."""
    seq = []
    for f in range(n):
        seq.append(np.array([[100 + 3 * f, 100, 260 + 3 * f, 220, 0.9, 0],
                             [700, 300 + 3 * f, 760, 460 + 3 * f, 0.85, 4],
                             [1200 - 3 * f, 600, 1400 - 3 * f, 800, 0.8, 2]], dtype=np.float32))
    return seq


def _check_frame(tracks, dets, min_iou=0.5):
    assert tracks.dtype == np.float32 and tracks.ndim == 2 and tracks.shape[1] == 8
    ids = tracks[:, 4]
    assert np.all(ids >= 1) and np.all(ids == np.round(ids))
    assert len(np.unique(ids)) == len(ids), "ids must be unique within a frame"
    di = tracks[:, 7].astype(int)
    assert np.all(tracks[:, 7] == di) and np.all((di >= 0) & (di < len(dets)))
    assert len(np.unique(di)) == len(di), "a detection updates at most one track"
    np.testing.assert_array_equal(tracks[:, 6], dets[di, 5])  # class of that detection
    if len(tracks):
        ious = np.diag(iou_matrix(tracks[:, :4], dets[di, :4]))
        # Kalman-filtered boxes (boxmot) trail the detection; on real 2 Hz motion only overlap is sure
        assert np.all(ious > min_iou), "a track's box lies on the detection it took"


@pytest.mark.parametrize("name", PARAMS)
def test_shape_ids_and_stability_on_clean_objects(name):
    tracker = _new(name)
    seq = _clean_sequence()
    out = _run(tracker, seq)
    ids_of_obj = {0: set(), 1: set(), 2: set()}
    frames_of_obj = {0: 0, 1: 0, 2: 0}
    for tracks, dets in zip(out, seq):
        _check_frame(tracks, dets)
        for row in tracks:
            ids_of_obj[int(row[7])].add(int(row[4]))
            frames_of_obj[int(row[7])] += 1
    for k in range(3):
        assert len(ids_of_obj[k]) == 1, f"object {k} changed id: {ids_of_obj[k]}"
        assert frames_of_obj[k] >= len(seq) - 2
    assert len(set().union(*ids_of_obj.values())) == 3


@pytest.mark.parametrize("name", PARAMS)
def test_reset_restarts_ids_and_reproduces(name):
    tracker = _new(name)
    seq = _clean_sequence()
    first = _run(tracker, seq)
    tracker.reset()
    second = _run(tracker, seq)
    assert min(t[:, 4].min() for t in second if len(t)) == 1
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("name", PARAMS)
def test_empty_frames_and_empty_sequences(name):
    tracker = _new(name)
    tracker.reset()  # an empty sequence: nothing but a reset
    for empty in (np.zeros((0, 6), np.float32), np.empty((0, 6)), []):
        out = tracker.update(empty, _frame(0))
        assert out.shape == (0, 8) and out.dtype == np.float32
    # empty frames inside a sequence: the object survives a one-frame hole
    tracker.reset()
    seq = _clean_sequence(8)
    seq[4] = np.zeros((0, 6), np.float32)
    out = _run(tracker, seq)
    assert out[4].shape == (0, 8)
    ids = {int(r[4]) for t in out[5:] for r in t if int(r[7]) == 0}
    before = {int(r[4]) for t in out[:4] for r in t if int(r[7]) == 0}
    assert ids and before and len(ids | before) == 1


@pytest.mark.parametrize("name", PARAMS)
def test_no_match_across_classes(name):
    tracker = _new(name)
    box = [400, 300, 560, 420]
    seq = [np.array([box + [0.9, 0]], np.float32) for _ in range(5)]          # a car
    seq += [np.array([box + [0.9, 4]], np.float32) for _ in range(5)]         # then a pedestrian, same box
    seq += [np.array([box + [0.9, 1], box + [0.9, 6]], np.float32) for _ in range(5)]  # truck + bicycle
    out = _run(tracker, seq)
    cls_of_id = {}
    for tracks, dets in zip(out, seq):
        _check_frame(tracks, dets)
        for row in tracks:
            assert cls_of_id.setdefault(int(row[4]), int(row[6])) == int(row[6]), \
                f"track {int(row[4])} took a detection of another class"
    assert set(cls_of_id.values()) == {0, 4, 1, 6}


@pytest.mark.parametrize("name", PARAMS)
def test_det_index_refers_to_rows_before_sanitising(name):
    tracker = _new(name)
    bad = np.array([[np.nan, 0, 10, 10, 0.9, 0], [50, 50, 40, 60, 0.9, 0]], np.float32)
    seq, sources = [], []
    for f, dets in enumerate(_clean_sequence(6)):
        order = np.random.default_rng(f).permutation(3)
        seq.append(np.concatenate([bad[:1], dets[order], bad[1:]]))
        sources.append(np.concatenate([[-1], order, [-1]]))
    out = _run(tracker, seq)
    for tracks, dets, src in zip(out, seq, sources):
        _check_frame(tracks, dets)
        assert np.all(src[tracks[:, 7].astype(int)] >= 0)


@pytest.mark.parametrize("name", PARAMS)
def test_runs_on_real_fixture_with_noisy_detections(name, real_fixture):
    seq_dir = real_fixture / "sequences" / "scene-0103_CAM_FRONT"
    gt = read_mot(seq_dir / "gt" / "gt.txt", kind="gt")
    info = read_seqinfo(seq_dir / "seqinfo.ini")
    frames_meta = json.loads((seq_dir / "frames.json").read_text())
    dets = noisy_detections(gt, info.length, info.width, info.height, seed=0)
    frames = [Frame(index=i, timestamp=m["timestamp"] / 1e6, frame_rate=info.frame_rate,
                    width=info.width, height=info.height, image_path=real_fixture / m["image"],
                    intrinsics=np.array(m["intrinsics"]), cam2global=np.array(m["cam2global"]))
              for i, m in enumerate(frames_meta)]
    tracker = _new(name, frame_rate=info.frame_rate)
    out = _run(tracker, dets, frames)
    cls_of_id = {}
    for tracks, d in zip(out, dets):
        _check_frame(tracks, d, min_iou=0.0)
        for row in tracks:
            assert cls_of_id.setdefault(int(row[4]), int(row[6])) == int(row[6])
    assert sum(len(t) for t in out) > 0  # quality is scored in benchmarks/score_fixture_trackers.py


def test_registry_lists_every_member():
    assert {"iou", "botsort", "bytetrack", "ocsort", "trackssm", "trackssm-gated", "ground"} <= set(TRACKERS)


def test_unknown_tracker_and_option_list_the_valid_ones():
    with pytest.raises(InputError, match="available: .*botsort.*iou"):
        make_tracker("sort", {})
    with pytest.raises(InputError, match="valid options: .*track_buffer_s"):
        make_tracker("botsort", {"track_buffer": "30"})
    with pytest.raises(InputError, match="not a valid float"):
        make_tracker("iou", {"iou_threshold": "high"})


def test_fixture_scorer_counts_a_hand_worked_case():
    """benchmarks/score_fixture_trackers.py's CLEAR counts on a case worked out by hand."""
    import importlib.util as iu
    from pathlib import Path

    path = Path(__file__).resolve().parent.parent / "benchmarks" / "score_fixture_trackers.py"
    spec = iu.spec_from_file_location("score_fixture_trackers", path)
    mod = iu.module_from_spec(spec)
    spec.loader.exec_module(mod)
    a = [100, 100, 100, 100]       # x, y, w, h
    near = [140, 100, 100, 100]    # IoU with a: 60*100 / (2*10000 - 6000) = 0.4286 < 0.5
    gt = np.array([[f, 1, *a, 1, 1, 1] for f in (1, 2, 3, 4)], float)
    hyp = np.array([[1, 5, *a, 1, 1, 1],
                    [2, 5, *a, 1, 1, 1], [2, 7, 900, 500, 50, 50, 1, 1, 1],   # 7: a false positive
                    [3, 6, *a, 1, 1, 1], [3, 8, *a, 1, 3, 1],                 # 6: switch; 8: wrong class
                    [4, 6, *near, 1, 1, 1]], float)                           # too far: miss + FP
    c = mod.clear_counts(gt, hyp)
    assert (c["num_objects"], c["num_switches"], c["num_false_positives"], c["num_misses"]) == (4, 1, 3, 1)
    assert mod.mota(c) == pytest.approx(1 - (1 + 3 + 1) / 4)
