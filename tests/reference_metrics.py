"""The straightforward evaluation path, kept (with the tests) as the yardstick for the optimised one.

Per-frame IoU with :func:`detbench.core.types.iou_matrix`, one TrackEval data dict per group scored
by TrackEval's own HOTA / CLEAR / Identity classes, and motmetrics' own ``metrics.compute`` on the accumulator (pandas all the way). It is what
``evaluate_folders`` did before it was optimised; tests and ``benchmarks/bench_eval.py`` compare
the optimised path with it (the JSON must be identical, number for number).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from detbench.core.classes import CLASSES
from detbench.core.types import iou_matrix
from detbench.data.mot import ID, mot_to_boxes
from detbench.evaluate import combine as comb
from detbench.evaluate import trackeval_adapter as te
from detbench.evaluate.loading import load_sequence, pair_sequences
from detbench.evaluate.matching import FrameMatch, SequenceMatch, _rows_per_frame, groups
from detbench.evaluate.motmetrics_check import accumulate, event_arrays

MM_METRICS = ["num_matches", "num_switches", "num_false_positives", "num_misses", "idtp", "idfp", "idfn"]


def match_sequence_reference(name: str, gt: np.ndarray, res: np.ndarray, num_frames: int,
                             per_class: bool = True) -> SequenceMatch:
    """One :func:`iou_matrix` call per frame."""
    gt_boxes, res_boxes = mot_to_boxes(gt), mot_to_boxes(res)
    frames = [FrameMatch(g, r, iou_matrix(gt_boxes[g], res_boxes[r]))
              for g, r in zip(_rows_per_frame(gt, num_frames), _rows_per_frame(res, num_frames))]
    return SequenceMatch(name, num_frames, gt, res, *groups(gt, res, per_class), frames)


def trackeval_data_reference(seq: SequenceMatch, group: int) -> dict:
    """TrackEval's data dict for one group, built with boolean masks frame by frame."""
    g_sel, r_sel = seq.gt_group == group, seq.res_group == group
    g_ids = np.full(len(seq.gt), -1, dtype=np.int64)
    r_ids = np.full(len(seq.res), -1, dtype=np.int64)
    ug, g_ids[g_sel] = np.unique(seq.gt[g_sel, ID], return_inverse=True)
    ur, r_ids[r_sel] = np.unique(seq.res[r_sel, ID], return_inverse=True)
    gt_ids, tr_ids, sims = [], [], []
    for fm in seq.frames:
        gm, rm = g_sel[fm.gt_rows], r_sel[fm.res_rows]
        gt_ids.append(g_ids[fm.gt_rows[gm]])
        tr_ids.append(r_ids[fm.res_rows[rm]])
        sims.append(fm.iou[np.ix_(gm, rm)])
    return {"seq": seq.name, "cls": group, "num_timesteps": seq.num_frames,
            "num_gt_dets": int(g_sel.sum()), "num_tracker_dets": int(r_sel.sum()),
            "num_gt_ids": len(ug), "num_tracker_ids": len(ur),
            "gt_ids": gt_ids, "tracker_ids": tr_ids, "similarity_scores": sims}


def motmetrics_counts_reference(seq: SequenceMatch, iou: float = 0.5) -> dict:
    """motmetrics' counts through ``mm.metrics.create().compute`` (pandas), as before."""
    import motmetrics as mm

    acc = accumulate(seq, iou)  # the same accumulator; what differs is reading its counts
    s = mm.metrics.create().compute(acc, metrics=MM_METRICS, return_dataframe=False)
    s = {k: int(s[k]) for k in MM_METRICS}
    return {"TP": s["num_matches"] + s["num_switches"], "FP": s["num_false_positives"],
            "FN": s["num_misses"], "IDSW": s["num_switches"],
            "IDTP": s["idtp"], "IDFP": s["idfp"], "IDFN": s["idfn"],
            "GT": s["num_matches"] + s["num_switches"] + s["num_misses"],
            "RES": s["num_matches"] + s["num_switches"] + s["num_false_positives"], "events": event_arrays(acc)}


def evaluate_folders_reference(gt_dir: str | Path, results_dir: str | Path,
                               classes: str = "per-class", iou: float = 0.5, check: bool = True) -> dict:
    """``evaluate_folders`` done the straightforward way (serial, TrackEval on every group,
    motmetrics' ``compute`` for the cross-check)."""
    from detbench.evaluate.motmetrics_check import check_sequence

    per_class = classes == "per-class"
    scored = {}
    for files in pair_sequences(gt_dir, results_dir):
        gt, res, length = load_sequence(files, per_class=per_class)
        seq = match_sequence_reference(files.name, gt, res, length, per_class=per_class)
        groups = seq.groups() or [-1]
        scored[files.name] = {(g if g != -1 else None):
                              te.eval_sequence(trackeval_data_reference(seq, g), iou, trackeval_hota=True)
                              for g in groups}
        if check:
            check_sequence(seq, list(scored[files.name].values()), iou,
                           theirs=motmetrics_counts_reference(seq, iou))
    overall, per_group, per_sequence = comb.combine(dict(sorted(scored.items())), float(iou))
    return {"overall": comb.summarize(overall),
            "per_class": ({CLASSES[g - 1]: comb.summarize(r) for g, r in per_group.items()}
                          if per_class else {}),
            "per_sequence": {s: comb.summarize(r) for s, r in per_sequence.items()}}
