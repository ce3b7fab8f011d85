"""TrackEval's CLEAR matching, timestep by timestep: the pairs it matches and the switches it counts.

:func:`replay` re-runs ``CLEAR.eval_sequence``'s per-timestep rule with the same arithmetic, so the
IDSW attribution's switches are TrackEval's by construction. The rule: docs/evaluation.md,
"TrackEval's CLEAR matching, replayed".
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from detbench.data.mot import FRAME, ID
from detbench.evaluate.matching import SequenceMatch, group_rows, trackeval_data

_EPS = np.finfo("float").eps


@dataclass(frozen=True)
class TimestepMatch:
    """One scored timestep: matched rows / columns of its similarity matrix, and per match the
    track the object was last matched to (-1: never before) and whether that is a switch."""

    t: int
    rows: np.ndarray
    cols: np.ndarray
    prev_track: np.ndarray
    is_idsw: np.ndarray


def replay(data: dict, threshold: float = 0.5) -> list[TimestepMatch]:
    """TrackEval CLEAR's matches of every timestep of ``data`` that has GT and result boxes."""
    from scipy.optimize import linear_sum_assignment

    out: list[TimestepMatch] = []
    if data["num_tracker_dets"] == 0 or data["num_gt_dets"] == 0:
        return out  # TrackEval returns before matching
    prev_tracker_id = np.nan * np.zeros(data["num_gt_ids"])            # last match, for IDSW
    prev_timestep_tracker_id = np.nan * np.zeros(data["num_gt_ids"])   # previous timestep, for matching
    for t, (gt_ids_t, tracker_ids_t) in enumerate(zip(data["gt_ids"], data["tracker_ids"])):
        if len(gt_ids_t) == 0 or len(tracker_ids_t) == 0:
            continue
        similarity = data["similarity_scores"][t]
        score_mat = tracker_ids_t[np.newaxis, :] == prev_timestep_tracker_id[gt_ids_t[:, np.newaxis]]
        score_mat = 1000 * score_mat + similarity
        score_mat[similarity < threshold - _EPS] = 0
        rows, cols = linear_sum_assignment(-score_mat)
        keep = score_mat[rows, cols] > 0 + _EPS
        rows, cols = rows[keep], cols[keep]
        matched_gt, matched_tr = gt_ids_t[rows], tracker_ids_t[cols]
        prev = prev_tracker_id[matched_gt]
        is_idsw = np.logical_not(np.isnan(prev)) & np.not_equal(matched_tr, prev)
        out.append(TimestepMatch(t, rows, cols, np.where(np.isnan(prev), -1, prev).astype(np.int64), is_idsw))
        prev_tracker_id[matched_gt] = matched_tr
        prev_timestep_tracker_id[:] = np.nan
        prev_timestep_tracker_id[matched_gt] = matched_tr
    return out


@dataclass(frozen=True)
class ClearSwitch:
    """A switch TrackEval's CLEAR counts: GT object ``gt_id`` matched at ``frame`` (1-based) by
    ``track_id``, last matched at ``prev_frame`` by ``prev_track_id`` (ids as in the MOT files);
    ``gt_row`` / ``res_row`` index the sequence's tables."""

    frame: int
    gt_id: int
    track_id: int
    prev_track_id: int
    prev_frame: int
    gt_row: int
    res_row: int


def clear_switches(seq: SequenceMatch, group: int, iou: float = 0.5) -> list[ClearSwitch]:
    """Every identity switch TrackEval's CLEAR counts for ``group`` of ``seq`` (at threshold
    ``iou``), in frame order."""
    rows_of = group_rows(seq, group)
    out: list[ClearSwitch] = []
    last: dict[int, int] = {}   # GT id -> result row of its last match
    for m in replay(trackeval_data(seq, group), iou):
        g_rows, r_rows = rows_of[m.t]
        for i, j, sw in zip(g_rows[m.rows].tolist(), r_rows[m.cols].tolist(), m.is_idsw.tolist()):
            gid = int(seq.gt[i, ID])
            if sw:
                p = last[gid]
                out.append(ClearSwitch(int(seq.gt[i, FRAME]), gid, int(seq.res[j, ID]), int(seq.res[p, ID]),
                                       int(seq.res[p, FRAME]), i, j))
            last[gid] = j
    return out
