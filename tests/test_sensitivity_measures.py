"""Detector placement on a crafted case, bands from counts, zero-point predictions: hand-computed."""
from __future__ import annotations

import numpy as np
import pytest

from detbench.sensitivity import zero_point
from detbench.sensitivity.bands import FIELDS, cell_counts, scene_of, scene_seed_bands
from detbench.sensitivity.placement import auc, measure_split


def _gt():
    #        frame id  x    y    w    h   conf class vis
    return np.array([[1, 1, 0, 0, 100, 100, 1, 1, 1],      # A (car)
                     [1, 2, 200, 0, 100, 100, 1, 2, 1],    # B (truck)
                     [1, 9, 800, 800, 100, 100, 0, 1, 1],  # ignore region
                     [2, 1, 10, 0, 100, 100, 1, 1, 1],     # A moved
                     [2, 3, 500, 500, 50, 50, 1, 5, 1]],   # C (pedestrian), never detected
                    dtype=float)


def _dets():
    f1 = np.array([[5, 0, 105, 100, 0.9, 0],        # A: IoU 9500/10500, centre +5 px
                   [200, 0, 300, 120, 0.8, 0],      # B as a car: IoU 10000/12000, centre y +10, h x1.2
                   [600, 600, 650, 650, 0.85, 0],   # false
                   [0, 0, 100, 100, 0.05, 0],       # below tau=0.1: not counted at all
                   [800, 800, 900, 900, 0.9, 0]])   # on the ignore region: left out
    f2 = np.array([[10, 0, 110, 100, 0.3, 0],       # A exactly, but the 0.95 box below takes A first
                   [12, 0, 112, 100, 0.95, 0]])     # A: centre +2 px
    return [f1, f2]


def test_placement_on_a_crafted_case():
    m = measure_split([(_gt(), _dets())])
    assert m["counts"] == {"gt": 4, "matched": 3, "false": 2, "frames": 2}
    assert m["recall"] == pytest.approx(3 / 4)
    assert m["fp"] == pytest.approx(2 / 2)
    assert m["jitter"] == pytest.approx(np.sqrt((0.05 ** 2 + 0.1 ** 2 + np.log(1.2) ** 2 + 0.02 ** 2) / 12))
    # true scores 0.9, 0.8, 0.95 vs false 0.85, 0.3: 5 of 6 pairs ordered
    assert m["score"] == pytest.approx(5 / 6)
    assert m["confusion"] == pytest.approx(1 / 3)


def test_auc_ties_and_empty():
    assert auc([0.5, 0.5], [0.5]) == 0.5
    assert auc([0.9], []) is None


def _cells():
    """2 scenes x 2 seeds; CLEAR counts and per-alpha HOTA sums constant over alpha."""
    def cell(idsw, tp, fn, fp, htp, hfn, hfp, assa):
        c = {"IDSW": idsw, "TP": tp, "FN": fn, "FP": fp}
        for i in range(19):
            c.update({f"HOTA_TP.{i}": htp, f"HOTA_FN.{i}": hfn, f"HOTA_FP.{i}": hfp, f"AssA_TP.{i}": assa * htp})
        return c
    return {0: {"s1_CAM_FRONT": cell(2, 8, 2, 1, 8, 2, 1, 0.5), "s2_CAM_BACK": cell(0, 5, 5, 0, 5, 5, 0, 1.0)},
            1: {"s1_CAM_FRONT": cell(4, 6, 4, 3, 6, 4, 3, 0.25), "s2_CAM_BACK": cell(0, 10, 0, 0, 10, 0, 0, 1.0)}}


def test_bands_from_summed_counts():
    cells, scenes, seeds = cell_counts(_cells())
    assert scenes == ["s1", "s2"] and seeds == [0, 1] and cells.shape == (2, 2, len(FIELDS))
    b = scene_seed_bands(cells, n_resamples=200)
    # sums: IDSW 6, TP 29, FN 11, FP 4; HOTA_TP 29, FN 11, FP 4, AssA_TP 4 + 5 + 1.5 + 10 = 20.5
    assert b["IDSW"]["value"] == pytest.approx(6 / 2)
    assert b["MOTA"]["value"] == pytest.approx(1 - (11 + 4 + 6) / 40)
    assert b["DetA"]["value"] == pytest.approx(29 / 44)
    assert b["AssA"]["value"] == pytest.approx(20.5 / 29)
    assert b["HOTA"]["value"] == pytest.approx(np.sqrt(29 / 44 * 20.5 / 29))
    for m in b.values():
        assert m["low"] <= m["value"] + 1e-12 and m["high"] >= m["value"] - 1e-12
        assert m["high"] > m["low"]  # scenes and seeds differ: a real spread


def test_one_scene_identical_seeds_give_a_zero_width_band():
    c = _cells()
    one = {s: {"s1_CAM_FRONT": c[0]["s1_CAM_FRONT"], "s1_CAM_BACK": c[0]["s2_CAM_BACK"]} for s in (0, 1)}
    cells, scenes, _ = cell_counts(one)
    assert scenes == ["s1"]
    b = scene_seed_bands(cells, n_resamples=50)
    assert all(m["low"] == pytest.approx(m["value"]) == pytest.approx(m["high"]) for m in b.values())


def test_scene_of():
    assert scene_of("scene-0103_CAM_BACK_LEFT") == "scene-0103"
    assert scene_of("MOT17-02") == "MOT17-02"


def test_zero_point_predictions_on_crafted_tracks():
    rows = []
    for f in range(1, 6):   # track 1: static from frame 1 (grace frame: reported at once)
        rows.append([f, 1, 0, 0, 100, 100, 1, 1, 1])
    for f in range(3, 7):   # track 2: static from frame 3: one box lost to confirmation
        rows.append([f, 2, 300, 0, 100, 100, 1, 1, 1])
    for f in range(2, 5):   # track 3: jumps a full box width per frame (IoU 0): never confirmed
        rows.append([f, 3, 600 + 100 * (f - 2), 300, 100, 100, 1, 1, 1])
    for f in (1, 2, 9, 10):  # track 4: a 6-frame gap, longer than a 4-frame buffer
        rows.append([f, 4, 0, 500, 100, 100, 1, 1, 1])
    rules = {"confirm": 1, "grace": 1, "survive": 4, "gate": 0.3}
    p = zero_point.predict(np.array(rows, float), rules)
    assert p["segments"] == 5 and p["gap_idsw"] == 1
    assert p["init_fn"] == 1 + 1 + 1          # tracks 2, 3 and track 4's second segment
    assert p["steps"] == 4 + 3 + 2 + 2 and p["weak_steps"] == 2
    assert p["init_fn_2hz"] == 1 + 3 + 1      # track 3 loses all three boxes
    iou_rules = {"confirm": 0, "grace": 0, "survive": 2, "gate": 0.3}
    q = zero_point.predict(np.array(rows, float), iou_rules)
    assert q["init_fn"] == 0 and q["init_fn_2hz"] == 0 and q["gap_idsw"] == 1


def test_init_rules_read_each_trackers_params():
    from detbench.tracking.run import resolve_params

    r = {t: zero_point.init_rules(t, resolve_params(t, {"weights": "random"} if t == "trackssm" else {}), 2.0)
         for t in ("iou", "botsort", "bytetrack", "ocsort", "trackssm")}
    assert r["iou"] == {"confirm": 0, "grace": 0, "survive": 4, "gate": 0.3}   # 2.0 s at 2 Hz
    assert r["botsort"]["confirm"] == 1 and r["botsort"]["survive"] == 4
    assert r["ocsort"] == {"confirm": 1, "grace": 1, "survive": 4, "gate": 0.3}
    assert r["trackssm"]["survive"] == 4
    r2 = zero_point.init_rules("ocsort", resolve_params("ocsort", {"min_hits": 3}), 2.0)
    assert r2["confirm"] == 3 and r2["grace"] == 3


def test_detector_cache_is_placed_with_the_same_hand_values(tmp_path):
    """The --detector path: a detection cache directory, measured against a crafted split."""
    from detbench.data.mot import SeqInfo, write_mot, write_seqinfo
    from detbench.detect.cache import pack_sequence, write_cache
    from detbench.sensitivity.detectors import place, resolve_values
    from detbench.sensitivity.run import load_split

    seq = "s1_CAM_FRONT"
    write_mot(tmp_path / "seqs" / seq / "gt" / "gt.txt", _gt())
    write_seqinfo(tmp_path / "seqs" / seq / "seqinfo.ini", SeqInfo(seq, 2.0, 1600, 900, 2))
    dets = [d.astype(np.float32) for d in _dets()]
    write_cache(tmp_path / "cache", {"detector": "crafted"}, {seq: pack_sequence(dets, [1, 2], [0, 500000])})
    placed = place(resolve_values([str(tmp_path / "cache")], None), load_split(tmp_path / "seqs"))
    m = placed[0]["measured"]
    assert placed[0]["name"] == "cache"
    assert (m["recall"], m["fp"], m["confusion"]) == pytest.approx((0.75, 1.0, 1 / 3))
    assert m["score"] == pytest.approx(5 / 6)
    assert m["jitter"] == pytest.approx(np.sqrt((0.05 ** 2 + 0.1 ** 2 + np.log(1.2) ** 2 + 0.02 ** 2) / 12), rel=1e-5)


def test_sensitivity_names_trackssm_weights_as_track_does(tmp_path):
    """Unset weights (absent, ``none``, empty) are the latest model under runs/motion/, keyed by
    its model.pth's sha256; with no model, an untrained seeded model with a note saying so; a
    named folder that does not exist is an error, not a silent fallback."""
    import hashlib

    from detbench.core.errors import InputError
    from detbench.motion.weights import save_model
    from detbench.sensitivity.run import resolve_trackssm_weights
    from trackers.trackssm.model import ModelConfig, build_model

    for unset in ({}, {"weights": "none"}, {"weights": ""}):
        opts, extra, note = resolve_trackssm_weights(unset)
        assert opts["weights"] == "random" and extra == {"weights": "random"} and "weights=random" in note
    with pytest.raises(InputError):
        resolve_trackssm_weights({"weights": str(tmp_path / "nowhere")})
    d = save_model(tmp_path / "runs" / "motion" / "m", build_model(ModelConfig(d_model=8, n_enc_layers=1), seed=1),
                   {"frame_rate": 2.0})
    digest = hashlib.sha256((d / "model.pth").read_bytes()).hexdigest()
    for unset in ({}, {"weights": "none"}):
        opts, extra, note = resolve_trackssm_weights(unset)
        assert opts["weights"] == str(d) and extra == {"weights": digest} and digest[:12] in note
