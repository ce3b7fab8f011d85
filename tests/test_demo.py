"""The demo: its committed pretrained base, and that it never deletes or half-writes anything."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from detbench.base_weights import META, WEIGHTS


def test_committed_base_weights_match_their_meta_and_load_into_the_demo_model():
    import torch

    from detbench.core.fileio import sha256_file
    from detbench.train.checkpoint import init_state, load_detector
    from detbench.train.models import build_model, load_init
    from detbench.train.recipes import get_recipe

    meta = json.loads(META.read_text())
    assert sha256_file(WEIGHTS) == meta["sha256"]
    assert WEIGHTS.stat().st_size == meta["bytes"] < 3_000_000
    recipe = get_recipe("demo")[0]
    assert (meta["model"], meta["num_classes"], tuple(meta["input_size"])) == (
        recipe.model, len(recipe.classes), recipe.input_size)
    # what the demo does with it: --init with the class layers re-initialised, everything else loaded
    net = build_model(recipe.model, len(recipe.classes))
    loaded, skipped = load_init(net, init_state(WEIGHTS), WEIGHTS, reinit_cls=recipe.reinit_cls)
    assert skipped and all(k.startswith("head.cls_preds.") for k in skipped)
    assert len(loaded) + len(skipped) == len(net.state_dict())
    trunk = init_state(WEIGHTS)["backbone.backbone.stem.conv.conv.weight"]
    assert torch.equal(net.state_dict()["backbone.backbone.stem.conv.conv.weight"], trunk.float())
    # and as a detector in its own right (strict: every tensor fits)
    model, info = load_detector(WEIGHTS)
    assert info["model_size"] == "yolox-nano" and info["num_classes"] == 7
    # the meta tells how it was made and how well it detects on its own val split
    assert meta["commands"][0][:2] == ["detbench", "synth"] and meta["dataset"]["seed"] == meta["config"]["data_seed"]
    assert meta["val_ap"]["AP50"] >= 0.7   # the committed base: 0.751 (8 + 12 epochs, see its meta.json)


def test_the_demo_recipe_scales_its_mosaic_and_mixup_like_stable_v3():
    from detbench.train.recipes import get_recipe

    demo, v3 = get_recipe("demo")[0], get_recipe("stable_v3")[0]
    assert (demo.mosaic_scale, demo.mixup_scale) == (v3.mosaic_scale, v3.mixup_scale) == ((0.85, 1.15),) * 2
    assert (demo.freeze, demo.reinit_cls, demo.noaug_epochs > 0) == ("trunk", True, True)


def test_the_base_dataset_is_not_the_demo_dataset():
    from detbench.demo import DemoConfig

    meta = json.loads(META.read_text())
    assert meta["dataset"]["seed"] != DemoConfig().data_seed


def _tree(path: Path) -> dict:
    return {str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()}


def test_demo_refuses_an_out_folder_that_is_not_a_demo_output_before_any_work(tmp_path, capsys):
    from detbench.cli import main
    from detbench.core import paths

    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    assert main(["demo", "--out", str(mine)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and str(mine) in err and "not a demo's output" in err
    assert _tree(mine) == {"notes.txt": b"keep me"}
    assert not (paths.runs_root() / "demo").exists()
    assert main(["demo", "--base", str(tmp_path / "nope.pth")]) == 2
    assert "nope.pth" in capsys.readouterr().err


def test_a_failed_demo_leaves_out_as_it_was(tmp_path, monkeypatch):
    import detbench.data.prepare as prepare_module
    import detbench.data.synthetic as synthetic
    import detbench.demo as demo
    from detbench.core import paths

    out = tmp_path / "results_demo"
    out.mkdir()
    (out / demo.SUMMARY).write_text("{}\n")
    (out / "comparison.md").write_text("old")
    roots = []   # the runs root each stage's library call saw

    def fake_synth(out_dir, **_):
        roots.append(paths.runs_root())
        Path(out_dir).mkdir(parents=True)
        return Path(out_dir)

    def fake_prepare(dataroot, version, **_):
        roots.append(paths.runs_root())
        raise demo.InputError(f"{dataroot}: no scenes")

    monkeypatch.setattr(synthetic, "write_dataset", fake_synth)
    monkeypatch.setattr(prepare_module, "prepare", fake_prepare)
    with pytest.raises(demo.InputError) as failed:
        demo.run_demo(out, demo.DemoConfig(), say=lambda *_: None)
    msg = str(failed.value)   # one line: the stage's command and the library's reason
    assert "\n" not in msg and msg.startswith("demo stage `detbench --runs-dir ") and " prepare --dataroot " in msg
    assert msg.endswith("synth: no scenes") and failed.value.exit_code == 2
    assert _tree(out) == {demo.SUMMARY: b"{}\n", "comparison.md": b"old"}
    assert len(roots) == 2 and roots[0] == roots[1] and roots[0].parent == paths.runs_root() / "demo"


def test_summary_paths_are_relative_to_the_working_directory_when_under_it(tmp_path, monkeypatch):
    from detbench.demo import _flags
    from detbench.demo_output import shown

    monkeypatch.chdir(tmp_path)
    assert shown(tmp_path / "runs" / "demo" / "x") == str(Path("runs", "demo", "x"))
    assert shown("runs/demo") == str(Path("runs", "demo"))
    assert shown(tmp_path.parent / "elsewhere") == str(tmp_path.parent / "elsewhere")
    assert _flags({"d_model": 64, "residual_head": True, "relative": False, "lr": 1e-3}) == [
        "--d-model", "64", "--residual-head", "--absolute", "--lr", "0.001"]


def test_synth_from_must_match_the_demo_config(tmp_path):
    from detbench.core.errors import InputError
    from detbench.demo import DemoConfig, reusable_synth

    written = {"scenes": 40, "keyframes": 8, "cameras": ["CAM_FRONT"], "seed": 0, "sweeps": False}
    (tmp_path / "synth.json").write_text(json.dumps({**written, "style": "dusk"}))
    assert reusable_synth(DemoConfig(synth_from=str(tmp_path))) == tmp_path.resolve()
    with pytest.raises(InputError, match="the demo needs"):
        reusable_synth(DemoConfig(synth_from=str(tmp_path), style="default"))
    (tmp_path / "synth.json").write_text(json.dumps(written))   # no style: the default look
    assert reusable_synth(DemoConfig(synth_from=str(tmp_path), style="default")) == tmp_path.resolve()
    with pytest.raises(InputError, match="the demo needs"):
        reusable_synth(DemoConfig(synth_from=str(tmp_path)))
    with pytest.raises(InputError, match="the demo needs"):
        reusable_synth(DemoConfig(synth_from=str(tmp_path), data_seed=1))
    with pytest.raises(InputError, match="not a synthetic dataset"):
        reusable_synth(DemoConfig(synth_from=str(tmp_path / "nope")))


@pytest.mark.slow
def test_tiny_demo_runs_every_stage_in_a_fresh_folder_and_deletes_nothing(tmp_path):
    """The real stages at toy size; a user's runs named like the old demo's survive, twice."""
    from contextlib import contextmanager
    from dataclasses import replace

    from detbench.core import paths
    from detbench.demo import SUMMARY, DemoConfig, run_demo

    root = paths.runs_root()
    for name in ("train/demo", "train/demo_base", "data/demo", "motion/demo", "demo_synth", "tune"):
        (root / name).mkdir(parents=True)
        (root / name / "user.txt").write_text(name)
    before = _tree(root)
    out = tmp_path / "results" / "demo"
    cfg = DemoConfig(scenes=10, keyframes=2, headonly_epochs=3, motion_epochs=1,
                     motion_options={"d_model": 8, "layers": 1, "batch_size": 64})
    calls: dict[str, int] = {}

    @contextmanager
    def progress(kind):   # what detbench/commands/demo.py draws bars with
        yield lambda *args: calls.__setitem__(kind, calls.get(kind, 0) + 1)

    first = run_demo(out, cfg, say=lambda *_: None, progress=progress)
    assert set(calls) == {"synth", "prepare", "train", "eval-det", "train-motion", "tune"}
    assert calls["tune"] == 2 * len(cfg.trackers) * 81   # one call per grid point of each tuning
    files = _tree(out)
    for name in ("comparison.md", "comparison.json", "detector_ap.json", "detector_ap.md", "tracks_example.png",
                 SUMMARY, "training/report.md"):
        assert name in files, name
    second = run_demo(out, replace(cfg, synth_from=first["synth"]), say=lambda *_: None)
    assert first["runs"] != second["runs"] and second["synth"] == first["synth"]
    for inv in (first["runs"], second["runs"]):
        assert Path(inv).parent == root / "demo" and (Path(inv) / "train" / "head" / "epoch_3.pth").is_file()
    after = _tree(root)
    assert {k: v for k, v in after.items() if k in before} == before
    assert json.loads((out / SUMMARY).read_text())["runs"] == second["runs"]
    assert second["commands"][0].startswith(f"detbench --runs-dir {second['runs']} prepare ")   # synth reused
    # same data seed and training seed: the same tables (timings and folders aside); every output but the
    # summary (its commands differ: synth reused) equal with only the volatile parts masked (demo_results)
    from detbench.demo_results import comparable

    for name in files:
        if name != SUMMARY:
            assert comparable(Path(first["runs"]) / "demo" / name) == comparable(out / name), name
    a = json.loads((Path(first["runs"]) / "demo" / "comparison.json").read_text())
    b = json.loads((out / "comparison.json").read_text())
    assert [p.get("overall") for p in a["pairs"]] == [p.get("overall") for p in b["pairs"]]


def test_the_demo_calls_library_functions_not_the_cli():
    """detbench/demo.py imports neither detbench.cli nor detbench.commands (its bars come from the command)."""
    import ast

    import detbench.demo as demo

    tree = ast.parse(Path(demo.__file__).read_text())
    imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    imported |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    assert not {m for m in imported if m and (m == "detbench.cli" or m.startswith("detbench.commands"))}
    assert "detbench.compare.pipeline" in imported and "detbench.tuning.tune" in imported
