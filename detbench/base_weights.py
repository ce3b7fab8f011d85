"""The demo's pretrained base: a YOLOX-nano (7 classes) that detbench trains itself, once, from scratch.

The real study starts from COCO-pretrained YOLOX and trains only the head; the CPU demo has no
COCO weights (nothing downloads), so it starts from this base instead. The base is trained on its
own synthetic dataset (``BASE.data_seed``: other scenes than any demo dataset, whose seeds are small
numbers), and committed as ``weights/demo_base/yolox_nano_synth.pth`` (float16, the standalone export
format ``--init`` reads) with ``weights/demo_base/meta.json`` (commands, seeds, dataset, AP, sha256).

``make base-weights`` (``python -m detbench.base_weights``) reproduces it: synth -> prepare -> train
(recipe ``demo_base``, from scratch, ``epochs``) -> train again (``continue_epochs``: the same recipe
restarted, warmup and cosine, from the first cycle's last checkpoint via ``--init``) -> eval-det on the
base dataset's own val split -> export.
"""
from __future__ import annotations

import datetime as _dt
import json
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from detbench import paths
from detbench.data.layout import PreparedDataset

WEIGHTS_DIR = Path(__file__).resolve().parent.parent / "weights" / "demo_base"
WEIGHTS = WEIGHTS_DIR / "yolox_nano_synth.pth"
META = WEIGHTS_DIR / "meta.json"


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


def _run(argv: list[str], say) -> None:
    from detbench.cli import main
    from detbench.errors import DetbenchError

    say(f"\n[base-weights] detbench {' '.join(argv)}")
    code = main(argv)
    if code:
        raise DetbenchError(f"base-weights stage `detbench {' '.join(argv)}` failed (exit {code})")


def half_state(state: dict) -> dict:
    """Floating tensors as float16 (half the file; the model casts them back on load), others as they are."""
    import torch

    return {k: (v.half() if v.is_floating_point() else v).contiguous() for k, v in state.items()}


def make_base_weights(cfg: BaseConfig = BASE, out_dir: Path = WEIGHTS_DIR, say=print, stamp: str | None = None) -> dict:
    """Run the stages (in fresh ``runs/base_weights_<stamp>*`` folders) and write the weights + meta.

    ``stamp`` continues an interrupted invocation: its synth and prepare outputs, when complete, are kept."""
    import torch

    from detbench.fileio import atomic_write_json, sha256_file
    from detbench.train.checkpoint import read_checkpoint, save_pth

    torch.set_num_threads(1)
    stamp = stamp or _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    root = paths.runs_root()
    synth_dir = root / f"base_weights_synth_{stamp}"
    data_name, run = f"base_weights_{stamp}", f"base_weights_{stamp}"
    data_dir = paths.data_dir(data_name)
    run2 = f"{run}_c2"
    final_run, final_epoch = (run2, cfg.continue_epochs) if cfg.continue_epochs else (run, cfg.epochs)
    commands = [
        ["synth", str(synth_dir), "--scenes", str(cfg.scenes), "--keyframes", str(cfg.keyframes),
         "--cameras", cfg.camera, "--seed", str(cfg.data_seed)],
        ["prepare", "--dataroot", str(synth_dir), "--version", "v1.0-synth", "--name", data_name,
         "--cameras", cfg.camera, "--min-visibility", str(cfg.min_visibility), "--min-size", str(cfg.min_size)],
        ["train", "--data", str(data_dir), "--recipe", cfg.recipe, "--name", run, "--epochs", str(cfg.epochs),
         "--device", cfg.device, "--set", f"seed={cfg.train_seed}"],
    ]
    if cfg.continue_epochs:
        commands.append(["train", "--data", str(data_dir), "--recipe", cfg.recipe, "--name", run2,
                         "--epochs", str(cfg.continue_epochs), "--device", cfg.device,
                         "--init", str(paths.train_dir(run) / f"epoch_{cfg.epochs}.pth"),
                         "--set", f"seed={cfg.continue_seed}"])
    commands += [
        ["eval-det", "--detector", f"epoch{final_epoch}", "--run", final_run, "--data", str(data_dir), "--split", "val",
         "--device", cfg.device, "--out", str(root / f"base_weights_eval_{stamp}")],
    ]
    timings = {}
    # a stage's name: its subcommand, the trainings "train" and "train_c2"
    names = [a[0] if a[0] != "train" or a[a.index("--name") + 1] == run else "train_c2" for a in commands]
    done = {"synth": (synth_dir / "synth.json").is_file(), "prepare": PreparedDataset(data_dir).exists(),
            # a training is complete once its last epoch's checkpoint exists
            "train": (paths.train_dir(run) / f"epoch_{cfg.epochs}.pth").is_file(),
            "train_c2": bool(cfg.continue_epochs) and (paths.train_dir(run2) / f"epoch_{cfg.continue_epochs}.pth").is_file()}
    for name, argv in zip(names, commands):
        if done.get(name):
            say(f"[base-weights] kept from the interrupted invocation {stamp}: detbench {' '.join(argv)}")
            continue
        t0 = time.perf_counter()
        _run(argv, say)
        timings[name] = round(time.perf_counter() - t0, 1)
    ckpt = paths.train_dir(final_run) / f"epoch_{final_epoch}.pth"
    meta, state = read_checkpoint(ckpt)
    ap = json.loads((root / f"base_weights_eval_{stamp}" / "eval.json").read_text())
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
        "commands": [["detbench", *argv] for argv in commands],
        "reproduce": "make base-weights  (python -m detbench.base_weights)",
        "dataset": {"generator": "detbench synth", "seed": cfg.data_seed, "scenes": cfg.scenes,
                    "keyframes": cfg.keyframes, "camera": cfg.camera,
                    "splits": json.loads((synth_dir / "splits.json").read_text()),
                    "synth": json.loads((synth_dir / "synth.json").read_text())},
        "val_ap": {k: ap.get(k) for k in ("AP", "AP50", "AP75")},
        "val_ap_note": "pycocotools on the base dataset's own val split (float32 weights, before the float16 cast)",
        "checkpoint_sha256_fp32": sha256_file(ckpt),
        "timings_s": timings,
        "kept_stages": [name for name in names if done.get(name)],  # done by an interrupted invocation (--stamp)
        "machine": {"torch_threads": 1, "cpu_count": __import__("os").cpu_count(), "device": cfg.device},
        "trained_at": stamp,
    }
    atomic_write_json(out_dir / META.name, doc)
    say(f"\n[base-weights] wrote {weights} ({doc['bytes']:,} bytes, sha256 {doc['sha256'][:12]}...), "
        f"val AP50 {doc['val_ap']['AP50']:.3f}, {sum(timings.values()):.0f} s")
    return doc


def main(argv: list[str] | None = None) -> int:
    import argparse

    p = argparse.ArgumentParser(prog="python -m detbench.base_weights", description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=WEIGHTS_DIR, help="output folder (default: weights/demo_base)")
    p.add_argument("--stamp", default=None, help="continue the interrupted invocation of this time stamp")
    args = p.parse_args(sys.argv[1:] if argv is None else argv)
    make_base_weights(out_dir=args.out, stamp=args.stamp)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
