"""IDSW attribution: find every identity switch and name its likely cause.

Switches come from motmetrics' CLEAR matching (IoU >= ``iou`` between ground truth and results,
distances computed here), per class when ``per_class`` so a switch is always within one class.
Each switch at frame f of ground-truth object o (matched to track h, previously to track h') gets
the first cause whose rule holds, in this order:

1. ``class_change``  - h and h' carry different classes (only possible class-agnostically).
2. ``gap``           - o was unmatched for k >= 1 frames right before f (missed, then re-found).
3. ``crossing``      - o's box overlaps another ground-truth box with IoU >= ``overlap`` at f or f-1.
4. ``low_score``     - the result box that took o at f has score < ``low_score``.
5. ``border``        - o's box is within ``border_px`` pixels of the image border at f.
6. ``other``         - none of the above.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np

from detbench.data import mot
from detbench.types import iou_matrix

CAUSES = ("class_change", "gap", "crossing", "low_score", "border", "other")


@dataclass(frozen=True)
class AttributionRules:
    iou: float = 0.5
    overlap: float = 0.3
    low_score: float = 0.5
    border_px: float = 10.0

    def describe(self) -> list[str]:
        return [
            "class_change: the new and previous track of the object have different classes",
            "gap: the object was unmatched for >= 1 frame just before the switch",
            f"crossing: the object's box overlaps another object's box (IoU >= {self.overlap:g}) at the switch or the frame before",
            f"low_score: the result box that took the object has score < {self.low_score:g}",
            f"border: the object's box is within {self.border_px:g} px of the image border",
            "other: none of the above (first matching rule wins, in this order)",
        ]


@dataclass(frozen=True)
class Switch:
    frame: int
    gt_id: int
    track_id: int
    prev_track_id: int
    cause: str
    gap_frames: int


def _match_events(gt: np.ndarray, res: np.ndarray, num_frames: int, iou: float):
    """Yield (frame, gt_id, track_id, type) for MATCH/SWITCH events, via motmetrics."""
    import motmetrics as mm

    acc = mm.MOTAccumulator(auto_id=False)
    gt_frames = mot.split_by_frame(gt, num_frames)
    res_frames = mot.split_by_frame(res, num_frames)
    for f in range(num_frames):
        g, r = gt_frames[f], res_frames[f]
        dist = 1.0 - iou_matrix(mot.mot_to_boxes(g), mot.mot_to_boxes(r))
        dist[dist > 1.0 - iou + 1e-12] = np.nan
        acc.update(g[:, mot.ID].astype(int).tolist(), r[:, mot.ID].astype(int).tolist(), dist, frameid=f + 1)
    ev = acc.mot_events
    ev = ev[ev.Type.isin(["MATCH", "SWITCH"])]
    for (frame, _), row in ev.iterrows():
        yield int(frame), int(row.OId), int(row.HId), row.Type


def find_switches(gt: np.ndarray, res: np.ndarray, num_frames: int, width: int = 1600, height: int = 900,
                  per_class: bool = True, rules: AttributionRules = AttributionRules()) -> list[Switch]:
    """Every identity switch of ``res`` against ``gt`` (MOT tables (K, 9)), with its cause."""
    gt = np.asarray(gt, dtype=np.float64).reshape(-1, mot.MOT_COLS)
    res = np.asarray(res, dtype=np.float64).reshape(-1, mot.MOT_COLS)
    classes = sorted(set(gt[:, mot.CLASS].astype(int))) if per_class else [None]
    switches: list[Switch] = []
    for c in classes:
        g = gt if c is None else gt[gt[:, mot.CLASS] == c]
        r = res if c is None else res[res[:, mot.CLASS] == c]
        switches += _classify(g, r, gt, res, num_frames, width, height, rules)
    return sorted(switches, key=lambda s: (s.frame, s.gt_id))


def _classify(g, r, all_gt, all_res, num_frames, width, height, rules) -> list[Switch]:
    last_match: dict[int, tuple[int, int]] = {}  # gt id -> (frame, track id)
    out = []
    for frame, oid, hid, kind in _match_events(g, r, num_frames, rules.iou):
        if kind == "SWITCH":
            prev_frame, prev_hid = last_match[oid]
            cause = _cause(frame, oid, hid, prev_hid, prev_frame, g, r, all_gt, all_res, width, height, rules)
            out.append(Switch(frame, oid, hid, prev_hid, cause, frame - prev_frame - 1))
        last_match[oid] = (frame, hid)
    return out


def _row(table, frame, tid):
    hit = table[(table[:, mot.FRAME] == frame) & (table[:, mot.ID] == tid)]
    return hit[0] if len(hit) else None


def _cause(frame, oid, hid, prev_hid, prev_frame, g, r, all_gt, all_res, width, height, rules) -> str:
    new_rows = all_res[all_res[:, mot.ID] == hid]
    old_rows = all_res[all_res[:, mot.ID] == prev_hid]
    if len(new_rows) and len(old_rows) and new_rows[0, mot.CLASS] != old_rows[0, mot.CLASS]:
        return "class_change"
    if frame - prev_frame > 1:
        return "gap"
    for f in (frame, frame - 1):
        me = _row(g, f, oid)
        others = all_gt[(all_gt[:, mot.FRAME] == f) & (all_gt[:, mot.ID] != oid)]
        if me is not None and len(others):
            if iou_matrix(mot.mot_to_boxes(me[None]), mot.mot_to_boxes(others)).max() >= rules.overlap:
                return "crossing"
    taken = _row(r, frame, hid)
    if taken is not None and taken[mot.SCORE] < rules.low_score:
        return "low_score"
    me = _row(g, frame, oid)
    if me is not None:
        x1, y1, x2, y2 = mot.mot_to_boxes(me[None])[0]
        b = rules.border_px
        if x1 <= b or y1 <= b or x2 >= width - b or y2 >= height - b:
            return "border"
    return "other"


def count_causes(switches: list[Switch]) -> dict[str, int]:
    counts = Counter(s.cause for s in switches)
    return {c: int(counts.get(c, 0)) for c in CAUSES}
