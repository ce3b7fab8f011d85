"""Combine TrackEval results over classes and sequences and reduce them to detbench's summary.

Counts are summed first and ratios derived once (TrackEval's combine rules, see
:mod:`detbench.evaluate.trackeval_adapter`); final numbers are never averaged.
The summary keys (the JSON contract of ``detbench eval``; declared in
:mod:`detbench.evaluate.metric_specs`)::

    HOTA DetA AssA LocA   TrackEval HOTA, each the mean over its 19 alpha thresholds
    MOTA MOTP IDSW Frag FP FN TP MT PT ML   TrackEval CLEAR (TP includes switched matches)
    IDF1 IDP IDR          TrackEval Identity

Ratios are fractions (MOTA can be negative: it is 1 - (FN + FP + IDSW) / GT); counts are ints.
"""
from __future__ import annotations

import numpy as np

from detbench.evaluate import metric_specs
from detbench.evaluate import trackeval_adapter as te


def summarize(res: dict) -> dict:
    """{metric: TrackEval result} -> the summary values (floats and ints), one per
    :data:`detbench.evaluate.metric_specs.SPECS` entry, in its order."""
    out = {}
    for s in metric_specs.SPECS.values():
        metric, field = s.source
        value = float(np.mean(res[metric][field]))   # HOTA's per-alpha arrays: their mean
        out[s.name] = int(round(value)) if s.is_count else value
    return out


def combine(per_seq_group: dict[str, dict[int, dict]], iou: float) -> tuple[dict, dict, dict]:
    """``{seq: {group: TrackEval results}}`` -> (overall, per_group, per_sequence) TrackEval results.

    per_sequence: a sequence's groups combined as TrackEval combines classes (counts summed).
    per_group: one group's sequences combined with ``combine_sequences``.
    overall: the per-group results combined over groups (``combine_classes_det_averaged``).
    """
    per_sequence = {seq: te.combine_classes(list(groups.values()), iou)
                    for seq, groups in per_seq_group.items()}
    by_group: dict[int, list[dict]] = {}
    for groups in per_seq_group.values():
        for g, r in groups.items():
            if g is not None:  # None: a sequence with no boxes at all (scored, but in no class)
                by_group.setdefault(g, []).append(r)
    per_group = {g: te.combine_sequences(rs, iou) for g, rs in sorted(by_group.items())}
    empty = [r for groups in per_seq_group.values() for g, r in groups.items() if g is None]
    overall = te.combine_classes(list(per_group.values()) + empty, iou)
    return overall, per_group, per_sequence
