"""detbench's MOT files as one TrackEval dataset class, and TrackEval's per-sequence loop over it.

:class:`DetbenchMOT` subclasses TrackEval's ``_BaseDataset``: ``get_raw_seq_data`` reads and
validates a sequence's files (:mod:`detbench.evaluate.loading`), removes the results the ground
truth's ignore rows take (:mod:`detbench.evaluate.ignore`) and computes every same-frame IoU once
(:mod:`detbench.evaluate.matching`); ``get_preprocessed_seq_data`` cuts out one class (per-class
scoring) or the single agnostic group as TrackEval's data dict. :func:`eval_sequence` is
TrackEval's own ``eval_sequence`` loop with the classes a sequence holds; why detbench drives it
rather than ``trackeval.Evaluator``: docs/evaluation.md, "Evaluation in TrackEval's shape".
"""
from __future__ import annotations

import numpy as np
from trackeval.datasets._base_dataset import _BaseDataset

from detbench.core.classes import CLASSES
from detbench.core.types import iou_matrix
from detbench.evaluate.loading import SequenceFiles, load_scored
from detbench.evaluate.matching import AGNOSTIC, SequenceMatch, match_sequence, trackeval_data

TRACKER = "results"  # the one "tracker" of a dataset: the results folder it was given


def load_matched(files: SequenceFiles, per_class: bool) -> SequenceMatch:
    """One sequence exactly as it is scored: loaded, validated and matched. Whatever reports a
    figure beside TrackEval's (compare's IDSW attribution) reads sequences through this function,
    so it sees the very boxes TrackEval scores."""
    gt, res, length, per_class = load_scored(files, per_class=per_class)  # class-less results: agnostic
    return match_sequence(files.name, gt, res, length, per_class=per_class)


class DetbenchMOT(_BaseDataset):
    """TrackEval dataset over paired ``<gt>/<seq>/gt/gt.txt`` and ``<results>/<seq>.txt`` files.

    Classes are group ids (:mod:`detbench.evaluate.matching`): 1..7 per class, or ``AGNOSTIC``;
    ``None`` is a sequence with no box at all, scored once as an empty group. A sequence is scored
    only for the groups it holds (:meth:`seq_classes`), and a class-less results file is scored
    class-agnostically even in per-class mode (:func:`detbench.evaluate.loading.load_scored`)."""

    def __init__(self, sequences: list[SequenceFiles], per_class: bool = True):
        super().__init__()
        self.files = {f.name: f for f in sequences}
        self.per_class = per_class
        self.tracker_list = [TRACKER]
        self.seq_list = sorted(self.files)
        self.class_list = list(range(1, len(CLASSES) + 1)) if per_class else [AGNOSTIC]
        self.should_classes_combine = per_class

    @staticmethod
    def get_default_dataset_config() -> dict:
        return {}  # everything comes with the constructor

    def get_raw_seq_data(self, tracker: str, seq: str) -> SequenceMatch:
        """The sequence loaded, its ignore rows applied, every same-frame IoU computed (all
        classes at once, as TrackEval computes similarities before preprocessing)."""
        return load_matched(self.files[seq], self.per_class)

    def _load_raw_file(self, tracker, seq, is_gt):
        raise NotImplementedError("DetbenchMOT loads both files together in get_raw_seq_data")

    def _calculate_similarities(self, gt_dets_t, tracker_dets_t) -> np.ndarray:
        """Box IoU of one timestep (``[x1, y1, x2, y2]`` rows); :func:`match_sequence` computes the
        same values for a whole sequence at once."""
        return iou_matrix(gt_dets_t, tracker_dets_t)

    @staticmethod
    def seq_classes(raw: SequenceMatch) -> list[int | None]:
        """The groups a sequence is scored for: those with a GT or result box (``[None]``: none)."""
        return raw.groups() or [None]

    def get_preprocessed_seq_data(self, raw_data: SequenceMatch, cls: int | None) -> dict:
        """TrackEval's data dict of one group (:func:`detbench.evaluate.matching.trackeval_data`)."""
        return trackeval_data(raw_data, -1 if cls is None else cls)


def eval_sequence(dataset: DetbenchMOT, seq: str, metrics: dict, checks: tuple = ()) -> dict:
    """TrackEval's ``eval_sequence`` over the groups ``seq`` holds -> ``{group: {metric name:
    result}}``. ``checks``: sequence-level metric plug-ins (the motmetrics cross-check) run on
    ``{"sequence": raw data, "results": the groups' results}`` once the groups are scored."""
    raw = dataset.get_raw_seq_data(TRACKER, seq)
    out = {}
    for cls in dataset.seq_classes(raw):
        data = dataset.get_preprocessed_seq_data(raw, cls)
        out[cls] = {name: metric.eval_sequence(data) for name, metric in metrics.items()}
    for check in checks:
        check.eval_sequence({"sequence": raw, "results": list(out.values())})
    return out
