"""BoT-SORT adapter: same tracks as boxmot's BotSort called directly; seconds mean seconds;
CMC from images; bad input is dropped with a count or refused with a one-line InputError."""
from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

from detbench.core.errors import InputError
from detbench.data.mot import read_mot
from detbench.data.noisy import noisy_detections
from trackers import make_tracker
from trackers.base import Frame
from trackers.boxmot_common import boxmot_track_buffer


def _frame(i, fr=2.0, **kw):
    return Frame(index=i, timestamp=i / fr, frame_rate=fr, **kw)


def _single_class_dets(real_fixture, n=40):
    gt = read_mot(real_fixture / "sequences" / "scene-0103_CAM_FRONT" / "gt" / "gt.txt", kind="gt")
    dets = noisy_detections(gt, 40, 1600, 900, seed=5, fp_rate=2.0)[:n]
    for d in dets:
        d[:, 5] = 0
    return dets


def _direct_rows(out):
    """boxmot's rows sorted by id, ids made 1-based: what the adapter must return."""
    out = np.asarray(out, dtype=np.float32).reshape(-1, 8).copy()
    out[:, 4] += 1
    return out[np.argsort(out[:, 4], kind="stable")]


def test_same_tracks_as_boxmot_botsort_without_cmc(real_fixture):
    from boxmot import BotSort

    dets = _single_class_dets(real_fixture)
    # boxmot: class defaults; its 30-frame buffer at 2 Hz is max_time_lost = int(2 / 30 * 30) = 2,
    # i.e. 3 missed frames survived (see the gap test below) = 1.5 s
    direct = BotSort(use_cmc=False, use_embeddings=False, frame_rate=2)
    ours = make_tracker("botsort", {"cmc": "none", "track_buffer_s": "1.5"}, frame_rate=2)
    n_rows = 0
    for i, d in enumerate(dets):
        expected = _direct_rows(direct.update(d.copy()))
        got = ours.update(d, _frame(i))
        np.testing.assert_array_equal(got, expected)
        n_rows += len(got)
    assert n_rows > 200  # the comparison covered real tracking, not empty frames


def _texture(seed=0, h=900, w=1600):
    rng = np.random.default_rng(seed)
    img = rng.integers(0, 256, (h // 8, w // 8, 3), dtype=np.uint8)
    return cv2.GaussianBlur(cv2.resize(img, (w, h), interpolation=cv2.INTER_LINEAR), (0, 0), 2)


def _panning_sequence(n=8, dx=12, dy=5):
    """A camera panning over a static scene: image and boxes shift by (dx, dy) px per frame."""
    base = _texture()
    boxes = np.array([[300, 200, 420, 300], [800, 500, 900, 640], [1100, 150, 1250, 260]], np.float32)
    images, dets = [], []
    for f in range(n):
        m = np.float32([[1, 0, dx * f], [0, 1, dy * f]])
        images.append(cv2.warpAffine(base, m, (1600, 900), borderMode=cv2.BORDER_REFLECT))
        b = boxes + np.float32([dx * f, dy * f, dx * f, dy * f])
        dets.append(np.column_stack([b, np.full(3, 0.9), np.zeros(3)]).astype(np.float32))
    return images, dets


def test_same_tracks_as_boxmot_botsort_with_sof_cmc():
    from boxmot import BotSort

    images, dets = _panning_sequence()
    direct = BotSort(use_cmc=True, cmc_method="sof", use_embeddings=False, frame_rate=2)
    ours = make_tracker("botsort", {"cmc": "sof", "track_buffer_s": 1.5}, frame_rate=2)
    plain = make_tracker("botsort", {"cmc": "none", "track_buffer_s": 1.5}, frame_rate=2)
    differs = False
    for i, (img, d) in enumerate(zip(images, dets)):
        expected = _direct_rows(direct.update(d.copy(), img))
        got = ours.update(d, _frame(i, image=img))
        np.testing.assert_array_equal(got, expected)
        without = plain.update(d, _frame(i))
        differs |= without.shape != got.shape or not np.allclose(without[:, :4], got[:, :4], atol=0.5)
    # the estimate is the pan, so compensation really changed the tracks
    np.testing.assert_allclose(ours._warp.warp[:, 2], [12, 5], atol=1.0)
    assert differs


@pytest.mark.parametrize("rate", [2.0, 12.0, 10.0, 30.0, 12.5, 1.0, 7.3])
@pytest.mark.parametrize("seconds", [0.0, 0.5, 1.0, 2.0, 3.7, 15.0])
def test_buffer_in_seconds_inverts_boxmot_scaling(rate, seconds):
    tb = boxmot_track_buffer(seconds, rate)
    # boxmot survives max_time_lost + 1 missed frames, so max_time_lost is one less than asked
    assert int(rate / 30.0 * tb) == max(round(seconds * rate) - 1, 0)


def test_boxmot_keeps_a_removed_track_one_extra_frame():
    """The fact the conversion relies on, checked on boxmot itself: max_time_lost = 2 -> 3 misses."""
    from boxmot import ByteTrack

    for gap, same in ((3, True), (4, False)):
        t = ByteTrack(frame_rate=2, track_buffer=30)
        assert t.max_time_lost == 2
        out = [t.update(d) for d in _gap_sequence(gap)]
        assert (out[4][0, 4] == out[-1][0, 4]) == same


def _gap_sequence(gap, before=5, after=2):
    d = np.array([[500, 400, 620, 500, 0.9, 0]], np.float32)
    return [d] * before + [np.zeros((0, 6), np.float32)] * gap + [d] * after


@pytest.mark.parametrize("name, option", [("botsort", "track_buffer_s"), ("bytetrack", "track_buffer_s"),
                                          ("ocsort", "max_age_s"), ("iou", "max_age_s")])
@pytest.mark.parametrize("rate", [2.0, 12.0])
def test_lost_track_buffer_means_seconds(name, option, rate):
    """1 s at `rate` Hz: a track survives `rate` missed frames and not one more."""
    n = int(rate)
    results = {}
    for gap in (n, n + 1):
        tracker = make_tracker(name, {option: 1.0}, frame_rate=rate)
        if name == "botsort":
            tracker = make_tracker(name, {option: 1.0, "cmc": "none"}, frame_rate=rate)
        out = [tracker.update(d, _frame(i, rate)) for i, d in enumerate(_gap_sequence(gap))]
        results[gap] = (int(out[4][0, 4]), int(out[-1][0, 4]))
    assert results[n][0] == results[n][1], "recovered within the buffer"
    assert results[n + 1][0] != results[n + 1][1], "forgotten after the buffer"


@pytest.mark.parametrize("name", ["iou", "botsort", "bytetrack", "ocsort"])
def test_bad_rows_are_dropped_and_counted(name):
    tracker = make_tracker(name, {}, frame_rate=2)
    good = np.array([[100, 100, 200, 220, 0.9, 0], [600, 300, 700, 420, 0.9, 4]], np.float32)
    bad = np.array([[np.nan, 1, 5, 5, 0.9, 0],      # NaN
                    [50, 50, 40, 80, 0.9, 0],       # negative width
                    [10, 10, 30, 10, 0.9, 0],       # zero height
                    [10, 10, 30, 30, 1.2, 0],       # score above 1
                    [10, 10, 30, 30, 0.9, 2.5],     # non-integer class
                    [10, 10, 30, 30, 0.9, 9]], np.float32)  # class outside 0..6
    total = 0
    for i in range(3):
        dets = np.concatenate([bad[:3], good, bad[3:]])
        out = tracker.update(dets, _frame(i))
        total += len(bad)
        assert tracker.dropped == total
        assert set(out[:, 7].astype(int).tolist()) <= {3, 4}
    assert set(out[:, 7].astype(int).tolist()) == {3, 4}
    tracker.reset()
    assert tracker.dropped == 0


def test_wrong_detection_shape_is_an_input_error():
    tracker = make_tracker("botsort", {}, frame_rate=2)
    with pytest.raises(InputError, match=r"\(N, 6\).*\(3, 5\)"):
        tracker.update(np.zeros((3, 5), np.float32), _frame(0))


@pytest.mark.parametrize("cmc", ["sof", "ecc"])
def test_cmc_without_images_is_an_input_error(cmc, tmp_path):
    tracker = make_tracker("botsort", {"cmc": cmc}, frame_rate=2)
    dets = np.array([[100, 100, 200, 220, 0.9, 0]], np.float32)
    with pytest.raises(InputError, match=f"cmc={cmc} needs the frame's image.*frame index 0"):
        tracker.update(dets, _frame(0))
    with pytest.raises(InputError, match="missing.jpg"):
        tracker.update(dets, _frame(0, image_path=tmp_path / "missing.jpg"))


def test_auto_cmc_uses_images_when_present_and_identity_otherwise(real_fixture):
    """Real JPEGs for the first two keyframes, none after: auto must not fail, and must reset."""
    cam = real_fixture / "samples" / "CAM_FRONT"
    paths = sorted(cam.glob("*.jpg"))
    tracker = make_tracker("botsort", {}, frame_rate=2)
    dets = np.array([[100, 100, 200, 220, 0.9, 0]], np.float32)
    tracker.update(dets, _frame(0, image_path=paths[0]))
    tracker.update(dets, _frame(1, image_path=paths[1]))
    assert tracker._cmc._state.prev_frame is not None
    tracker.update(dets, _frame(2))
    assert tracker._cmc._state is None and tracker._cmc._live is None   # the flow restarts fresh
    np.testing.assert_array_equal(tracker._warp.warp, np.eye(2, 3, dtype=np.float32))


def test_invalid_cmc_and_missing_reid_weights(tmp_path):
    with pytest.raises(InputError, match="cmc='optical'.*auto, none, sof"):
        make_tracker("botsort", {"cmc": "optical"})
    with pytest.raises(InputError, match="reid_weights .*nope.pt: file not found"):
        make_tracker("botsort", {"reid_weights": str(tmp_path / "nope.pt")})


def test_bad_frame_rate_is_an_input_error():
    with pytest.raises(InputError, match="frame rate"):
        make_tracker("botsort", {}, frame_rate=0)
    with pytest.raises(InputError, match="frame rate"):
        make_tracker("iou", {}, frame_rate=math.nan)


def test_remembered_warps_give_the_tracks_computed_without_them(tmp_path, monkeypatch):
    """A grid of BoT-SORT runs over image files (some share their detections, some depart from
    them mid-sequence): the same tracks and warps with the process-wide CMC memo as when every run
    computes its own warps; the memo really served frames."""
    from trackers import cmc_memo

    images, dets = _panning_sequence(n=8)
    paths = []
    for i, img in enumerate(images):
        paths.append(tmp_path / f"{i}.jpg")
        cv2.imwrite(str(paths[-1]), img)
    rng = np.random.default_rng(3)
    variants = [dets, dets, [d.copy() for d in dets]]
    variants[2][4] = variants[2][4] + np.float32([3, 0, 3, 0, 0, 0])   # departs at frame 4
    grid = [(v, thr) for v in range(3) for thr in (0.3, 0.5)]

    def run_grid(memo: bool):
        cmc_memo.STORE.clear()
        out = []
        for v, thr in grid:
            if not memo:
                cmc_memo.STORE.clear()
            t = make_tracker("botsort", {"cmc": "sof", "track_high_thresh": thr}, frame_rate=2)
            rows, warps = [], []
            for i, d in enumerate(variants[v]):
                d = d.copy()
                d[:, 4] = rng.uniform(0.2, 0.95, len(d)).astype(np.float32) if v == 2 else d[:, 4]
                rows.append(t.update(d, _frame(i, image_path=paths[i])))
                warps.append(t._warp.warp.copy())
            out.append((rows, warps))
        return out, cmc_memo.STORE.hits

    rng = np.random.default_rng(3)
    plain, plain_hits = run_grid(memo=False)
    rng = np.random.default_rng(3)
    served, hits = run_grid(memo=True)
    assert plain_hits == 0 and hits >= 8 * 3   # the repeats of variants 0 and 1 and variant 2's prefix
    for (rows_a, warps_a), (rows_b, warps_b) in zip(plain, served):
        for a, b in zip(rows_a, rows_b):
            np.testing.assert_array_equal(a, b)
        for a, b in zip(warps_a, warps_b):
            np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(served[0][1][-1][:, 2], [12, 5], atol=1.0)   # it did estimate the pan
