"""``train_motion``: train the TrackSSM motion model on a prepared dataset's ground-truth tracks
and save it as ``runs/motion/<name>/`` (what ``detbench train-motion`` runs).

The recipe is :mod:`trackers.trackssm.train`'s, the network :class:`trackers.trackssm.model.TrackSSM`;
this module decides the data (train split windows, the val split and extra folders to report
on), the step count, the timing and what is written (``model.pth``, ``config.json``,
``meta.json``, ``loss.png``, atomically). It reports through callbacks and draws nothing.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from detbench import threads as thread_policy
from detbench.core import paths
from detbench.core.devices import check_device
from detbench.core.errors import InputError
from detbench.core.fileio import ensure_writable
from detbench.core.provenance import make_meta
from detbench.data.layout import PreparedDataset, find_dataset
from detbench.motion.windows import data_hash, dataset_windows, split_sequences
from trackers.trackssm import checkpoint
from trackers.trackssm.data import subset
from trackers.trackssm.progress import loss_curve_png

#: what ``train_motion`` uses where the caller leaves a size or schedule option None (a key not
#: here: :class:`trackers.trackssm.train.TrainConfig`'s default): the paper's model for image-plane
#: motion; for ground-plane motion a small model trained longer (measured in benchmarks/README.md:
#: the paper-size model learned nothing over calibrated constant velocity in 400 steps, and smaller
#: models given more steps for the same CPU minutes did best)
RECIPES = {"image": {"d_model": 256, "layers": 6},
           "ground": {"d_model": 48, "layers": 2, "steps": 2500, "lr": 3e-3}}


@dataclass(frozen=True)
class MotionPlan:
    """What is about to be trained, known once the data is read (before any step)."""

    train_windows: int
    train_sequences: int
    val_windows: int           # 0 without a val split
    parameters: int
    steps: int
    batch: int                 # windows per step: the batch size, or every window when fewer
    threads: str = ""          # the torch thread count and where it comes from (one line)


@dataclass
class MotionResult:
    out_dir: Path              # runs/motion/<name>/
    metrics: dict              # also in meta.json: train_seconds, ..., "val" and "eval:<folder>" IoU dicts
    losses: list[float]        # per step
    train_seconds: float       # wall
    train_cpu_seconds: float   # CPU time of this process (does not depend on what else runs)


def train_motion(data: str | Path | None, steps: int | None = None, epochs: int | None = None,
                 batch_size: int | None = None, lr: float | None = None, warmup_steps: int | None = None,
                 weight_decay: float | None = None, grad_clip: float | None = None, flip: float | None = None,
                 l1_weight: float | None = None, giou_weight: float | None = None, frame_rate: float = 2.0,
                 device: str = "cpu", seed: int = 0, d_model: int | None = None, layers: int | None = None,
                 residual_head: bool = True, relative: bool = True, cv_anchor: bool = True,
                 flow_input: bool = False, ground: bool = False, max_windows: int | None = None,
                 name: str | None = None, eval_data: list = (), threads: int | None = None,
                 on_plan: Callable[[MotionPlan], None] | None = None,
                 progress: Callable[[int, int, float, float], None] | None = None,
                 on_metrics: Callable[[dict], None] | None = None) -> MotionResult:
    """Train TrackSSM on the train split of ``data`` (:func:`detbench.data.layout.find_dataset`)
    and save it to ``runs/motion/<name>`` (default: the dataset's folder name).

    Windows are cut at ``frame_rate`` (Hz), the target never in its history; ``max_windows``:
    a seeded random subset of the training windows. ``steps`` or ``epochs`` (passes over the
    training windows), not both; None for the other :class:`trackers.trackssm.train.TrainConfig`
    fields means its default. The model: ``d_model`` wide (a multiple of 4), ``layers`` encoder
    layers and decoder blocks, and the deviations of :class:`trackers.trackssm.model.ModelConfig`.
    Next-box IoU of TrackSSM, constant velocity and the last box is measured on the val split (when
    there is one) and on every ``eval_data`` MOT folder (read before training: a bad folder fails
    in seconds). ``threads``: torch threads for the whole run (default 1:
    :func:`detbench.threads.decide`); the weights follow the count, so meta.json ``threads`` and
    ``metrics["threads"]`` record it.

    Callbacks: ``on_plan(MotionPlan)`` once the data is read, before the first step;
    ``progress(step, total_steps, loss, lr)`` after each step (and ``(0, total_steps, nan, 0.0)``
    just before the first); ``on_metrics(metrics)`` once
    evaluated, before saving.
    """
    import time

    from trackers.trackssm.model import ModelConfig, build_model, count_parameters
    from trackers.trackssm.train import TrainConfig, evaluate, train

    if steps is not None and epochs is not None:
        raise InputError("--steps and --epochs: give one of them, not both")
    recipe = RECIPES["ground" if ground else "image"]
    d_model = recipe["d_model"] if d_model is None else d_model
    layers = recipe["layers"] if layers is None else layers
    lr = recipe.get("lr") if lr is None else lr
    steps = recipe.get("steps", TrainConfig().steps) if steps is None and epochs is None else steps
    data_dir = find_dataset(data, require_sequences=True)
    check_device(device)
    out = paths.motion_root() / (name or data_dir.name)
    ensure_writable(out, "motion model", inputs={"--data": data_dir, "--eval-data": list(eval_data)})
    if d_model % 4:
        raise InputError(f"--d-model {d_model}: must be a multiple of 4 (sine embedding per coordinate)")
    chosen = thread_policy.decide(threads, small_ops=True)  # fixed for the run: the weights follow it
    train_seqs = [s for s in split_sequences(data_dir, "train") if s.parent.name == "train"]
    val_seqs = [s for s in split_sequences(data_dir, "val") if s.parent.name == "val"]
    cfg = ModelConfig(d_model=d_model, n_enc_layers=layers, n_dec_blocks=layers, residual_head=residual_head,
                      relative=relative, flow_input=flow_input, cv_anchor=cv_anchor, ground=ground)
    # held-out sets always try the cameras (for the calibrated baseline); a ground model needs them
    held_out = "require" if ground else "try"
    wins = dataset_windows(train_seqs, cfg.history, frame_rate, "training set",
                           source=str(PreparedDataset(data_dir).gt_dir("train")),
                           calibration="require" if ground else "skip")
    if max_windows is not None and max_windows < len(wins):
        wins = subset(wins, max_windows, seed)
    val = dataset_windows(val_seqs, cfg.history, frame_rate, "val set", calibration=held_out) if val_seqs else None
    extras = []
    for extra in eval_data:  # read before training: a bad folder fails in seconds, not after it
        seqs = split_sequences(Path(extra), "val")
        extras.append((extra, dataset_windows(seqs, cfg.history, frame_rate, "eval set", source=extra,
                                              calibration=held_out)))
    hyper = {k: v for k, v in dict(batch_size=batch_size, lr=lr, warmup_steps=warmup_steps,
                                   weight_decay=weight_decay, grad_clip=grad_clip, flip=flip,
                                   l1_weight=l1_weight, giou_weight=giou_weight).items() if v is not None}
    batch_size = hyper.setdefault("batch_size", TrainConfig().batch_size)
    if epochs is not None:
        steps = epochs * max(1, len(wins) // min(batch_size, len(wins)))
    tcfg = TrainConfig(steps=steps, **hyper, seed=seed, device=device)
    model = build_model(cfg, seed=seed)
    with thread_policy.using(chosen):
        if on_plan:
            on_plan(MotionPlan(len(wins), len(train_seqs), len(val) if val is not None else 0,
                               count_parameters(model), tcfg.steps, min(batch_size, len(wins)), chosen.describe()))
        on_step = None if progress is None else (lambda step, loss, lr_: progress(step, tcfg.steps, loss, lr_))
        t0, c0 = time.perf_counter(), time.process_time()
        if progress:
            progress(0, tcfg.steps, float("nan"), 0.0)
        losses = train(model, wins, tcfg, on_step=on_step)
        train_s, train_cpu = time.perf_counter() - t0, time.process_time() - c0
        # wall time depends on what else runs on the machine; CPU time of this process does not
        metrics = {"train_seconds": train_s, "train_cpu_seconds": train_cpu, "threads": chosen.count,
                   "train_windows": len(wins), "final_loss": sum(losses[-20:]) / len(losses[-20:])}
        if val is not None:
            metrics["val"] = evaluate(model, val, device=device)
        for extra, ewins in extras:
            metrics[f"eval:{extra}"] = evaluate(model, ewins, device=device)
    if on_metrics:
        on_metrics(metrics)
    options = {"data": str(data_dir), **tcfg.to_dict(), "frame_rate": frame_rate, "eval_data": list(eval_data),
               "max_windows": max_windows, "model": cfg.to_dict()}
    # held-out sets are read with their cameras (calibrated CV): their frames.json is an input too
    hashes = {"train": data_hash(train_seqs, ground), "val": data_hash(val_seqs, True) if val_seqs else None,
              **{f"eval:{e}": data_hash(split_sequences(Path(e), "val"), True) for e in eval_data}}
    meta = make_meta("train-motion", options=options, inputs=hashes, threads=chosen.record())
    meta["metrics"] = metrics
    checkpoint.save(out, model.cpu(), {"frame_rate": frame_rate, "data": str(data_dir.resolve()),
                                       "data_hash": hashes, "train": tcfg.to_dict(), "metrics": metrics,
                                       "loss": losses},
                    meta, extra_files={"loss.png": loss_curve_png(losses, tcfg)})
    return MotionResult(out, metrics, losses, train_s, train_cpu)
