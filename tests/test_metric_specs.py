"""The metric table (detbench.evaluate.metric_specs) is the one place a metric is declared: a dummy
metric added there only is summed, shown in the tables and bootstrapped (docs/contracts.md,
"Adding a metric")."""
from __future__ import annotations

import io

import numpy as np
import pytest
from test_eval_toy import TOYS, write_seq

from detbench.compare import pipeline, report
from detbench.compare.bootstrap import paired_bootstrap
from detbench.evaluate import metric_specs
from detbench.evaluate.api import evaluate_folders
from detbench.evaluate.table import render


def _recall(c: np.ndarray) -> np.ndarray:      # counts (TP, FN) summed over the drawn sequences
    return c[:, 0] / np.maximum(c[:, 0] + c[:, 1], 1)


@pytest.fixture
def with_recall(monkeypatch):
    spec = metric_specs.MetricSpec("Rcl", "ratio", ("CLEAR", "CLR_Re"), True, ("TP", "FN"), _recall)
    monkeypatch.setattr(metric_specs, "SPECS", {**metric_specs.SPECS, "Rcl": spec})
    monkeypatch.setattr(metric_specs, "TABLES", {k: (*v, "Rcl") if k != "compare_plot" else v
                                                 for k, v in metric_specs.TABLES.items()})


def test_every_spec_is_consistent():
    for s in metric_specs.SPECS.values():
        assert s.kind in ("count", "ratio")
        assert set(s.counts) <= set(metric_specs.SPECS) | set(metric_specs.hota_counts.FIELDS)
        assert (s.from_counts is None) == (not s.counts)
    for table in metric_specs.TABLES.values():
        assert set(table) <= set(metric_specs.SPECS)
    for name in metric_specs.shown("compare_change"):
        assert metric_specs.spec(name).from_counts is not None


def test_a_metric_added_to_the_spec_is_summed_tabled_and_bootstrapped(tmp_path, with_recall):
    for name in ("clean", "miss", "switch"):
        write_seq(tmp_path, name, *TOYS[name])
    m = evaluate_folders(tmp_path / "gt", tmp_path / "res", hota_counts=True)
    o = m["overall"]
    assert list(o)[-1] == "Rcl" and o["Rcl"] == pytest.approx(o["TP"] / (o["TP"] + o["FN"]))  # summed counts
    assert m["per_sequence"]["miss"]["Rcl"] == pytest.approx(7 / 8)

    from rich.console import Console
    console = Console(file=io.StringIO(), width=250)
    console.print(render(m))
    text = console.file.getvalue()
    assert "Rcl" in text and f"{100 * o['Rcl']:.2f}" in text

    counts = pipeline.per_sequence_counts(m)
    assert {"TP", "FN"} <= set(counts["miss"])
    r = paired_bootstrap(counts, counts, "Rcl", n_resamples=50, seed=0)
    assert r.value_a == pytest.approx(o["Rcl"]) and r.delta == 0 and r.higher_is_better

    pair = {"detector": "d", "tracker": "iou", "status": "ok", "overall": o, "per_class_idsw": {},
            "attribution": {}, "per_sequence": m["per_sequence"], "per_sequence_counts": counts}
    deltas = pipeline.bootstrap_deltas([pair, dict(pair, detector="e")], ["d", "e"], ["iou"], 50, 0)
    assert list(deltas[0]["metrics"]) == ["IDSW", "MOTA", "HOTA", "Rcl"]
    result = {"name": "x", "split": "val", "data": "d", "n_sequences": 3, "detectors": ["d", "e"],
              "trackers": ["iou"], "pairs": [pair], "deltas": deltas, "attribution_rules": [],
              "bootstrap": {"n_resamples": 50, "seed": 0}}
    md = report.markdown(result)
    assert "| AssA | FP | FN | MT | ML | Rcl |" in md and f"| {100 * o['Rcl']:.2f} |" in md
    assert "| iou | Rcl |" in md
    assert report.csv_text(result).splitlines()[0].split(",")[3:14][-1] == "Rcl_pct"   # a ratio: in %


def test_mota_with_no_ground_truth_is_trackevals_in_compare_and_sensitivity():
    """TrackEval (metrics/clear.py) combines summed counts as MOTA = (TP - FP - IDSW) / max(1, GT):
    with no GT, -(FP + IDSW). compare's bootstrap rule and sensitivity's bands, which recompute
    MOTA from summed counts, are that one rule (they gave 1.0 and 0)."""
    from trackeval.metrics import CLEAR

    from detbench.sensitivity import bands

    ids = [np.zeros(0, int), np.zeros(0, int)]
    data = {"num_timesteps": 2, "num_gt_dets": 0, "num_tracker_dets": 3, "num_gt_ids": 0, "num_tracker_ids": 2,
            "gt_ids": ids, "tracker_ids": [np.array([0, 1]), np.array([0])], "similarity_scores": [np.zeros((0, 2)),
                                                                                                  np.zeros((0, 1))]}
    clear = CLEAR({"PRINT_CONFIG": False})
    # counts summed over sequences, as a resample sums them: TrackEval's combination of them
    trackeval_mota = clear.combine_sequences({"s": clear.eval_sequence(data)})["MOTA"]
    assert trackeval_mota == -3.0
    _, rule, _ = metric_specs.bootstrap_rules()["MOTA"]          # counts TP, FN, FP, IDSW
    assert rule(np.array([[0.0, 0.0, 3.0, 0.0]]))[0] == trackeval_mota
    cell = np.zeros((1, 1, len(bands.FIELDS)))
    cell[0, 0, bands.FIELDS.index("FP")] = 3
    assert bands.scene_seed_bands(cell, n_resamples=10)["MOTA"]["value"] == trackeval_mota
    assert rule(np.array([[8.0, 2.0, 1.0, 2.0]]))[0] == 1 - (2 + 1 + 2) / 10   # with GT: unchanged
