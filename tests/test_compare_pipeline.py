"""`detbench compare` end to end on a tiny dataset: caches reused, failures become gaps, bad names."""
from __future__ import annotations

import json

import numpy as np
import pytest

from detbench.cli import main
from detbench.core.classes import CLASSES
from detbench.data import mot
from trackers.iou import IouTracker

SEQS = ("scene-0001_CAM_FRONT", "scene-0002_CAM_BACK", "scene-0003_CAM_FRONT")


class FlakyTracker(IouTracker):
    """The IoU tracker, except that it fails on scene-0002 (a tracker bug on one sequence)."""

    def update(self, dets, frame):
        if "scene-0002" in str(frame.image_path):
            raise RuntimeError("simulated tracker bug")
        return super().update(dets, frame)


@pytest.fixture
def setup(tmp_path, monkeypatch):
    from test_detect import make_dataset, nano_model, save_detector

    from detbench.core import paths

    data_dir = make_dataset(tmp_path, seqs=SEQS, frames=4)
    rng = np.random.default_rng(0)
    for seq in SEQS:   # ground truth: two objects moving right, one class each
        rows = [[f, i + 1, 10 + 5 * f + 60 * i, 20, 30, 30, 1, i + 1, 1] for f in range(1, 5) for i in range(2)]
        sdir = data_dir / "sequences" / "val" / seq
        mot.write_mot(sdir / "gt" / "gt.txt", np.array(rows, dtype=float) + [0, 0, rng.integers(0, 3), 0, 0, 0, 0, 0, 0])
        mot.write_seqinfo(sdir / "seqinfo.ini", mot.SeqInfo(seq, 2.0, 160, 90, 4))
    run_dir = paths.train_dir("r1")
    run_dir.mkdir(parents=True)
    for epoch in (1, 2):
        save_detector(run_dir / f"epoch_{epoch}.pth", nano_model(seed=epoch), epoch)
    import trackers
    monkeypatch.setitem(trackers.TRACKERS, "flaky", "test_compare_pipeline:FlakyTracker")
    return data_dir, tmp_path / "results"


def test_compare_twice_reuses_every_cache(setup):
    from detbench.compare.options import ComparisonOptions, RunContext
    from detbench.compare.pipeline import run_comparison
    from detbench.detect.resolved import resolve_detectors

    data_dir, results = setup
    # random-weight detectors score low: the IoU tracker takes every box so the figures are not all 0
    kw = dict(options=ComparisonOptions(name="t", n_resamples=50, tracker_options={"iou": {"min_score": "0"}},
                                        use_tuned=False), context=RunContext(results_root=results))
    first = run_comparison(resolve_detectors(["epoch1", "epoch2"], data_dir, run="r1"), ["iou"], **kw)
    assert sum(first["reused"].values()) == 0
    assert {p["status"] for p in first["pairs"]} == {"ok"} and first["n_sequences"] == 3
    second = run_comparison(resolve_detectors(["epoch1", "epoch2"], data_dir, run="r1"), ["iou"], **kw)
    assert second["reused"] == {"detections": 2, "tracks": 2, "metrics": 2}
    assert [p["overall"] for p in second["pairs"]] == [p["overall"] for p in first["pairs"]]
    saved = json.loads((results / "t" / "comparison.json").read_text())
    assert [d["tracker"] for d in saved["deltas"]] == ["iou"]
    assert set(saved["deltas"][0]["metrics"]) == {"IDSW", "MOTA", "HOTA"}
    assert saved["deltas"][0]["metrics"]["IDSW"]["n_resamples"] == 50
    # three scenes, one camera each: the intervals rest on 3 scenes (3 sequences)
    assert saved["n_scenes"] == 3 and saved["bootstrap"]["unit"] == "scene"
    assert {(m["n_scenes"], m["n_sequences"]) for m in saved["deltas"][0]["metrics"].values()} == {(3, 3)}
    # recombining every sequence's counts gives back exactly the reported overall figures
    pairs = {p["detector"]: p["overall"] for p in saved["pairs"]}
    assert all(p["HOTA"] > 0 and p["MOTA"] != 0 for p in pairs.values())   # a non-trivial check
    # (the changes in comparison.json: ratios in % / percentage points, counts as counts)
    for metric, value, scale in (("HOTA", "value_a_pct", 100), ("MOTA", "value_a_pct", 100), ("IDSW", "value_a", 1)):
        d = saved["deltas"][0]["metrics"][metric]
        assert d[value] == pytest.approx(scale * pairs["epoch1"][metric], abs=1e-7)
        assert d[value.replace("_a", "_b")] == pytest.approx(scale * pairs["epoch2"][metric], abs=1e-7)
    for name in ("comparison.md", "comparison.csv", "comparison.png"):
        assert (results / "t" / name).is_file()


def test_one_tracker_failing_on_one_sequence_leaves_a_gap_and_exits_nonzero(setup, capsys):
    data_dir, results = setup
    code = main(["compare", "--detectors", "epoch1,epoch2", "--trackers", "iou,flaky", "--run", "r1",
                 "--data", str(data_dir), "--name", "gap", "--results-dir", str(results), "--resamples", "50",
                 "--no-tuned"])
    assert code == 1
    saved = json.loads((results / "gap" / "comparison.json").read_text())
    status = {(p["detector"], p["tracker"]): p["status"] for p in saved["pairs"]}
    assert status == {("epoch1", "iou"): "ok", ("epoch2", "iou"): "ok",
                      ("epoch1", "flaky"): "failed", ("epoch2", "flaky"): "failed"}
    md = (results / "gap" / "comparison.md").read_text()
    assert "| epoch1 | flaky | —" in md and "simulated tracker bug" in md
    # the sequences the flaky tracker could track were still written
    track_meta = json.loads((setup[0].parent / "runs" / "compare" / "gap" / "tracks" / "epoch1" / "flaky" /
                             "meta.json").read_text())
    assert track_meta["sequences"]["scene-0001_CAM_FRONT"]["status"] == "ok"
    assert track_meta["sequences"]["scene-0002_CAM_BACK"]["status"] == "failed"


def test_unknown_detector_lists_the_available_ones(setup, capsys):
    data_dir, results = setup
    code = main(["compare", "--detectors", "epoch9,epoch2", "--trackers", "iou", "--run", "r1",
                 "--data", str(data_dir), "--results-dir", str(results)])
    assert code == 2
    err = capsys.readouterr().err
    assert "epoch9" in err and "epoch1" in err and "epoch2" in err


def test_attribution_totals_equal_the_idsw_column_and_a_mismatch_stops_compare(setup, capsys, monkeypatch):
    from detbench.compare import pipeline
    from detbench.compare.attribution import Switch

    data_dir, results = setup
    args = ["compare", "--detectors", "epoch1", "--trackers", "iou", "--run", "r1", "--data", str(data_dir),
            "--results-dir", str(results), "--resamples", "20", "--tracker-opt", "iou:min_score=0", "--no-tuned"]
    assert main(args + ["--name", "ok"]) == 0
    saved = json.loads((results / "ok" / "comparison.json").read_text())
    for p in saved["pairs"]:   # the command checked this itself; the saved tables agree too
        assert sum(p["attribution"].values()) == p["overall"]["IDSW"] == sum(p["per_class_idsw"].values())
        assert all(p["per_class_idsw"][c] == p["per_class"].get(c, {}).get("IDSW", 0) for c in CLASSES)

    real = pipeline.attribute_pair

    def one_switch_too_many(gt_dir, res_dir, rules, *executor):   # an attribution that disagrees with TrackEval
        return real(gt_dir, res_dir, rules, *executor) + [Switch(2, 1, 7, 8, "other", 0, 1)]

    monkeypatch.setattr(pipeline, "attribute_pair", one_switch_too_many)
    capsys.readouterr()
    assert main(args + ["--name", "bad"]) == 3
    err = capsys.readouterr().err.strip().splitlines()
    idsw = saved["pairs"][0]["overall"]["IDSW"]
    car = saved["pairs"][0]["per_class"].get("car", {}).get("IDSW", 0)
    assert [line for line in err if not line.startswith("tracking + evaluating")] == [
        f"error: epoch1 x iou: the IDSW causes add up to {car + 1} switches for car, the IDSW column says {car}"]
    assert idsw >= car and not (results / "bad").exists()   # nothing written


def test_a_missing_last_detector_fails_before_any_work(setup, capsys):
    """Every input is checked first; `epoch9` at the end must not cost epoch1's tracking."""
    data_dir, results = setup
    for bad, needle in ((["--detectors", "epoch1,epoch9", "--trackers", "iou"], "epoch9"),
                        (["--detectors", "epoch1,epoch2", "--trackers", "iou,nosuch"], "nosuch"),
                        (["--detectors", "epoch1,epoch2", "--trackers", "iou", "--tracker-opt",
                          "iou:min_score=2"], "min_score")):
        code = main(["compare", *bad, "--run", "r1", "--data", str(data_dir), "--results-dir", str(results)])
        err = capsys.readouterr().err
        assert code == 2 and needle in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    runs = setup[0].parent / "runs"
    assert not (runs / "detections").exists() and not (runs / "compare").exists() and not results.exists()


def test_the_compare_command_ends_with_the_change_table_and_the_answer(setup, capsys):
    data_dir, results = setup
    args = ["compare", "--detectors", "epoch1,epoch2", "--trackers", "iou", "--run", "r1", "--data", str(data_dir),
            "--results-dir", str(results), "--resamples", "50", "--tracker-opt", "iou:min_score=0", "--no-tuned",
            "--name", "screen"]
    assert main(args) == 0
    out = capsys.readouterr().out.rstrip().splitlines()
    saved = json.loads((results / "screen" / "comparison.json").read_text())
    hota = saved["deltas"][0]["metrics"]["HOTA"]
    # the last line answers in the units of comparison.json (pp for HOTA), with its interval
    assert out[-1].startswith("iou, epoch1 -> epoch2: ") and f"{hota['delta_pp']:+.2f} pp" in out[-1]
    assert f"[{hota['low_pp']:+.2f}, {hota['high_pp']:+.2f}]" in out[-1]
    assert any("change epoch1 -> epoch2" in ln for ln in out)
    assert any(ln.startswith("reused from earlier runs: ") for ln in out) and not any("{" in ln for ln in out)
