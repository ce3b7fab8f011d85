"""IDSW attribution: find every identity switch and name its likely cause.

Switches are exactly TrackEval's IDSW (:mod:`detbench.evaluate.clear_matching`), so the causes add
up to the IDSW column. The causes and their order: docs/tuning-and-comparison.md, "What caused
each identity switch".
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np

from detbench.core.classes import CLASSES
from detbench.core.errors import DetbenchError
from detbench.core.types import iou_matrix
from detbench.data import mot
from detbench.evaluate.clear_matching import clear_switches
from detbench.evaluate.matching import SequenceMatch, match_sequence

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
    gt_class: int       # the object's class id (1..7)


def find_switches(gt: np.ndarray, res: np.ndarray, num_frames: int, width: int = 1600, height: int = 900,
                  per_class: bool = True, rules: AttributionRules = AttributionRules()) -> list[Switch]:
    """Every identity switch of ``res`` against ``gt`` (MOT tables (K, 9)), with its cause."""
    gt = np.asarray(gt, dtype=np.float64).reshape(-1, mot.MOT_COLS)
    res = np.asarray(res, dtype=np.float64).reshape(-1, mot.MOT_COLS)
    return sequence_switches(match_sequence("", gt, res, num_frames, per_class=per_class), width, height, rules)


def sequence_switches(seq: SequenceMatch, width: int = 1600, height: int = 900,
                      rules: AttributionRules = AttributionRules()) -> list[Switch]:
    """Every switch TrackEval's CLEAR counts in ``seq`` (each of its groups scored on its own, as
    eval scores them), with its cause, sorted by frame and object."""
    switches: list[Switch] = []
    for group in seq.groups():
        g, r = seq.gt[seq.gt_group == group], seq.res[seq.res_group == group]
        for sw in clear_switches(seq, group, rules.iou):
            cause = _cause(sw.frame, sw.gt_id, sw.track_id, sw.prev_track_id, sw.prev_frame, g, r,
                           seq.gt, seq.res, width, height, rules)
            switches.append(Switch(sw.frame, sw.gt_id, sw.track_id, sw.prev_track_id, cause,
                                   sw.frame - sw.prev_frame - 1, int(seq.gt[sw.gt_row, mot.CLASS])))
    return sorted(switches, key=lambda s: (s.frame, s.gt_id))


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


class AttributionMismatch(DetbenchError):
    """The switch causes do not add up to TrackEval's IDSW column: the tables would contradict
    each other, so the comparison stops."""

    exit_code = 3


def switches_per_class(switches: list[Switch]) -> dict[str, int]:
    """Switches per class name (every class of :data:`CLASSES`, 0 where none)."""
    counts = Counter(CLASSES[s.gt_class - 1] for s in switches)
    return {c: int(counts.get(c, 0)) for c in CLASSES}


def check_totals(label: str, switches: list[Switch], overall: dict, per_class: dict) -> None:
    """Raise :class:`AttributionMismatch` unless the switches add up to the IDSW of ``overall``
    and of every class of ``per_class`` (eval's summaries; a class absent there has 0)."""
    ours = switches_per_class(switches)
    for cls in CLASSES:
        theirs = int(per_class.get(cls, {}).get("IDSW", 0))
        if ours[cls] != theirs:
            raise AttributionMismatch(f"{label}: the IDSW causes add up to {ours[cls]} switches for {cls}, "
                                      f"the IDSW column says {theirs}")
    if len(switches) != int(overall["IDSW"]):
        raise AttributionMismatch(f"{label}: the IDSW causes add up to {len(switches)} switches, "
                                  f"the IDSW column says {int(overall['IDSW'])}")
