"""detbench/base_weights.py runs its stages as library calls that are the commands it records (and
prints); no library module imports the CLI or the commands."""
from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOT_CHECKED: set[str] = set()


def _cli_imports(source: str, module: str) -> list[str]:
    """The imports of detbench.cli / detbench.commands (any form, relative ones and import_module
    included) in ``source``, the code of module ``module`` (dotted name)."""
    def bad(name: str) -> bool:
        return any(name == m or name.startswith(m + ".") for m in ("detbench.cli", "detbench.commands"))

    package = module.split(".")[:-1]
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names if bad(a.name)]
        elif isinstance(node, ast.ImportFrom):
            base = ".".join([*(package[:len(package) - node.level + 1] if node.level else []),
                             *([node.module] if node.module else [])])
            found += [base] if bad(base) else [f"{base}.{a.name}" for a in node.names if bad(f"{base}.{a.name}")]
        elif (isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", None)) == "import_module"
              and node.args and isinstance(node.args[0], ast.Constant) and bad(str(node.args[0].value))):
            found.append(node.args[0].value)
    return found


def test_the_import_check_finds_every_form_of_import():
    src = '''"""Mentions detbench.cli and detbench.commands in prose: fine."""
from detbench.cliopts import parse_key_values
import detbench.commands.progress
from detbench.cli import main
from detbench import cli, paths
from ..commands.progress import train_bar
def f():
    importlib.import_module("detbench.commands.train")
'''
    assert _cli_imports(src, "detbench.train.x") == [
        "detbench.commands.progress", "detbench.cli", "detbench.cli", "detbench.commands.progress",
        "detbench.commands.train"]


def test_no_library_module_imports_the_cli_or_the_commands():
    offenders = {}
    for path in sorted([*ROOT.glob("detbench/**/*.py"), *ROOT.glob("trackers/**/*.py")]):
        rel = path.relative_to(ROOT).as_posix()
        if rel == "detbench/cli.py" or rel.startswith("detbench/commands/") or rel in NOT_CHECKED:
            continue
        if found := _cli_imports(path.read_text(), rel[:-3].replace("/", ".")):
            offenders[rel] = found
    assert not offenders, f"library modules importing the CLI (only detbench/cli.py and detbench/commands/ may): {offenders}"


@pytest.mark.slow
def test_tiny_base_weights_are_what_its_recorded_commands_make_and_resume(tmp_path, monkeypatch):
    """The stages as library calls give what the recorded commands give through the CLI (the same
    checkpoint bytes and AP), print those commands, keep finished stages on a second invocation
    of the same stamp, and report a stage's error as one line naming its command. ~30-50 s."""
    from detbench.base_weights import BaseConfig, StageError, make_base_weights
    from detbench.cli import main
    from detbench.core import paths
    from detbench.core.fileio import sha256_file

    cfg = BaseConfig(scenes=6, keyframes=2, epochs=2, continue_epochs=2)
    lib, cli = tmp_path / "lib", tmp_path / "cli"
    lib.mkdir(), cli.mkdir()
    monkeypatch.setenv(paths.ENV_VAR, "runs")  # relative: the commands read the same in both folders
    monkeypatch.chdir(lib)
    said = []
    doc = make_base_weights(cfg, out_dir=Path("out"), say=said.append, stamp="t")
    data = ["--data", "runs/data/base_weights_t"]
    assert doc["commands"] == [  # what the CLI-driven base_weights recorded (weights/demo_base/meta.json's shape)
        ["detbench", "synth", "runs/base_weights_synth_t", "--scenes", "6", "--keyframes", "2", "--cameras",
         "CAM_FRONT", "--seed", "1000"],
        ["detbench", "prepare", "--dataroot", "runs/base_weights_synth_t", "--version", "v1.0-synth", "--name",
         "base_weights_t", "--cameras", "CAM_FRONT", "--min-visibility", "2", "--min-size", "40.0"],
        ["detbench", "train", *data, "--recipe", "demo_base", "--name", "base_weights_t", "--epochs", "2",
         "--device", "cpu", "--set", "seed=0"],
        ["detbench", "train", *data, "--recipe", "demo_base", "--name", "base_weights_t_c2", "--epochs", "2",
         "--device", "cpu", "--init", "runs/train/base_weights_t/epoch_2.pth", "--set", "seed=1"],
        ["detbench", "eval-det", "--detector", "epoch2", "--run", "base_weights_t_c2", *data, "--split", "val",
         "--device", "cpu", "--out", "runs/base_weights_eval_t"],
    ]
    assert [s.strip() for s in said if "[base-weights] detbench" in s] == [
        "[base-weights] " + " ".join(c) for c in doc["commands"]]
    assert list(doc["timings_s"]) == ["synth", "prepare", "train", "train_c2", "eval-det"] and doc["kept_stages"] == []
    assert sha256_file(Path("out/yolox_nano_synth.pth")) == doc["sha256"]

    monkeypatch.chdir(cli)
    for argv in doc["commands"]:
        assert main(argv[1:]) == 0, argv
    for f in ("base_weights_synth_t/v1.0-synth/sample_annotation.json", "data/base_weights_t/coco/train.json",
              "train/base_weights_t/epoch_2.pth"):
        assert sha256_file(cli / "runs" / f) == sha256_file(lib / "runs" / f), f
    assert sha256_file(Path("runs/train/base_weights_t_c2/epoch_2.pth")) == doc["checkpoint_sha256_fp32"]
    ap = json.loads(Path("runs/base_weights_eval_t/eval.json").read_text())
    assert {k: ap[k] for k in ("AP", "AP50", "AP75")} == doc["val_ap"]

    monkeypatch.chdir(lib)  # an interrupted invocation continued: the finished stages kept
    again = make_base_weights(cfg, out_dir=Path("out2"), say=said.append, stamp="t")
    assert again["kept_stages"] == ["synth", "prepare", "train", "train_c2"] and list(again["timings_s"]) == ["eval-det"]
    assert again["sha256"] == doc["sha256"] and again["val_ap"] == doc["val_ap"]

    with pytest.raises(StageError) as err:  # synth and prepare kept, then the first training fails
        make_base_weights(BaseConfig(scenes=6, keyframes=2, recipe="nope", epochs=3, continue_epochs=0),
                          out_dir=Path("out3"), say=said.append, stamp="t")
    assert str(err.value).startswith("base-weights stage `detbench train --data runs/data/base_weights_t "
                                     "--recipe nope --name base_weights_t --epochs 3 --device cpu --set seed=0`: "
                                     "recipe 'nope': unknown")
    assert "\n" not in str(err.value) and err.value.exit_code == 2 and not Path("out3").exists()


def test_the_entry_point_reports_a_stage_error_as_one_line(tmp_path, monkeypatch, capsys):
    from detbench.commands.base_weights import main
    from detbench.core import paths

    (tmp_path / "runs").write_text("a file where the runs folder should be")
    monkeypatch.setenv(paths.ENV_VAR, str(tmp_path / "runs"))
    assert main(["--out", str(tmp_path / "out"), "--stamp", "t"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: base-weights stage `detbench synth ") and "\n" not in err, err
    assert not (tmp_path / "out").exists()
