"""``detbench demo``: the whole pipeline at laptop scale, on a synthetic nuScenes-format dataset.

synth -> prepare -> train (a short full "base" training of the nano model, then the head-only
Stable-V3-shaped schedule from it; an early and the final head-only checkpoint stand in for
epoch 10 and epoch 30) -> eval-det -> train-motion (TrackSSM) -> tune (both trackers, tune split) -> compare (both trackers, both
checkpoints) -> analyze -> show-tracks. Each stage is the real subcommand, run in-process.
"""
from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from detbench import paths
from detbench.errors import DetbenchError


@dataclass(frozen=True)
class DemoConfig:
    scenes: int = 24               # 70/20/10 -> 17 train, 5 val, 2 tune scenes: several val sequences
    keyframes: int = 16            # 8 s per scene at 2 Hz
    camera: str = "CAM_FRONT"
    seed: int = 0
    min_visibility: int = 2        # objects at least 40 % visible (nuScenes visibility level 2)
    # px in 1600x900: smaller objects are a few px at the demo's 256x448 input and a nano model
    # trained for minutes cannot learn them (reference/cpu-demo-measurements.md: >= 40 px helped)
    min_size: float = 40.0
    base_epochs: int = 10
    headonly_epochs: int = 6
    early_epoch: int = 1           # stands in for "epoch 10": the head one epoch after re-initialisation
    motion_epochs: int = 20         # ~1 CPU-min; beats constant velocity on the val tracks
    # TrackSSM at the paper's size (d_model 256, 6 layers) does not beat constant velocity after a few
    # CPU minutes; this reduced variant does (benchmarks/README.md). Real runs use the paper's size.
    motion_args: tuple[str, ...] = ("--d-model", "64", "--layers", "2", "--residual-head", "--lr", "1e-3",
                                    "--batch-size", "64")
    trackers: tuple[str, ...] = ("trackssm", "botsort")
    device: str = "cpu"


def _run(argv: list[str]) -> None:
    from detbench.cli import main

    code = main(argv)
    if code:
        raise DetbenchError(f"demo stage `detbench {' '.join(argv)}` failed (exit {code})")


def run_demo(out: Path = Path("results/demo"), cfg: DemoConfig = DemoConfig(), say=print) -> dict:
    """Run every stage; return where everything went. Tables and plots go to ``out``."""
    import torch

    # one compute thread: the data-loader worker takes the other core of a 2-core laptop, and two
    # OpenMP threads competing with it (or anything else) made training steps ~10x slower
    torch.set_num_threads(1)
    root = paths.runs_root()
    synth_dir = root / "demo_synth"
    data_dir = paths.data_dir("demo")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    timings: dict[str, float] = {}
    t_all = time.perf_counter()

    def stage(name: str, argv: list[str]) -> None:
        say(f"\n[demo] {name}: detbench {' '.join(argv)}")
        t0 = time.perf_counter()
        _run(argv)
        timings[name] = round(time.perf_counter() - t0, 1)
        say(f"[demo] {name} done in {timings[name]:.0f} s")

    stage("synth", ["synth", str(synth_dir), "--scenes", str(cfg.scenes), "--keyframes", str(cfg.keyframes),
                    "--cameras", cfg.camera, "--seed", str(cfg.seed), "--force"])
    stage("prepare", ["prepare", "--dataroot", str(synth_dir), "--version", "v1.0-synth", "--name", "demo",
                      "--cameras", cfg.camera, "--min-visibility", str(cfg.min_visibility),
                      "--min-size", str(cfg.min_size)])
    for run in ("demo_base", "demo"):
        if paths.train_dir(run).exists():
            shutil.rmtree(paths.train_dir(run))
    stage("train base", ["train", "--data", str(data_dir), "--recipe", "demo_base", "--name", "demo_base",
                         "--epochs", str(cfg.base_epochs), "--device", cfg.device])
    base = paths.train_dir("demo_base") / f"epoch_{cfg.base_epochs}.pth"
    stage("train head-only", ["train", "--data", str(data_dir), "--recipe", "demo", "--name", "demo",
                              "--init", str(base), "--epochs", str(cfg.headonly_epochs), "--device", cfg.device])
    early, final = f"epoch{cfg.early_epoch}", f"epoch{cfg.headonly_epochs}"
    stage("detector AP", ["eval-det", "--detector", f"{early},{final}", "--run", "demo", "--data", str(data_dir),
                          "--split", "val", "--device", cfg.device, "--out", str(root / "demo_eval_det"),
                          "--json", str(out / "detector_ap.json")])
    shutil.copy(root / "demo_eval_det" / "eval.md", out / "detector_ap.md")
    stage("train-motion", ["train-motion", "--data", str(data_dir), "--epochs", str(cfg.motion_epochs),
                           "--name", "demo", "--device", cfg.device, *cfg.motion_args])
    for det in (early, final):     # one tuning per (detector, tracker) pair: none favours a detector
        for trk in cfg.trackers:   # the same grid and objective for every tracker, on the tune split
            opts = ["--tracker-opt", f"weights={paths.motion_root() / 'demo'}"] if trk == "trackssm" else []
            stage(f"tune {trk} {det}", ["tune", "--tracker", trk, "--detector", det, "--run", "demo",
                                        "--data", str(data_dir), "--split", "tune", "--device", cfg.device, *opts])
    stage("compare", ["compare", "--detectors", f"{early},{final}", "--trackers", ",".join(cfg.trackers),
                      "--run", "demo", "--data", str(data_dir), "--split", "val", "--name", out.name,
                      "--results-dir", str(out.parent), "--device", cfg.device,
                      "--tracker-opt", f"trackssm:weights={paths.motion_root() / 'demo'}"])
    stage("analyze", ["analyze", "demo", "--out", str(out / "training")])
    comparison = json.loads((out / "comparison.json").read_text())
    seq = next(iter(next(p for p in comparison["pairs"] if p["status"] == "ok")["per_sequence"]))
    tracks = root / "compare" / out.name / "tracks" / final / cfg.trackers[-1]
    stage("show-tracks", ["show-tracks", "--tracks", str(tracks), "--data", str(data_dir), "--seq", seq,
                          "--out", str(root / "demo_render"), "--max-frames", "12", "--scale", "0.4"])
    frame = sorted((root / "demo_render").glob("*.png"))[len(list((root / "demo_render").glob("*.png"))) // 2]
    shutil.copy(frame, out / "tracks_example.png")
    timings["total"] = round(time.perf_counter() - t_all, 1)
    summary = {"results": str(out), "comparison": str(out / "comparison.md"),
               "detector_ap": str(out / "detector_ap.json"), "training_report": str(out / "training" / "report.md"),
               "dataset": str(data_dir), "runs": [str(paths.train_dir("demo_base")), str(paths.train_dir("demo"))],
               "motion_model": str(paths.motion_root() / "demo"), "render": str(root / "demo_render"),
               "timings_s": timings}
    (out / "demo_summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary
