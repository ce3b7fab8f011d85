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

from detbench import threads as thread_policy
from detbench.core import paths
from detbench.core.devices import check_device
from detbench.core.fileio import ensure_writable
from detbench.core.provenance import make_meta
from detbench.data.layout import PreparedDataset, find_dataset
from detbench.motion.settings import RECIPES, MotionCallbacks, MotionModel, MotionRecipe
from detbench.motion.weights import save_model
from detbench.motion.windows import data_hash, dataset_windows, split_sequences
from trackers.trackssm.data import subset
from trackers.trackssm.progress import loss_curve_png


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
    epoch_copies: int = 1      # jittered copies, one a pass (train_windows: one copy's windows)


@dataclass
class MotionResult:
    out_dir: Path              # runs/motion/<name>/
    metrics: dict              # also in meta.json: train_seconds, ..., "val" and "eval:<folder>" IoU dicts
    losses: list[float]        # per step
    train_seconds: float       # wall
    train_cpu_seconds: float   # CPU time of this process (does not depend on what else runs)


def train_motion(data: str | Path | None, recipe: MotionRecipe = MotionRecipe(), model: MotionModel = MotionModel(),
                 name: str | None = None, eval_data: list = (), device: str = "cpu", threads: int | None = None,
                 callbacks: MotionCallbacks = MotionCallbacks()) -> MotionResult:
    """Train TrackSSM on the train split of ``data`` (:func:`detbench.data.layout.find_dataset`)
    with ``recipe`` and ``model`` (:mod:`detbench.motion.settings`) and save it to
    ``runs/motion/<name>`` (default: the dataset's folder name).

    Windows are cut at ``recipe.frame_rate`` (Hz), the target never in its history. Next-box IoU
    of TrackSSM, constant velocity and the last box is measured on the val split (when there is
    one) and on every ``eval_data`` MOT folder (read before training: a bad folder fails in
    seconds). ``threads``: torch threads for the whole run (default 1:
    :func:`detbench.threads.decide`); the weights follow the count, so meta.json ``threads`` and
    ``metrics["threads"]`` record it. ``callbacks``: :class:`~detbench.motion.settings.MotionCallbacks`.
    """
    import time

    from trackers.trackssm.model import build_model, count_parameters
    from trackers.trackssm.train import evaluate, train

    plane = RECIPES["ground" if model.ground else "image"]
    ground, frame_rate = model.ground, recipe.frame_rate
    data_dir = find_dataset(data, require_sequences=True)
    check_device(device)
    out = paths.motion_root() / (name or data_dir.name)
    ensure_writable(out, "motion model", inputs={"--data": data_dir, "--eval-data": list(eval_data)})
    cfg = model.config(plane)
    chosen = thread_policy.decide(threads, small_ops=True)  # fixed for the run: the weights follow it
    train_seqs = [s for s in split_sequences(data_dir, "train") if s.parent.name == "train"]
    val_seqs = [s for s in split_sequences(data_dir, "val") if s.parent.name == "val"]
    # held-out sets always try the cameras (for the calibrated baseline); a ground model needs them
    held_out = "require" if ground else "try"
    wins = dataset_windows(train_seqs, cfg.history, frame_rate, "training set",
                           source=str(PreparedDataset(data_dir).gt_dir("train")),
                           calibration="require" if ground else "skip", jitter=recipe.jitter, seed=recipe.seed,
                           copies=recipe.copies)
    # per-epoch jitter: the copies are built like --jitter-copies', the trainer reads one a pass
    per_epoch = recipe.jitter_per_epoch
    n_train = len(wins) // per_epoch
    if recipe.max_windows is not None and recipe.max_windows < n_train:
        wins = subset(wins, recipe.max_windows, recipe.seed, per_epoch)
        n_train = recipe.max_windows
    val = dataset_windows(val_seqs, cfg.history, frame_rate, "val set", calibration=held_out) if val_seqs else None
    extras = []
    for extra in eval_data:  # read before training: a bad folder fails in seconds, not after it
        seqs = split_sequences(Path(extra), "val")
        extras.append((extra, dataset_windows(seqs, cfg.history, frame_rate, "eval set", source=extra,
                                              calibration=held_out)))
    tcfg = recipe.train_config(plane, n_train, device)
    net = build_model(cfg, seed=recipe.seed)
    progress = callbacks.progress
    with thread_policy.using(chosen):
        if callbacks.on_plan:
            callbacks.on_plan(MotionPlan(n_train, len(train_seqs), len(val) if val is not None else 0,
                                         count_parameters(net), tcfg.steps, min(tcfg.batch_size, n_train),
                                         chosen.describe(), per_epoch))
        on_step = None if progress is None else (lambda step, loss, lr_: progress(step, tcfg.steps, loss, lr_))
        t0, c0 = time.perf_counter(), time.process_time()
        if progress:
            progress(0, tcfg.steps, float("nan"), 0.0)
        losses = train(net, wins, tcfg, on_step=on_step, copies=per_epoch)
        train_s, train_cpu = time.perf_counter() - t0, time.process_time() - c0
        # wall time depends on what else runs on the machine; CPU time of this process does not
        metrics = {"train_seconds": train_s, "train_cpu_seconds": train_cpu, "threads": chosen.count,
                   "train_windows": n_train, "final_loss": sum(losses[-20:]) / len(losses[-20:])}
        if val is not None:
            metrics["val"] = evaluate(net, val, device=device)
        for extra, ewins in extras:
            metrics[f"eval:{extra}"] = evaluate(net, ewins, device=device)
    if callbacks.on_metrics:
        callbacks.on_metrics(metrics)
    noise = {"jitter": recipe.jitter} if recipe.jitter else {}  # absent at 0: files as before the option
    if recipe.jitter and recipe.jitter_copies > 1:
        noise["jitter_copies"] = recipe.jitter_copies
    if per_epoch > 1:
        noise["jitter_per_epoch"] = per_epoch
    options = {"data": str(data_dir), **tcfg.to_dict(), "frame_rate": frame_rate, "eval_data": list(eval_data),
               "max_windows": recipe.max_windows, **noise,
               "model": cfg.to_dict()}
    # held-out sets are read with their cameras (calibrated CV): their frames.json is an input too
    hashes = {"train": data_hash(train_seqs, ground), "val": data_hash(val_seqs, True) if val_seqs else None,
              **{f"eval:{e}": data_hash(split_sequences(Path(e), "val"), True) for e in eval_data}}
    meta = make_meta("train-motion", options=options, inputs=hashes, threads=chosen.record())
    meta["metrics"] = metrics
    save_model(out, net.cpu(), {"frame_rate": frame_rate, "data": str(data_dir.resolve()),
                                "data_hash": hashes, "train": tcfg.to_dict(), **noise, "metrics": metrics, "loss": losses},
               meta, extra_files={"loss.png": loss_curve_png(losses, tcfg)})
    return MotionResult(out, metrics, losses, train_s, train_cpu)
