"""The demo's pretrained base: a YOLOX-nano (7 classes) that detbench trains itself, once, from scratch.

The real study starts from COCO-pretrained YOLOX and trains only the head; the CPU demo has no
COCO weights (nothing downloads), so it starts from this base instead. The base is trained on its
own synthetic dataset (``BASE.data_seed``: other scenes than any demo dataset, whose seeds are small
numbers), and committed as ``weights/demo_base/yolox_nano_synth.pth`` (float16, the standalone export
format ``--init`` reads) with ``weights/demo_base/meta.json`` (commands, seeds, dataset, AP, sha256).

``make base-weights`` (``python -m detbench.commands.base_weights``, which draws the progress bars)
reproduces it: synth -> prepare -> train (recipe ``demo_base``, from scratch, ``epochs``) -> train again
(``continue_epochs``: the same recipe restarted, warmup and cosine, from the first cycle's last
checkpoint via ``--init``) -> eval-det on the base dataset's own val split -> export. Each stage calls
its library function with the arguments (and the command layer's defaults) of the ``detbench`` command
it is equivalent to; those commands are printed and recorded in meta.json.
"""
from __future__ import annotations

import datetime as _dt
import json
from dataclasses import asdict, dataclass
from pathlib import Path

from detbench.core import paths
from detbench.core.devices import check_device
from detbench.core.fileio import atomic_write_json, ensure_writable, sha256_file
from detbench.data.layout import PreparedDataset
from detbench.data.prepare import prepare
from detbench.detect.eval_det import eval_det
from detbench.pipeline import Progress, Runner, Stage, StageError  # noqa: F401 - StageError: this pipeline's error

WEIGHTS_DIR = Path(__file__).resolve().parent.parent / "weights" / "demo_base"
WEIGHTS = WEIGHTS_DIR / "yolox_nano_synth.pth"
META = WEIGHTS_DIR / "meta.json"
REPRODUCE = "make base-weights  (python -m detbench.commands.base_weights)"


@dataclass(frozen=True)
class BaseConfig:
    data_seed: int = 1000          # the demo's datasets use seeds 0..N; rng([1000, i]) gives other scenes
    scenes: int = 80               # 70/20/10 -> 56 train (896 images), 16 val, 8 tune
    keyframes: int = 16
    camera: str = "CAM_FRONT"
    min_visibility: int = 2        # the same label filter as the demo's dataset
    min_size: float = 40.0
    recipe: str = "demo_base"
    epochs: int = 8                # cycle 1: from scratch
    train_seed: int = 0
    # cycle 2: the demo_base schedule again (warm restart to 2e-3, cosine to 1e-4) from cycle 1's last
    # checkpoint; 0 = one cycle only. Two cycles because the first base (8 epochs, AP50 0.434; 20 in all: 0.751) was
    # cut short under load and continuing it was cheaper than starting over.
    continue_epochs: int = 12
    continue_seed: int = 1
    device: str = "cpu"


BASE = BaseConfig()


def new_stamp() -> str:
    """The time stamp naming one invocation's ``runs/base_weights_<stamp>*`` folders."""
    return _dt.datetime.now().strftime("%Y%m%d-%H%M%S")


def half_state(state: dict) -> dict:
    """Floating tensors as float16 (half the file; the model casts them back on load), others as they are."""

    return {k: (v.half() if v.is_floating_point() else v).contiguous() for k, v in state.items()}


def make_base_weights(cfg: BaseConfig = BASE, out_dir: Path = WEIGHTS_DIR, say=print, stamp: str | None = None,
                      progress: Progress | None = None) -> dict:
    """Run the stages (in fresh ``runs/base_weights_<stamp>*`` folders) and write the weights + meta.

    ``stamp`` continues an interrupted invocation: its synth and prepare outputs, when complete, are kept
    (and so are its trainings whose last checkpoint exists). ``progress(stage)``
    (:data:`detbench.pipeline.Progress`; stages: synth (its callback gets n images written), prepare,
    train, train_c2, eval-det; None: no progress shown). A stage's DetbenchError is raised as a
    :class:`~detbench.pipeline.StageError` naming its command."""
    import torch

    from detbench.train.checkpoint import read_checkpoint, save_pth

    torch.set_num_threads(1)
    stamp = stamp or new_stamp()
    root = paths.runs_root()
    synth_dir = root / f"base_weights_synth_{stamp}"
    data_name, run = f"base_weights_{stamp}", f"base_weights_{stamp}"
    data_dir = paths.data_dir(data_name)
    run2 = f"{run}_c2"
    final_run, final_epoch = (run2, cfg.continue_epochs) if cfg.continue_epochs else (run, cfg.epochs)
    eval_dir = root / f"base_weights_eval_{stamp}"
    done = {"synth": (synth_dir / "synth.json").is_file(), "prepare": PreparedDataset(data_dir).exists(),
            # a training is complete once its last epoch's checkpoint exists
            "train": (paths.train_dir(run) / f"epoch_{cfg.epochs}.pth").is_file(),
            "train_c2": bool(cfg.continue_epochs) and (paths.train_dir(run2) / f"epoch_{cfg.continue_epochs}.pth").is_file()}

    def stage(name: str, argv: tuple, call) -> Stage:
        """A stage named as its subcommand (the trainings "train" and "train_c2"), and so is its bar."""
        return Stage(name, argv, call, bar=name, kept=done.get(name, False))

    init = paths.train_dir(run) / f"epoch_{cfg.epochs}.pth"
    stages = [
        stage("synth", ("synth", str(synth_dir), "--scenes", str(cfg.scenes), "--keyframes", str(cfg.keyframes),
                        "--cameras", cfg.camera, "--seed", str(cfg.data_seed)),
              lambda bar: _synth(synth_dir, cfg, bar, say)),
        stage("prepare", ("prepare", "--dataroot", str(synth_dir), "--version", "v1.0-synth", "--name", data_name,
                          "--cameras", cfg.camera, "--min-visibility", str(cfg.min_visibility),
                          "--min-size", str(cfg.min_size)),
              lambda bar: _prepare(synth_dir, data_name, cfg, bar, say)),
        stage("train", ("train", "--data", str(data_dir), "--recipe", cfg.recipe, "--name", run, "--epochs",
                        str(cfg.epochs), "--device", cfg.device, "--set", f"seed={cfg.train_seed}"),
              lambda bar: _train(data_dir, run, cfg.epochs, None, cfg.train_seed, cfg, bar, say)),
        *([stage("train_c2", ("train", "--data", str(data_dir), "--recipe", cfg.recipe, "--name", run2,
                              "--epochs", str(cfg.continue_epochs), "--device", cfg.device,
                              "--init", str(init), "--set", f"seed={cfg.continue_seed}"),
                 lambda bar: _train(data_dir, run2, cfg.continue_epochs, init, cfg.continue_seed, cfg, bar, say))]
          if cfg.continue_epochs else []),
        stage("eval-det", ("eval-det", "--detector", f"epoch{final_epoch}", "--run", final_run,
                           "--data", str(data_dir), "--split", "val", "--device", cfg.device, "--out", str(eval_dir)),
              lambda bar: _eval_det(data_dir, f"epoch{final_epoch}", final_run, eval_dir, cfg, bar, say)),
    ]
    runner = Runner("base-weights", say, progress, show_name=False,
                    kept_note=f"kept from the interrupted invocation {stamp}")
    runner.run_all(stages)
    timings = runner.timings
    ckpt = paths.train_dir(final_run) / f"epoch_{final_epoch}.pth"
    meta, state = read_checkpoint(ckpt)
    ap = json.loads((eval_dir / "eval.json").read_text())
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    weights = out_dir / WEIGHTS.name
    save_pth(weights, {"model": half_state(state), "start_epoch": int(meta["epoch"]),
                       "detbench": {**meta, "dtype": "float16", "source": "detbench base-weights"}})
    doc = {
        "file": weights.name, "sha256": sha256_file(weights), "bytes": weights.stat().st_size,
        "dtype": "float16 (floating tensors; BatchNorm counters int64)",
        "model": meta["model_size"], "num_classes": meta["num_classes"], "class_names": meta["class_names"],
        "input_size": meta["input_size"], "epoch": meta["epoch"], "step": meta["step"],
        # epoch / step above count the last cycle only
        "epochs_total": cfg.epochs + cfg.continue_epochs,
        "cycles": [{"run": run, "epochs": cfg.epochs, "seed": cfg.train_seed, "init": None}]
                  + ([{"run": run2, "epochs": cfg.continue_epochs, "seed": cfg.continue_seed,
                       "init": f"{run}/epoch_{cfg.epochs}.pth"}] if cfg.continue_epochs else []),
        "config": asdict(cfg),
        "commands": runner.commands,
        "reproduce": REPRODUCE,
        "dataset": {"generator": "detbench synth", "seed": cfg.data_seed, "scenes": cfg.scenes,
                    "keyframes": cfg.keyframes, "camera": cfg.camera,
                    "splits": json.loads((synth_dir / "splits.json").read_text()),
                    "synth": json.loads((synth_dir / "synth.json").read_text())},
        "val_ap": {k: ap.get(k) for k in ("AP", "AP50", "AP75")},
        "val_ap_note": "pycocotools on the base dataset's own val split (float32 weights, before the float16 cast)",
        "checkpoint_sha256_fp32": sha256_file(ckpt),
        "timings_s": timings,
        "kept_stages": [s.name for s in stages if s.kept],  # done by an interrupted invocation (--stamp)
        "machine": {"torch_threads": 1, "cpu_count": __import__("os").cpu_count(), "device": cfg.device},
        "trained_at": stamp,
    }
    atomic_write_json(out_dir / META.name, doc)
    say(f"\n[base-weights] wrote {weights} ({doc['bytes']:,} bytes, sha256 {doc['sha256'][:12]}...), "
        f"val AP50 {doc['val_ap']['AP50']:.3f}, {sum(timings.values()):.0f} s")
    return doc


# The stages: each calls its library function as its command (detbench/commands/<name>.py) does, with
# that command's defaults for the options base-weights does not give.

def _synth(out: Path, cfg: BaseConfig, progress, say) -> None:
    from detbench.data.synthetic import write_dataset

    ensure_writable(out, "synthetic dataset")
    write_dataset(out, scenes=cfg.scenes, keyframes=cfg.keyframes, cameras=(cfg.camera,), sweeps=False,
                  seed=cfg.data_seed, version="v1.0-synth", style="default", force=False, progress=progress)
    s = json.loads((out / "synth.json").read_text())
    say(f"wrote {out}: {s['scenes']} scenes, {s['images']} images, {s['annotations']} annotations")


def _prepare(dataroot: Path, name: str, cfg: BaseConfig, progress, say) -> None:
    out, summary = prepare(str(dataroot), "v1.0-synth", cameras=cfg.camera, splits=None,
                           min_visibility=cfg.min_visibility, min_size=float(cfg.min_size), out=None, name=name,
                           progress=progress)
    say(f"prepared {out}: " + ", ".join(f"{split} {s['frames']} frames, {sum(s['boxes'].values())} boxes"
                                        for split, s in summary.items()))


def _train(data_dir: Path, name: str, epochs: int, init: Path | None, seed: int, cfg: BaseConfig, progress,
           say) -> None:
    check_device(cfg.device)  # before the heavy imports below
    ensure_writable(paths.train_dir(name), "training run")
    from detbench.train.trainer import train

    # `--set seed=N` gives the string "N"; the recipe coerces it to the field's int either way
    run_dir = train(str(data_dir), recipe=cfg.recipe, model=None, init=None if init is None else str(init),
                    name=name, epochs=epochs, batch_size=None, device=cfg.device, resume=False, split="train",
                    on_bad_image="skip", save_every=0, log_every=None, echo=say, progress=progress, seed=str(seed))
    say(f"run: {run_dir}")


def _eval_det(data_dir: Path, detector: str, run: str, out: Path, cfg: BaseConfig, progress, say) -> None:
    res = eval_det(str(data_dir), "val", detectors=[detector], caches=(), run=run, conf=0.01, nms=0.65,
                   batch_size=8, device=cfg.device, cameras=None, score_thr=0.3, out=str(out), json_path=None,
                   progress=progress)
    r = res.results[detector]
    say(f"{detector}: " + ", ".join(f"{k} {'-' if r.get(k) is None else format(r[k], '.3f')}"
                                    for k in ("AP", "AP50", "AP75"))
        + "; wrote " + ", ".join(map(str, res.files)))


if __name__ == "__main__":
    raise SystemExit(f"python -m detbench.base_weights: moved; run `{REPRODUCE}`")
