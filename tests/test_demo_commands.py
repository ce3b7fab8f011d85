"""The demo's recorded ``detbench ...`` commands do what its in-process library calls do.

``detbench/demo.py`` states each stage's arguments twice: once as the argv it prints and records
(``commands`` in ``demo_summary.json``) and once as the library call it makes. Here every library
function the demo calls is replaced by a recorder (returning just what the next stage reads), the
demo runs, and then each recorded command is replayed through the real CLI (``detbench.cli.main``:
its click parser and the command module's own translation into the library call), stopped at the
library call. Both calls must bind to the same arguments (library defaults applied; callbacks
aside; paths compared as absolute paths). No training, tracking or rendering happens.
"""
from __future__ import annotations

import dataclasses
import importlib
import inspect
import json
import os
import shlex
from pathlib import Path
from types import SimpleNamespace

import pytest

from detbench.core import paths

# (module, function): every library function behind a demo stage
TARGETS = [("detbench.data.synthetic", "write_dataset"), ("detbench.data.prepare", "prepare"),
           ("detbench.train.trainer", "train"), ("detbench.detect.eval_det", "eval_det"),
           ("detbench.motion.train", "train_motion"), ("detbench.tuning.tune", "tune"),
           ("detbench.compare.pipeline", "run_comparison"), ("detbench.analysis.report", "analyze_run"),
           ("detbench.render.tracks", "show_tracks")]
# progress bars and message sinks: the CLI's draw, the demo's say; not arguments of the stage
CALLBACKS = {"progress", "echo", "on_plan", "on_metrics", "on_step", "tell", "callbacks"}
SEQ = "synth-0000_CAM_FRONT"


class _Replayed(Exception):
    """Raised by a recorder during a CLI replay: the library call is recorded, nothing runs."""


def _norm(value):
    """Paths (Path objects, or strings with a separator) as absolute paths; sequences as lists."""
    if isinstance(value, os.PathLike) or (isinstance(value, str) and os.sep in value):
        return os.path.abspath(value)
    if isinstance(value, (list, tuple)):
        return [_norm(v) for v in value]
    if isinstance(value, dict):
        return {k: _norm(v) for k, v in value.items()}
    return value


def _canonical(func: str, arguments: dict) -> dict:
    """The call's ``arguments`` (bound to the library signature, defaults applied) in the library's
    own terms: ``train``'s recipe overrides (``--set``) coerced as the recipe does, ``train_motion``'s
    recipe's None (= TrainConfig's default) replaced by that default, ``analyze_run``'s run resolved."""
    got = {k: v for k, v in arguments.items() if k not in CALLBACKS}
    if func == "run_comparison":   # its frozen option values, field by field (the progress callback aside)
        got.update(dataclasses.asdict(got.pop("options")))
        got.update({k: v for k, v in vars(got.pop("context")).items() if k not in CALLBACKS})
    fields = (lambda v: dataclasses.asdict(v) if dataclasses.is_dataclass(v) else v)
    for k, v in got.items():       # resolved detectors: their fields (paths normalised below)
        got[k] = [fields(d) for d in v] if isinstance(v, (list, tuple)) else fields(v)
    ex = got.get("executor")
    if ex is not None and ex.name == "local" and ex.workers == 1:   # the library's None: this process
        got["executor"] = None
    if func == "train":
        from detbench.train.recipes import Recipe, _coerce

        known = {f.name: f for f in dataclasses.fields(Recipe)}
        got["overrides"] = {k: _coerce(known[k], v) for k, v in got["overrides"].items()}
    elif func == "train_motion":
        from trackers.trackssm.train import TrainConfig

        default, recipe = TrainConfig(), got["recipe"]   # a dict already (the fields loop above)
        for k in ("batch_size", "lr", "warmup_steps", "weight_decay", "grad_clip", "flip", "l1_weight",
                  "giou_weight"):
            if recipe[k] is None:
                recipe[k] = getattr(default, k)
    elif func == "analyze_run":
        from detbench.analysis.logs import resolve_run_dir

        got["run"] = resolve_run_dir(got["run"])
    return _norm(got)


def _fake_result(func: str, a: dict):
    """The least each library function must return for the demo's next stages (and its messages)."""
    runs = paths.runs_root()
    if func == "write_dataset":
        return Path(a["out"])
    if func == "prepare":
        return runs / "data" / a["name"], {}
    if func == "train":
        run_dir = runs / "train" / a["name"]
        run_dir.mkdir(parents=True)   # analyze resolves the run name to it, tune and compare its epochs
        for epoch in range(1, a["epochs"] + 1):
            (run_dir / f"epoch_{epoch}.pth").write_bytes(b"checkpoint %d" % epoch)
        return run_dir
    if func == "eval_det":
        out = Path(a["out"])
        out.mkdir(parents=True)
        files = [out / "eval.json", out / "eval.md"]
        for f in files:
            f.write_text("{}\n")
        return SimpleNamespace(results={d: {"AP50": 0.5} for d in a["detectors"]}, files=files)
    if func == "train_motion":
        return SimpleNamespace(out_dir=runs / "motion" / a["name"])
    if func == "tune":
        path = runs / "tune" / a["tracker"] / f"{a['source'].name}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"best": {"options": {}, "HOTA": 0.5, "IDSW": 1}}))
        return path
    if func == "run_comparison":
        return {"pairs": [{"status": "ok", "detector": d, "tracker": t, "overall": {"HOTA": 0.5, "IDSW": 1},
                           "tracks": str(runs / "tracks" / d / t), "per_sequence": {SEQ: {}}}
                          for d in (r.name for r in a["detectors"]) for t in a["trackers"]]}
    if func == "analyze_run":
        return Path(a["out"]), {"warnings": []}
    if func == "show_tracks":
        out = Path(a["out"])
        out.mkdir(parents=True)
        (out / "000.png").write_bytes(b"png")
        return {"frames": [out / "000.png"], "out_dir": out}
    raise AssertionError(func)


@pytest.fixture
def recorded(monkeypatch):
    """Replace every library function behind a demo stage; ``calls`` gets ``(name, canonical args)``;
    with ``state.replaying`` the recorder stops the caller (the CLI) right after recording."""
    state = SimpleNamespace(calls=[], replaying=False)
    for module_name, func in TARGETS:
        module = importlib.import_module(module_name)
        real = getattr(module, func)

        def recorder(*args, _func=func, _real=real, **kwargs):
            bound = inspect.signature(_real).bind(*args, **kwargs)
            bound.apply_defaults()
            state.calls.append((_func, _canonical(_func, bound.arguments)))
            if state.replaying:
                raise _Replayed
            return _fake_result(_func, bound.arguments)

        monkeypatch.setattr(module, func, recorder)
    return state


def _replay(line: str, state, capsys) -> tuple[str, dict]:
    """Run ``line`` through detbench's real CLI up to its library call; that call."""
    from detbench.cli import main

    argv = shlex.split(line)
    assert argv[0] == "detbench"
    state.calls.clear()
    state.replaying = True
    try:
        rc = main(argv[1:])
    except _Replayed:
        pass
    else:
        pytest.fail(f"`{line}` exited {rc} before its library call: {capsys.readouterr().err.strip()}")
    finally:
        state.replaying = False
    assert len(state.calls) == 1, (line, state.calls)
    return state.calls[0]


def _configs():
    from detbench.demo import DemoConfig

    # every value unlike the CLI's defaults and unlike each other (a swapped or hard-coded argument
    # shows), with train-motion's off-flags (--absolute, --no-flow-input) and a float to format
    distinct = DemoConfig(scenes=3, keyframes=5, data_seed=7, seed=11, min_visibility=3, min_size=12.5,
                          headonly_epochs=4, early_epoch=2, motion_epochs=3,
                          motion_options={"d_model": 12, "layers": 3, "residual_head": False, "relative": False,
                                          "cv_anchor": False, "flow_input": True, "lr": 3e-4, "batch_size": 5,
                                          "warmup_steps": 9, "seed": 13, "frame_rate": 4.0},
                          trackers=("botsort", "trackssm"))
    return {"default": DemoConfig(), "distinct": distinct}


@pytest.mark.parametrize("config", ["default", "distinct"])
def test_each_recorded_command_makes_the_library_call_the_demo_makes(config, recorded, tmp_path, monkeypatch,
                                                                      capsys):
    from detbench.demo import run_demo

    cfg = _configs()[config]
    monkeypatch.chdir(tmp_path)   # like `make demo`: the runs root under the working directory, paths relative
    summary = run_demo(None, cfg, say=lambda *_: None)
    demo_calls = list(recorded.calls)
    commands = summary["commands"]
    assert [f for f, _ in demo_calls] == ["write_dataset", "prepare", "train", "eval_det", "train_motion",
                                          *["tune"] * (2 * len(cfg.trackers)), "run_comparison", "analyze_run",
                                          "show_tracks"]
    assert len(commands) == len(demo_calls)   # one recorded command per stage, in order
    assert all(not os.path.isabs(c.split()[2]) for c in commands)   # --runs-dir shown relative
    for line, (func, demo_args) in zip(commands, demo_calls):
        cli_func, cli_args = _replay(line, recorded, capsys)
        assert cli_func == func, line
        diff = {k: (demo_args.get(k), cli_args.get(k)) for k in demo_args.keys() | cli_args.keys()
                if demo_args.get(k) != cli_args.get(k)}
        assert not diff, f"`{line}` calls {func} differently from the demo: {{arg: (demo, command)}} {diff}"
