"""``make demo`` leaves the committed results/demo/ untouched when its numbers equal the committed
ones (only the run's folder, times, versions, the commit, the command line and hashes of files
holding those differ), and replaces it when anything else does. Tested at the writers: the same
comparison written twice with different volatile parts, as two demo runs write it."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_compare_answer import _result

# two demo runs' folders: the committed run's (relative, as `make demo` writes it) and a newcomer's
# (absolute: DETBENCH_RUNS outside the working directory)
RUN_1 = "runs/demo/20261201-120607-seed0-216q0w_8"
RUN_2 = "/home/new/runs/demo/20261206-220446-seed0-oexkedxr"


def _volatile(run: str, n: int) -> dict:
    return {"run": run, "created": f"2026-12-0{n}T12:09:20+00:00", "hash": f"{n}" * 16, "git": f"{n}" * 40,
            "python": f"3.11.{n}", "seconds": 100.0 + n}


def write_demo_output(out: Path, v: dict, result: dict | None = None, report_md_extra: str = "") -> Path:
    """What the demo publishes, written by the real writers where they are compare's."""
    from detbench.compare import plots, report

    result = result or _result()
    result = dict(result, data=f"{v['run']}/data/demo", tracker_options={"trackssm": {"weights": f"{v['run']}/motion"}})
    for p in result["pairs"]:
        p.update(tracks=f"{v['run']}/compare/demo/tracks/{p['detector']}/{p['tracker']}",
                 options={"weights": f"{v['run']}/motion/demo"}, input_files={"weights/config.json": v["hash"] * 4},
                 tuning={"mode": "tuned", "key": v["hash"] * 4, "split": "tune",
                         "file": f"{v['run']}/tune/botsort/head-{p['detector']}__demo__tune__{v['hash']}.json"})
    out.mkdir(parents=True)
    report.write_all(result, out)
    plots.pair_bars(result, out / "comparison.png")
    meta = {"stage": "eval-det", "command": f"detbench demo --out {out}", "created": v["created"],
            "versions": {"python": v["python"]}, "git_commit": v["git"],
            "inputs": {"data_dir": f"{v['run']}/data/demo", "caches": {"epoch1": f"{v['run']}/detections/{v['hash']}"}},
            "detectors": {"epoch1": {"AP50": 0.501}, "epoch20": {"AP50": 0.616}}}
    (out / "detector_ap.json").write_text(json.dumps(meta, indent=2))
    (out / "training").mkdir()
    (out / "training" / "report.json").write_text(json.dumps({
        "run": {"dir": f"{v['run']}/train/head", "iterations": 560}, "overall": {"final_loss": 4.36},
        "duration": {"wall_s": v["seconds"], "images_per_s_mean": 29.0 + v["seconds"]}}))
    (out / "training" / "report.md").write_text(
        f"# Training analysis: head\n\nRun directory `{v['run']}/train/head`: 560 iterations.\n\n"
        f"## Duration\n\n| wall time | {v['seconds']:.1f} s |\n\n## Per-epoch figures\n\n| 1 | 7.123 |\n"
        + report_md_extra)
    (out / "demo_summary.json").write_text(json.dumps({
        "config": {"seed": 0}, "runs": v["run"], "results": "results/demo",
        "commands": [f"detbench --runs-dir {v['run']} prepare --dataroot {v['run']}/synth"],
        "timings_s": {"total": v["seconds"]}}, indent=2))
    return out


def _tree(path: Path) -> dict:
    return {str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()}


def test_a_demo_with_the_same_numbers_leaves_the_published_folder_untouched(tmp_path):
    from detbench.demo_output import publish

    out = write_demo_output(tmp_path / "results" / "demo", _volatile(RUN_1, 1))
    committed = _tree(out)
    new = write_demo_output(tmp_path / RUN_2.lstrip("/") / "demo", _volatile(RUN_2, 2))
    changed = {k for k, v in _tree(new).items() if committed[k] != v}
    assert changed == set(committed) - {"comparison.png", "comparison.csv"}   # the volatile parts are everywhere
    assert publish(new, out) is False
    assert _tree(out) == committed


@pytest.mark.parametrize("change", ["a number", "a table's layout", "a plot", "a file more"])
def test_a_demo_with_anything_else_different_replaces_it(tmp_path, change):
    from detbench.demo_output import publish

    out = write_demo_output(tmp_path / "results" / "demo", _volatile(RUN_1, 1))
    result = _result()
    if change == "a number":
        result["pairs"][1]["overall"]["FN"] = 317
    new = write_demo_output(tmp_path / "new", _volatile(RUN_2, 2), result,
                            report_md_extra="| 2 | 6.089 |\n" if change == "a table's layout" else "")
    if change == "a plot":
        (new / "training" / "lr.png").write_bytes(b"\x89PNG one")
        (out / "training" / "lr.png").write_bytes(b"\x89PNG two")
    if change == "a file more":
        (new / "tracks_example.png").write_bytes(b"\x89PNG")
    assert publish(new, out) is True
    assert _tree(out) == _tree(new)


def test_compare_writes_the_same_bytes_for_the_same_result(tmp_path):
    from detbench.compare import plots, report

    for name in ("a", "b"):
        report.write_all(_result(), tmp_path / name)
        plots.pair_bars(_result(), tmp_path / name / "comparison.png")
    assert _tree(tmp_path / "a") == _tree(tmp_path / "b") and len(_tree(tmp_path / "a")) == 4
    text = "".join(p.read_text() for p in (tmp_path / "a").glob("comparison.*") if p.suffix != ".png")
    assert "2026" not in text and "created" not in text   # no date or time of its own


def test_masking_keeps_numbers_and_masks_only_volatile_parts():
    from detbench.demo_results import masked_text

    assert masked_text(f"`{RUN_1}/data/demo` weights={RUN_2}/motion, 41.95 | 0123456789abcdef0123") == \
        "`<run>/data/demo` weights=<run>/motion, 41.95 | <hash>"
    assert masked_text("## Duration\n| wall | 1 s |\n## Other\n| 4.36 |") == "## Other\n| 4.36 |"
    assert masked_text("epoch 20 | 0.616 | 12345") == "epoch 20 | 0.616 | 12345"
