"""Why a tracker falls short of HOTA 1 / IDSW 0 on perfect detections: counts from the GT alone.

:func:`init_rules` predicts the misses of track initialisation and the switches of gaps longer than
the lost-track buffer from the ground truth and each tracker's parameters. The rules:
docs/sensitivity.md, "The zero-degradation point".
"""
from __future__ import annotations

import numpy as np

from detbench.core.types import iou_matrix
from detbench.sensitivity.degrade import FRAME, ID, detectable
from trackers.boxmot_common import frames_for_seconds

REPORTS_DETECTION = {"iou", "trackssm", "trackssm-gated"}  # output boxes are the matched detection's


def init_rules(tracker: str, params: dict, frame_rate: float) -> dict:
    """{"confirm", "grace", "survive"} (frames) for a registered tracker's resolved params."""

    if tracker == "iou":
        return {"confirm": 0, "grace": 0, "survive": frames_for_seconds(params["max_age_s"], frame_rate),
                "gate": float(params["iou_threshold"])}
    if tracker == "botsort":
        return {"confirm": 1, "grace": 1, "survive": max(1, frames_for_seconds(params["track_buffer_s"], frame_rate)),
                "gate": 1.0 - float(params["unconfirmed_match_thresh"])}
    if tracker == "bytetrack":  # boxmot's unconfirmed stage: cost threshold 0.7 (fixed in boxmot)
        return {"confirm": 1, "grace": 1, "survive": max(1, frames_for_seconds(params["track_buffer_s"], frame_rate)),
                "gate": 0.3}
    if tracker == "ocsort":
        return {"confirm": int(params["min_hits"]), "grace": int(params["min_hits"]),
                "survive": frames_for_seconds(params["max_age_s"], frame_rate), "gate": float(params["iou_threshold"])}
    if tracker in ("trackssm", "trackssm-gated"):
        return {"confirm": 1, "grace": 1, "survive": max(1, int(round(params["track_buffer_s"] * frame_rate))),
                "gate": float(params["unconfirmed_iou"])}
    return {"confirm": None, "grace": None, "survive": None, "gate": None}


def _iou_rows(a: np.ndarray, b: np.ndarray) -> float:
    from detbench.sensitivity.degrade import H, W, X, Y

    box = lambda r: np.array([[r[X], r[Y], r[X] + r[W], r[Y] + r[H]]])  # noqa: E731
    return float(iou_matrix(box(a), box(b))[0, 0])


def predict(gt_table, rules: dict) -> dict:
    """GT-derived predictions of one sequence under ``rules``.

    ``segments``: GT track pieces separated by gaps longer than ``survive``; ``gap_idsw``: the
    gaps; ``init_fn``: the first ``confirm`` boxes of each segment starting after the grace
    frames; ``weak_steps``: consecutive boxes of a segment overlapping by IoU < ``gate`` (the
    IoU a track needs before its motion is known); ``init_fn_2hz``: ``init_fn`` when a new
    track is confirmed only by a next box overlapping its last one by IoU >= ``gate`` (each
    failed step restarts the wait: how 2 Hz motion delays confirmation); ``tiny``: GT boxes under
    1 px wide or high, which no detection represents (the generator drops boxes < 1 px).
    """
    gt = detectable(gt_table)
    keys = ("segments", "init_fn", "gap_idsw", "steps", "weak_steps", "init_fn_2hz", "tiny")
    out = dict.fromkeys(keys, 0)
    if rules["confirm"] is None:
        return dict.fromkeys(keys)
    from detbench.sensitivity.degrade import H, W

    out["tiny"] = int(((gt[:, W] < 1) | (gt[:, H] < 1)).sum())
    for tid in np.unique(gt[:, ID]):
        rows = gt[gt[:, ID] == tid]
        rows = rows[np.argsort(rows[:, FRAME])]
        frames = rows[:, FRAME].astype(int)
        breaks = np.flatnonzero(np.diff(frames) - 1 > rules["survive"]) + 1
        starts, ends = np.r_[0, breaks], np.r_[breaks, len(frames)]
        out["segments"] += len(starts)
        out["gap_idsw"] += len(breaks)
        for s, e in zip(starts, ends):
            weak = [_iou_rows(rows[i - 1], rows[i]) < rules["gate"] for i in range(s + 1, e)]
            out["steps"] += len(weak)
            out["weak_steps"] += sum(weak)
            if frames[s] <= rules["grace"] or rules["confirm"] == 0:
                continue
            out["init_fn"] += min(rules["confirm"], e - s)
            need, i = rules["confirm"], s  # unconfirmed from box s; each weak step restarts
            missed = 1
            while i + 1 < e and need > 0:
                i += 1
                if weak[i - s - 1]:
                    need, missed = rules["confirm"], missed + 1
                else:
                    need -= 1
                    if need > 0:
                        missed += 1
            out["init_fn_2hz"] += missed
    return out


def explain(tracker: str, measured: dict, predicted: dict, rules: dict, n_gt: int) -> str:
    """One paragraph: the measured shortfall and how much of it the rules account for."""
    fn, idsw = measured["FN"], measured["IDSW"]
    parts = [f"HOTA {100 * measured['HOTA']:.1f} (DetA {100 * measured['DetA']:.1f}, AssA "
             f"{100 * measured['AssA']:.1f}, LocA {100 * measured['LocA']:.1f}), IDSW {idsw:g}, FN {fn:g}, "
             f"FP {measured['FP']:g} of {n_gt} GT boxes."]
    if predicted["init_fn"] is None:   # e.g. a tracker that moves its tracks with the camera before matching
        return " ".join(parts + ["No initialisation rule is modelled for this tracker (the image-IoU rule "
                                 "below the other trackers does not describe it)."])
    weak = (f"{predicted['weak_steps']} of {predicted['steps']} consecutive-keyframe steps of the GT "
            f"tracks overlap by IoU < {rules['gate']:g}")
    tiny = predicted.get("tiny") or 0
    if tiny:
        parts.append(f"{tiny} GT boxes are under 1 px wide or high: no detection box represents them "
                     f"(a floor of {tiny} FN for every tracker).")
    if rules["confirm"]:
        parts.append(f"Initialisation: a track is reported after {rules['confirm']} more matched frame(s) "
                     f"(except in the first {rules['grace']} frame(s)): {predicted['init_fn']} boxes of "
                     f"{predicted['segments']} GT track segments are missed on that rule alone. At 2 Hz, {weak}, "
                     f"the overlap an unconfirmed track (no velocity yet) needs; each such step restarts the "
                     f"wait, which predicts {predicted['init_fn_2hz']} missed boxes "
                     f"({100 * predicted['init_fn_2hz'] / max(fn, 1):.0f} % of the measured FN).")
        left = fn - tiny - predicted["init_fn_2hz"]
        if left > 0:
            parts.append(f"The other {left:g} are confirmed tracks lost and started again.")
        elif left < 0:
            parts.append(f"The rule over-predicts by {-left:g}: the tracker confirms some tracks across such "
                         "steps (its motion or second-stage association bridges them).")
    else:
        left = fn - tiny
        parts.append("No initialisation delay: every detection is reported at once"
                     + (f" (the other {left:g} FN: boxes taken by another track)" if left > 0 else "")
                     + f". {weak[0].upper() + weak[1:]}, the IoU this tracker needs to continue a track: each "
                     f"step breaks the track ({predicted['weak_steps']} predicted breaks).")
    parts.append(f"{predicted['gap_idsw']} ID switch(es) are unavoidable (GT tracks absent longer than "
                 f"the {rules['survive']}-frame lost-track buffer); the other {max(idsw - predicted['gap_idsw'], 0):g} "
                 f"are association failures at 2 Hz (motion between keyframes beyond the tracker's gate).")
    if measured["FP"]:
        parts.append(f"The {measured['FP']:g} FP are reported boxes (the tracker's filtered state) that no "
                     "longer overlap their GT box by IoU 0.5.")
    if measured["LocA"] < 0.9999:
        why = ("it reports the detection box itself, written as float32 at 0.01 px, so small boxes lose a "
               "little IoU" if tracker in REPORTS_DETECTION else "it reports its filtered (Kalman) state, not "
               "the exact detection")
        parts.append(f"LocA {100 * measured['LocA']:.2f} < 100: {why}.")
    return " ".join(parts)
