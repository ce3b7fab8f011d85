"""The TrackEval dataset class and the motmetrics plug-in (``detbench.evaluate.dataset``,
``motmetrics_check.MotmetricsCheck``): TrackEval's own ``Evaluator``, run on ``DetbenchMOT``
with TrackEval's own metric classes, gives exactly the numbers ``evaluate_folders`` reports."""
from __future__ import annotations

import numpy as np
import pytest
import trackeval
from trackeval.datasets._base_dataset import _BaseDataset
from trackeval.metrics import CLEAR, HOTA, Identity
from trackeval.metrics._base_metric import _BaseMetric

from detbench.core.classes import CLASSES
from detbench.data.mot import CLASS, ID, X, Y, read_mot, write_mot
from detbench.evaluate import combine as comb
from detbench.evaluate import trackeval_adapter as te
from detbench.evaluate.api import evaluate_folders
from detbench.evaluate.dataset import TRACKER, DetbenchMOT, eval_sequence
from detbench.evaluate.loading import pair_sequences
from detbench.evaluate.motmetrics_check import EvaluationMismatch, MotmetricsCheck

QUIET = {"USE_PARALLEL": False, "PRINT_RESULTS": False, "PRINT_CONFIG": False, "TIME_PROGRESS": False,
         "OUTPUT_SUMMARY": False, "OUTPUT_DETAILED": False, "PLOT_CURVES": False, "LOG_ON_ERROR": None}


def degraded_results(fixture, out, seed=0):
    """The fixture's ground truth, seeded: 10 % of boxes dropped, pixel jitter, some ids swapped
    and some classes changed (so every metric and every class sees errors)."""
    rng = np.random.default_rng(seed)
    out.mkdir()
    for seq in sorted((fixture / "sequences").iterdir()):
        gt = read_mot(seq / "gt" / "gt.txt", kind="gt")
        res = gt[rng.random(len(gt)) > 0.1].copy()
        res[:, [X, Y]] += rng.normal(0, 4, size=(len(res), 2))
        swap = rng.random(len(res)) < 0.03
        res[swap, ID] += 10_000
        relabel = rng.random(len(res)) < 0.05
        res[relabel, CLASS] = rng.integers(1, len(CLASSES) + 1, size=int(relabel.sum()))
        write_mot(out / f"{seq.name}.txt", res)
    return out


def trackeval_evaluator(gt_dir, res_dir, per_class):
    """TrackEval's Evaluator (its loop and combining, quiet) on DetbenchMOT with TrackEval's own
    HOTA, CLEAR and Identity -> its COMBINED_SEQ results."""
    dataset = DetbenchMOT(pair_sequences(gt_dir, res_dir), per_class)
    dataset.output_fol, dataset.output_sub_fol = "", ""
    metrics = [HOTA(), CLEAR({"THRESHOLD": 0.5, "PRINT_CONFIG": False}),
               Identity({"THRESHOLD": 0.5, "PRINT_CONFIG": False})]
    res, msg = trackeval.Evaluator(QUIET).evaluate([dataset], metrics)
    assert msg["DetbenchMOT"][TRACKER] == "Success"
    return res["DetbenchMOT"][TRACKER]["COMBINED_SEQ"]


@pytest.mark.parametrize("classes", ["per-class", "agnostic"])
def test_trackeval_evaluator_on_the_dataset_class_gives_evaluate_folders_numbers(real_fixture, tmp_path, classes):
    res_dir = degraded_results(real_fixture, tmp_path / "res")
    gt_dir = real_fixture / "sequences"
    ours = evaluate_folders(gt_dir, res_dir, classes=classes)
    combined = trackeval_evaluator(gt_dir, res_dir, per_class=classes == "per-class")
    if classes == "per-class":
        assert comb.summarize(combined["cls_comb_det_av"]) == ours["overall"]
        present = {CLASSES[c - 1]: comb.summarize(combined[c]) for c in range(1, len(CLASSES) + 1)
                   if combined[c]["Count"]["GT_Dets"] or combined[c]["Count"]["Dets"]}
        assert present == ours["per_class"] and len(present) > 1
    else:
        assert comb.summarize(combined[0]) == ours["overall"]
    assert 0 < ours["overall"]["IDSW"] and ours["overall"]["FP"] > 0 and ours["overall"]["HOTA"] < 0.95


def test_the_mirrored_loop_is_trackevals_eval_sequence(real_fixture, tmp_path):
    """``dataset.eval_sequence`` returns what TrackEval's own ``eval_sequence`` function returns
    for the classes the sequence holds."""
    res_dir = degraded_results(real_fixture, tmp_path / "res", seed=1)
    dataset = DetbenchMOT(pair_sequences(real_fixture / "sequences", res_dir))
    metrics = te.metrics(0.5)
    seq = dataset.seq_list[0]
    ours = eval_sequence(dataset, seq, metrics)
    theirs = trackeval.eval.eval_sequence(seq, dataset, TRACKER, list(ours), list(metrics.values()), list(metrics))
    assert len(ours) > 1
    for cls, by_metric in ours.items():
        for name, fields in by_metric.items():
            assert {k: np.asarray(v).tolist() for k, v in fields.items()} == \
                   {k: np.asarray(v).tolist() for k, v in theirs[cls][name].items()}


def test_motmetrics_plugin_is_a_trackeval_metric_that_sums_and_raises(real_fixture, tmp_path):
    res_dir = degraded_results(real_fixture, tmp_path / "res", seed=2)
    dataset = DetbenchMOT(pair_sequences(real_fixture / "sequences", res_dir))
    check = MotmetricsCheck(0.5)
    assert isinstance(check, _BaseMetric) and isinstance(dataset, _BaseDataset)
    counts = {}
    for seq in dataset.seq_list:
        scored = eval_sequence(dataset, seq, te.metrics(0.5))
        data = {"sequence": dataset.get_raw_seq_data(TRACKER, seq), "results": list(scored.values())}
        counts[seq] = check.eval_sequence(data)
        assert counts[seq]["IDSW"] == sum(r["CLEAR"]["IDSW"] for r in scored.values())
        assert counts[seq]["IDTP"] == sum(r["Identity"]["IDTP"] for r in scored.values())
    total = check.combine_sequences(counts)
    assert total["TP"] == sum(c["TP"] for c in counts.values()) > 0
    overall = evaluate_folders(real_fixture / "sequences", res_dir, check=True)["overall"]
    assert (total["TP"], total["FP"], total["FN"], total["IDSW"]) == \
           (overall["TP"], overall["FP"], overall["FN"], overall["IDSW"])
    seq = dataset.seq_list[0]
    scored = eval_sequence(dataset, seq, te.metrics(0.5))
    first = next(iter(scored.values()))
    first["CLEAR"] = dict(first["CLEAR"], CLR_FP=first["CLEAR"]["CLR_FP"] + 1)  # a count TrackEval never gave
    with pytest.raises(EvaluationMismatch, match=seq):
        check.eval_sequence({"sequence": dataset.get_raw_seq_data(TRACKER, seq), "results": list(scored.values())})
