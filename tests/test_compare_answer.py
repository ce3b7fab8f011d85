"""compare's answer on screen and in every file: one unit per quantity, the change table with its
intervals and verdicts, one sentence per tracker, and the plots' change panels.

The figures are the committed demo's (results/demo at commit c552ff4): BoT-SORT HOTA 37.65 % ->
44.52 %, change +6.87 pp with interval [+4.47, +9.92]; IDSW 7 -> 27, +20 [+6, +34]; MOTA +4.30 pp
[-1.17, +8.21] (includes 0: no verdict). The permutation test's p-values (0.0078 = 2/256, the
smallest two-sided p of 8 scenes, and 0.12) are set by hand: that demo predates the test."""
from __future__ import annotations

import csv
import io
import json

import pytest

from detbench.compare.bootstrap import BootstrapResult

SEQS = [f"scene-{j:04d}_CAM_FRONT" for j in range(8)]


def _r(metric, a, b, low, high, higher=True, n_scenes=8, p=None):
    p = None if low is None else p   # one scene: no test
    r = BootstrapResult(metric, a, b, b - a, low, high, 2000, len(SEQS), n_scenes, 0, higher, p, 256)
    return dict(r.to_dict(), verdict=r.verdict("epoch1", "epoch20"))   # as pipeline.bootstrap_deltas


def _result(one_scene: bool = False) -> dict:
    none = (None, None) if one_scene else ()
    metrics = {"IDSW": _r("IDSW", 7.0, 27.0, *(none or (6.0, 34.0)), higher=False, p=0.0078),
               "MOTA": _r("MOTA", 0.2661, 0.3091, *(none or (-0.0117, 0.0821)), p=0.12),
               "HOTA": _r("HOTA", 0.3765, 0.4452, *(none or (0.0447, 0.0992)), p=0.0078)}
    overall = {"epoch1": {"IDSW": 7, "MOTA": 0.2661, "HOTA": 0.3765, "IDF1": 0.4655, "DetA": 0.2386,
                          "AssA": 0.6039, "FP": 41, "FN": 396, "MT": 20, "ML": 98},
               "epoch20": {"IDSW": 27, "MOTA": 0.3091, "HOTA": 0.4452, "IDF1": 0.5368, "DetA": 0.3412,
                           "AssA": 0.5908, "FP": 73, "FN": 318, "MT": 30, "ML": 75}}
    pairs = [{"detector": d, "tracker": "botsort", "status": "ok", "overall": o, "per_class_idsw": {},
              "attribution": {}, "per_sequence": {s: {} for s in SEQS}} for d, o in overall.items()]
    return {"name": "demo", "split": "val", "data": "d", "n_sequences": 8, "n_scenes": 1 if one_scene else 8,
            "detectors": ["epoch1", "epoch20"], "trackers": ["botsort"], "pairs": pairs, "attribution_rules": [],
            "bootstrap": {"n_resamples": 2000, "seed": 0},
            "deltas": [{"tracker": "botsort", "from": "epoch1", "to": "epoch20", "metrics": metrics}]}


ANSWER = ("botsort, epoch1 -> epoch20: IDSW worse (+20 [+6, +34]), HOTA better (+6.87 pp [+4.47, +9.92]); "
          "no verdict on MOTA (+4.30 pp [-1.17, +8.21], p = 0.12).")


def test_one_unit_per_quantity_in_md_csv_json_and_console(tmp_path, capsys):
    from detbench.commands.compare import print_summary
    from detbench.compare import report

    result = _result()
    report.write_all(result, tmp_path)
    md = (tmp_path / "comparison.md").read_text()
    # the change of a ratio in percentage points in every cell, the verdict cell included (it said +0.0687)
    assert "| botsort | HOTA | 37.65 | 44.52 | +6.87 | [+4.47, +9.92] | 8 (8) | epoch20 better (p = 0.0078) |" in md
    assert "| botsort | IDSW | 7 | 27 | +20 | [+6, +34] | 8 (8) | epoch20 worse (p = 0.0078) |" in md
    assert "| botsort | MOTA | 26.61 | 30.91 | +4.30 | [-1.17, +8.21] | 8 (8) | — (p = 0.12) |" in md
    assert "0.0687" not in md and "percentage points" in md and f"- {ANSWER}" in md
    saved = json.loads((tmp_path / "comparison.json").read_text())
    hota = saved["deltas"][0]["metrics"]["HOTA"]
    assert (hota["unit"], hota["change_unit"]) == ("%", "pp") and "delta" not in hota and "low" not in hota
    assert [hota[k] for k in ("value_a_pct", "value_b_pct", "delta_pp", "low_pp", "high_pp")] == pytest.approx(
        [37.65, 44.52, 6.87, 4.47, 9.92])
    assert hota["direction"] == "better" and hota["verdict"] == (
        "epoch20 better than epoch1 on HOTA: +6.87 pp (p = 0.0078; 95% CI [+4.47, +9.92])")
    idsw = saved["deltas"][0]["metrics"]["IDSW"]
    assert (idsw["unit"], idsw["delta"], idsw["low"], idsw["high"], idsw["direction"]) == ("count", 20, 6, 34, "worse")
    assert "units" in saved and saved["pairs"][0]["overall"]["HOTA"] == 0.3765   # eval's summary: a fraction
    rows = list(csv.DictReader(io.StringIO((tmp_path / "comparison.csv").read_text())))
    assert rows[1]["HOTA_pct"] == "44.52" and rows[1]["IDSW"] == "27" and "HOTA" not in rows[1]
    print_summary(result, tmp_path)
    out = capsys.readouterr().out
    assert "0.0687" not in out and "+0.0" not in out
    assert "+6.87" in out and "[+4.47, +9.92]" in out and "epoch20 better" in out
    assert "percentage points" in out


def test_compare_ends_with_the_change_table_and_one_answer_per_tracker(capsys):
    from detbench.commands.compare import print_summary

    print_summary(_result(), "results/demo", reused={"detections": 1, "tracks": 0, "metrics": 2})
    out = capsys.readouterr().out.rstrip().splitlines()
    assert out[-1] == ANSWER
    table = out.index(next(ln for ln in out if "change epoch1 -> epoch20" in ln))
    assert any("botsort" in ln and "IDSW" in ln and "[+6, +34]" in ln and "epoch20 worse" in ln
               for ln in out[table:])
    # what was reused, in words (it printed a Python dict)
    assert "reused from earlier runs: 1 detection cache, 2 evaluations" in out
    assert not any("{" in ln for ln in out)


def test_reuse_in_words():
    from collections import Counter

    from detbench.commands.compare import reuse_text

    assert reuse_text(Counter(detections=1)) == "reused from earlier runs: 1 detection cache"
    assert reuse_text(Counter(tracks=2, tunings=1)) == "reused from earlier runs: 2 tracking results, 1 tuning"
    assert reuse_text(Counter()) == "reused from earlier runs: nothing (all computed now)"


def test_one_scene_says_one_thing_on_screen_and_in_the_plot(capsys):
    from detbench.commands.compare import print_answer
    from detbench.compare import plots

    result = _result(one_scene=True)
    print_answer(result)
    out = capsys.readouterr().out
    assert "interval includes 0" not in out and out.count("no verdict") == 1
    assert out.rstrip().splitlines()[-1] == ("botsort, epoch1 -> epoch20: one scene: no interval, so no verdict "
                                             "(IDSW +20, MOTA +4.30 pp, HOTA +6.87 pp).")
    fig = plots.pair_figure(result)
    idsw, hota = fig.axes[-2], fig.axes[-1]
    assert "IDSW change" in idsw.get_title() and "HOTA change (pp)" in hota.get_title()
    for ax in (idsw, hota):
        assert [t.get_text() for t in ax.texts] == ["one scene: no interval"]


def test_the_plot_has_a_hota_change_panel_beside_the_idsw_one():
    from detbench.compare import plots

    fig = plots.pair_figure(_result())
    idsw, hota = fig.axes[-2], fig.axes[-1]
    assert "IDSW change" in idsw.get_title() and "HOTA change" in hota.get_title()
    # the point estimate and the interval's ends (the error bar's caps), in the tables' units (pp, counts)
    def drawn(ax):
        return sorted(float(y) for line in ax.lines for y in line.get_ydata())
    assert drawn(hota) == pytest.approx([0, 0, 4.47, 6.87, 9.92])   # 0: the zero line
    assert drawn(idsw) == pytest.approx([0, 0, 6, 20, 34])
    assert not hota.texts and not idsw.texts


def test_comparison_png_is_the_same_bytes_whatever_the_user_style(tmp_path):
    import matplotlib

    from detbench.compare import plots

    first = plots.pair_bars(_result(), tmp_path / "a.png").read_bytes()
    with matplotlib.rc_context({"font.size": 17, "axes.facecolor": "#eeeeee", "savefig.dpi": 300}):
        second = plots.pair_bars(_result(), tmp_path / "b.png").read_bytes()
    assert first == second
    assert b"Software" not in first and b"Matplotlib" not in first   # no version (nor date) in the file


def test_the_demo_command_ends_with_the_tables_and_answers(tmp_path, monkeypatch, capsys):
    import detbench.demo as demo
    from detbench.cli import main
    from detbench.compare import report

    res = tmp_path / "res"
    report.write_all(_result(), res)
    summary = {k: str(res / "x") for k in ("results", "detector_ap", "training_report", "runs", "dataset",
                                           "training_run", "motion_model", "render")}
    summary.update(comparison=str(res / "comparison.md"), timings_s={"total": 1.0})
    monkeypatch.setattr(demo, "run_demo", lambda *a, **k: summary)
    assert main(["demo"]) == 0
    out = capsys.readouterr().out.rstrip().splitlines()
    assert out[-1] == ANSWER
    assert any("epoch20" in ln and "botsort" in ln and "44.52" in ln for ln in out)   # the pair table
    assert any("HOTA" in ln and "[+4.47, +9.92]" in ln and "epoch20 better" in ln for ln in out)
