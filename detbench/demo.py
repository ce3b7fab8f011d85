"""``detbench demo``: the whole pipeline at laptop scale, on a synthetic nuScenes-format dataset.

synth (``--style dusk``: images unlike the base's daylight ones, as nuScenes' cameras are unlike
COCO's photos) -> prepare -> train (head-only, Stable V3 shape, from the committed pretrained base
``weights/demo_base/``, class layers re-initialised as when starting from COCO's 80 classes; an
early and the final checkpoint stand in for epoch 10 and epoch 30) -> eval-det -> train-motion
(TrackSSM) -> tune (tune split) -> compare (every tracker, both checkpoints) -> analyze ->
show-tracks. Each stage calls the library function behind that subcommand, in-process, with what
the subcommand would pass, and takes the next stage's inputs from its return value; the
equivalent ``detbench ...`` command is printed and recorded (``commands`` in ``demo_summary.json``)
so that any stage can be rerun by hand.

Where it writes (a fresh runs folder of this invocation, ``out`` published atomically and only
over an earlier demo's output, left as it is when it holds the same results) and how recorded paths
are shown: :mod:`detbench.demo_output`. Paths in ``demo_summary.json`` (and in the recorded and
printed commands) are relative to the working directory the demo ran in when they lie under it
(``make demo``: the repository, so the committed ``results/demo/demo_summary.json`` holds no
absolute path); run the commands from that directory. ``run_demo`` returns the same.
"""
from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from detbench.core import paths
from detbench.core.devices import check_device
from detbench.core.errors import DetbenchError, InputError
from detbench.demo_output import SUMMARY, check_out, new_invocation_dir, publish, shown
from detbench.pipeline import Progress, Runner, Stage, counting

# ``progress(kind)`` (:data:`detbench.pipeline.Progress`): a context manager yielding the progress
# callback of one stage's library function (detbench/commands/demo.py draws rich bars with it). Kinds:
#   "synth", "prepare", "tune": callback(done, total)
#   "train": callback(step, total_steps, description, info)        (detbench.train.trainer.train)
#   "eval-det": callback(detector, done, total, sequence, images_per_s)  (detbench.detect.eval_det)
#   "train-motion": callback(step, total_steps, loss, lr)           (detbench.motion.train.train_motion)


@dataclass(frozen=True)
class DemoConfig:
    scenes: int = 40               # 70/20/10 -> 28 train, 8 val, 4 tune scenes
    keyframes: int = 8             # 4 s per scene at 2 Hz: 320 images in all
    camera: str = "CAM_FRONT"
    data_seed: int = 0             # the synthetic dataset; fixed, so the seed spread is training variance only
    # the images' look (`synth --style`): the base was trained on the default (daylight) look, the demo's
    # data is rendered at dusk, so the pretrained head has to adapt to new images as COCO's head does to
    # nuScenes' (on the base's own look it re-learns its class layers in a few steps: no early/final gap)
    style: str = "dusk"
    seed: int = 0                  # training seed of the head-only stage (`detbench demo --seed N`)
    min_visibility: int = 2        # objects at least 40 % visible (nuScenes visibility level 2)
    # px in 1600x900: smaller objects are a few px at the demo's 256x448 input and a nano model
    # trained for minutes cannot learn them (measured: dropping them raised the demo's AP50 after ~2 min from 0.25 to 0.30)
    min_size: float = 40.0
    base: str = ""                 # pretrained base (--init); "" = the committed weights/demo_base/
    # an earlier demo's synthetic dataroot with exactly these scenes/keyframes/camera/data_seed, read (never
    # written) instead of rendering it again: the seed sweep (benchmarks/demo_seeds.py) renders it once
    synth_from: str = ""
    # 12 (the recipe's 10 + 2): on dusk images the head still gains ~0.03 AP50 from epoch 8 to 12 (seed 0)
    headonly_epochs: int = 20
    early_epoch: int = 1           # stands in for "epoch 10": the head one epoch after re-initialisation
    motion_epochs: int = 20        # ~1 CPU-min; beats constant velocity on the val tracks
    # TrackSSM at the paper's size (d_model 256, 6 layers) does not beat constant velocity after a few
    # CPU minutes; this reduced variant does (benchmarks/README.md). Real runs use the paper's size.
    # train_motion's recipe and model options (detbench.motion.settings.split_options; `train-motion --d-model 64 ...`)
    motion_options: dict = field(default_factory=lambda: {"d_model": 64, "layers": 2, "residual_head": True,
                                                          "lr": 1e-3, "batch_size": 64})
    # image-plane TrackSSM, the ground-plane tracker, BoT-SORT with the camera poses' motion compensation and
    # BoT-SORT as it ships (the last one is the drawn example)
    trackers: tuple[str, ...] = ("trackssm", "ground", "botsort-pose", "botsort")
    device: str = "cpu"


# train-motion's flags for a False boolean option (the True ones are --<option>)
_MOTION_OFF_FLAGS = {"residual_head": "--sigmoid-head", "relative": "--absolute", "cv_anchor": "--last-box-anchor",
                     "flow_input": "--no-flow-input"}


def _flags(options: dict) -> list[str]:
    """``{"d_model": 64, "residual_head": True}`` -> ``["--d-model", "64", "--residual-head"]``."""
    out: list[str] = []
    for key, value in options.items():
        flag = "--" + key.replace("_", "-")
        if isinstance(value, bool):
            out.append(flag if value else _MOTION_OFF_FLAGS.get(key, "--no-" + flag[2:]))
        else:
            out += [flag, format(value, "g") if isinstance(value, float) else str(value)]
    return out


def base_weights(cfg: DemoConfig) -> Path:
    from detbench.base_weights import WEIGHTS

    path = Path(cfg.base) if cfg.base else WEIGHTS
    if not path.is_file():
        raise InputError(f"{path}: the demo's pretrained base is missing (`make base-weights` rebuilds it)")
    return path


def reusable_synth(cfg: DemoConfig) -> Path | None:
    """``cfg.synth_from`` when it is a synthetic dataroot written with this config's options, else InputError."""
    if not cfg.synth_from:
        return None
    path = Path(cfg.synth_from)
    try:
        s = json.loads((path / "synth.json").read_text())
    except (OSError, ValueError):
        raise InputError(f"{path / 'synth.json'}: not a synthetic dataset written by `detbench synth`") from None
    want = {"scenes": cfg.scenes, "keyframes": cfg.keyframes, "cameras": [cfg.camera], "seed": cfg.data_seed,
            "sweeps": False, "style": cfg.style}
    got = {k: s.get(k, "default" if k == "style" else None) for k in want}
    if got != want:
        raise InputError(f"{path / 'synth.json'}: written with {got}, the demo needs {want}")
    return path.resolve()


def run_demo(out: Path | None = None, cfg: DemoConfig | None = None, say=print,
             progress: Progress | None = None) -> dict:
    """Run every stage in a fresh runs folder; return where everything went (``demo_summary.json``).

    Tables and plots go to ``<invocation>/demo/`` and, when ``out`` is given, to ``out``. ``say``
    gets the stage messages (``[demo] <stage>: detbench ...``) and each stage's result in a line;
    ``progress``: see :data:`Progress` (None: no bars). A failing stage raises its DetbenchError
    (InputError stays InputError) as one line naming the stage's command.
    """

    cfg = cfg or DemoConfig()
    out = Path(out) if out is not None else None
    check_out(out)
    base = base_weights(cfg).resolve()
    if out is not None:
        from detbench.core.fileio import ensure_writable

        ensure_writable(out, "demo results", inputs={"--base": base})  # not found out after the run
    reused = reusable_synth(cfg)
    check_device(cfg.device)
    import torch

    # one compute thread: the data-loader worker takes the other core of a 2-core laptop, and two
    # OpenMP threads competing with it (or anything else) made training steps ~10x slower
    torch.set_num_threads(1)
    root = new_invocation_dir(cfg.seed)
    saved_env = os.environ.get(paths.ENV_VAR)
    os.environ[paths.ENV_VAR] = str(root)
    try:
        return _stages(root, out, base, reused, cfg, say, progress)
    finally:
        if saved_env is None:
            os.environ.pop(paths.ENV_VAR, None)
        else:
            os.environ[paths.ENV_VAR] = saved_env


def _stages(root: Path, out: Path | None, base: Path, reused: Path | None, cfg: DemoConfig, say,
            progress: Progress | None) -> dict:
    res = root / "demo"            # compare names its tables after this folder: "Comparison `demo`"
    res.mkdir()
    t_all = time.perf_counter()
    say(f"[demo] every artifact of this run goes to {root}")
    if reused:
        say(f"[demo] synth: reusing {shown(reused)} (written with the same options)")
    synth_dir = reused or root / "synth"
    runner = Runner("demo", say, progress, prefix=("--runs-dir", shown(root)))
    got = runner.run_all(pipeline(root, res, base, synth_dir, reused is not None, cfg, say))
    data_dir, run_dir, motion = got["prepare"][0], got["train head-only"], got["train-motion"].out_dir
    training, drawn = got["analyze"][0], got["show-tracks"]
    frames = drawn["frames"]
    shutil.copy(frames[len(frames) // 2], res / "tracks_example.png")
    timings = {**runner.timings, "total": round(time.perf_counter() - t_all, 1)}
    published = out or res
    summary = {"config": asdict(cfg), "base": shown(base), "runs": shown(root), "results": shown(published),
               "comparison": shown(published / "comparison.md"),
               "detector_ap": shown(published / "detector_ap.json"),
               "training_report": shown(published / training.relative_to(res) / "report.md"),
               "synth": shown(synth_dir), "dataset": shown(data_dir), "training_run": shown(run_dir),
               "motion_model": shown(motion), "render": shown(drawn["out_dir"]),
               "commands": [" ".join(argv) for argv in runner.commands], "timings_s": timings}
    (res / SUMMARY).write_text(json.dumps(summary, indent=2) + "\n")
    if out is not None:
        check_out(out)  # again: something else may have appeared there while the demo ran
        if not publish(res, out):
            say(f"[demo] {shown(out)} left as it was: it holds these results already (only run folders, "
                "times, versions and hashes differ)")
    return summary


def pipeline(root: Path, res: Path, base: Path, synth_dir: Path, reused: bool, cfg: DemoConfig, say) -> list:
    """The demo's stages (:mod:`detbench.pipeline`): each the library call behind the ``detbench``
    command it shows, the later ones reading the earlier ones' values (``v[name]``)."""
    from detbench.analysis.report import analyze_run
    from detbench.compare.changes import answers
    from detbench.compare.options import ComparisonOptions, RunContext
    from detbench.compare.pipeline import run_comparison
    from detbench.data.prepare import prepare
    from detbench.data.synthetic import write_dataset
    from detbench.detect.eval_det import eval_det
    from detbench.detect.resolved import resolve, resolve_detectors
    from detbench.motion.settings import MotionCallbacks, split_options
    from detbench.motion.train import train_motion
    from detbench.render.tracks import show_tracks
    from detbench.train.trainer import train
    from detbench.tuning.tune import grid_points, tune

    run = "head"
    early, final = f"epoch{cfg.early_epoch}", f"epoch{cfg.headonly_epochs}"

    def say_ap(result) -> None:
        shutil.copy(result.files[1], res / "detector_ap.md")
        say("AP50: " + ", ".join(f"{k} {v['AP50']:.3f}" for k, v in result.results.items()))

    def say_plan(p) -> None:
        say(f"train: {p.train_windows} windows from {p.train_sequences} sequences; val: {p.val_windows} windows; "
            f"model {p.parameters:,} parameters; {p.steps} steps of {p.batch}")

    def say_iou(metrics: dict) -> None:
        if "val" in metrics:
            m = metrics["val"]
            say(f"next-box IoU on val: TrackSSM {m['trackssm_iou']:.4f}, constant velocity "
                f"{m['const_velocity_iou']:.4f}, last box {m['last_box_iou']:.4f}")

    def say_best(path: Path) -> None:
        best = json.loads(Path(path).read_text())["best"]
        say(f"best: {best['options']} (HOTA {100 * best['HOTA']:.2f}, IDSW {best['IDSW']}) -> {shown(path)}")

    def compare(data_dir: Path, motion: Path):
        result = run_comparison(resolve_detectors([early, final], Path(data_dir), "val", run, device=cfg.device),
                                list(cfg.trackers), ComparisonOptions(
                                    name=res.name, tracker_options={"trackssm": {"weights": str(motion)}}),
                                RunContext(results_root=res.parent, progress=lambda s: say(f"tracking + evaluating {s}")))
        failed = [p for p in result["pairs"] if p["status"] != "ok"]
        if failed:
            raise DetbenchError(f"{len(failed)} of {len(result['pairs'])} pairs failed: " + "; ".join(
                f"{p['detector']} x {p['tracker']}: {p.get('error', p['status'])}" for p in failed))
        return result

    def tunings(data_dir: Path, motion: Path) -> list[Stage]:
        stages = []
        for det in (early, final):     # one tuning per (detector, tracker) pair: none favours a detector
            for trk in cfg.trackers:   # the same grid and objective for every tracker, on the tune split
                fixed = {"weights": str(motion)} if trk == "trackssm" else {}
                opts = [a for k, v in fixed.items() for a in ("--tracker-opt", f"{k}={shown(v)}")]
                stages.append(Stage(
                    f"tune {trk} {det}", ("tune", "--tracker", trk, "--detector", det, "--run", run, "--data",
                                          shown(data_dir), "--split", "tune", "--device", cfg.device, *opts),
                    lambda cb, trk=trk, det=det, fixed=fixed: tune(
                        trk, resolve(det, str(data_dir), "tune", run, device=cfg.device), "val",
                        base_options=fixed, progress=counting(cb, len(grid_points(trk)))),
                    bar="tune", tell=say_best))
        return stages

    def show(data_dir: Path, comparison: dict) -> Stage:
        pair = next(p for p in comparison["pairs"] if p["detector"] == final and p["tracker"] == cfg.trackers[-1])
        seq = next(iter(next(p for p in comparison["pairs"] if p["status"] == "ok")["per_sequence"]))
        return Stage("show-tracks", ("show-tracks", "--tracks", shown(pair["tracks"]), "--data", shown(data_dir),
                                     "--seq", seq, "--out", shown(root / "render"), "--max-frames", "12",
                                     "--scale", "0.4"),
                     lambda _: show_tracks(str(data_dir), seq, "val", tracks_dir=pair["tracks"],
                                           out=str(root / "render"), scale=0.4, max_frames=12))

    synth = Stage("synth", ("synth", shown(synth_dir), "--scenes", cfg.scenes, "--keyframes", cfg.keyframes,
                            "--cameras", cfg.camera, "--seed", cfg.data_seed, "--style", cfg.style),
                  lambda cb: write_dataset(str(synth_dir), scenes=cfg.scenes, keyframes=cfg.keyframes,
                                           cameras=(cfg.camera,), seed=cfg.data_seed, style=cfg.style,
                                           progress=counting(cb, cfg.scenes * cfg.keyframes, count=lambda n: n)),
                  bar="synth")
    data = lambda v: v["prepare"][0]  # noqa: E731 - the prepared dataset, as its stage returned it
    motion = lambda v: v["train-motion"].out_dir  # noqa: E731
    return [
        *([] if reused else [synth]),
        Stage("prepare", ("prepare", "--dataroot", shown(synth_dir), "--version", "v1.0-synth", "--name", "demo",
                          "--cameras", cfg.camera, "--min-visibility", cfg.min_visibility, "--min-size", cfg.min_size),
              lambda cb: prepare(str(synth_dir), "v1.0-synth", cameras=cfg.camera, name="demo",
                                 min_visibility=cfg.min_visibility, min_size=cfg.min_size, progress=cb),
              bar="prepare"),
        lambda v: Stage("train head-only", ("train", "--data", shown(data(v)), "--recipe", "demo", "--name", run,
                                            "--init", shown(base), "--epochs", cfg.headonly_epochs, "--device",
                                            cfg.device, "--set", f"seed={cfg.seed}"),
                        lambda cb: train(str(data(v)), recipe="demo", name=run, init=str(base),
                                         epochs=cfg.headonly_epochs, device=cfg.device, echo=say, progress=cb,
                                         seed=cfg.seed),
                        bar="train"),
        lambda v: Stage("detector AP", ("eval-det", "--detector", f"{early},{final}", "--run", run, "--data",
                                        shown(data(v)), "--split", "val", "--device", cfg.device, "--out",
                                        shown(root / "eval_det"), "--json", shown(res / "detector_ap.json")),
                        lambda cb: eval_det(str(data(v)), "val", detectors=[early, final], run=run,
                                            device=cfg.device, out=str(root / "eval_det"),
                                            json_path=str(res / "detector_ap.json"), progress=cb),
                        bar="eval-det", tell=say_ap),
        lambda v: Stage("train-motion", ("train-motion", "--data", shown(data(v)), "--epochs", cfg.motion_epochs,
                                         "--name", "demo", "--device", cfg.device, *_flags(cfg.motion_options)),
                        lambda cb: train_motion(str(data(v)), *split_options({"epochs": cfg.motion_epochs,
                                                                               **cfg.motion_options}),
                                                name="demo", device=cfg.device,
                                                callbacks=MotionCallbacks(on_plan=say_plan, progress=cb,
                                                                          on_metrics=say_iou)),
                        bar="train-motion"),
        lambda v: tunings(data(v), motion(v)),
        lambda v: Stage("compare", ("compare", "--detectors", f"{early},{final}", "--trackers",
                                    ",".join(cfg.trackers), "--run", run, "--data", shown(data(v)), "--split", "val",
                                    "--name", res.name, "--results-dir", shown(res.parent), "--device", cfg.device,
                                    "--tracker-opt", f"trackssm:weights={shown(motion(v))}"),
                        lambda _: compare(data(v), motion(v)), tell=lambda r: [say(line) for line in answers(r)]),
        lambda v: Stage("analyze", ("analyze", run, "--out", shown(res / "training")),
                        lambda _: analyze_run(str(v["train head-only"]), str(res / "training")),
                        tell=lambda r: [say(f"warning: {w}") for w in r[1]["warnings"]]),
        lambda v: show(data(v), v["compare"]),
    ]
