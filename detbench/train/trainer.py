"""The training loop (our own: YOLOX's stock trainer needs CUDA and cannot express the schedule).

``train(data_dir, recipe="stable_v3", ...) -> run dir``. Writes ``runs/train/<run>/``:
``recipe.json`` (+ ``phases``, ``iters_per_epoch``), ``run.json``, ``log.jsonl``, ``epoch_<N>.pth``,
``latest.pth`` and, with a frozen trunk, ``frozen_base.pth`` (see :mod:`detbench.train.checkpoint`).

It reads top to bottom: start or resume (:mod:`detbench.train.state`, decided once), the data,
the model on its device, the run's files, then the epochs (:mod:`detbench.train.loop`), which save
``epoch_<N>.pth`` and ``latest.pth`` as they end.
"""
from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Callable

import torch

from detbench import threads as thread_policy
from detbench.core.errors import DetbenchError, InputError
from detbench.core.fileio import atomic_write_json
from detbench.core.provenance import make_meta
from detbench.train import ddp
from detbench.train.data import CocoImages, TrainData, load_coco
from detbench.train.logging import RunLogger, truncate_log
from detbench.train.loop import BadImages, EpochLoop, LossWindow, StepInfo, TrainingError  # noqa: F401 - re-exported
from detbench.train.recipes import Recipe
from detbench.train.schedule import build_phases, phases_json
from detbench.train.state import RunStart, TrainingState, build_state, open_run


def train(data_dir, recipe: str = "stable_v3", model: str | None = None, init=None, name: str | None = None,
          epochs: int | None = None, batch_size: int | None = None, device: str = "cpu", resume: bool = False,
          split: str = "train", on_bad_image: str = "skip", save_every: int = 0, tensorboard: bool = True,
          progress: Callable[[int, int, str, str], None] | None = None, echo: Callable[[str], None] = print,
          log_every: int | None = None, on_step: Callable[[StepInfo], None] | None = None,
          threads: int | None = None, **overrides) -> Path:
    """Train a YOLOX detector on a prepared dataset; returns the run directory.

    ``resume=True`` continues run ``name`` from its ``latest.pth`` (exact: same steps, LR, weights).
    ``on_bad_image``: "skip" (warn, count, use the next image) or "stop" (InputError).
    ``save_every``: also write ``latest.pth`` every N steps. ``overrides``: recipe fields.
    ``log_every``: read the losses back from the device every N steps (default 20 on CUDA, 1 on
    CPU); ``log.jsonl`` still has one line per step, ``images_per_s`` the mean of its window.
    ``progress(step, total_steps, description, info)``: called on rank 0 at the start and after
    every logged step (:class:`detbench.train.logging.RunLogger`; the CLI draws a bar with it).
    ``on_step``: called with a :class:`~detbench.train.loop.StepInfo` after every step (the losses
    are then read back every step); an exception it raises stops the run there, like a kill.
    ``threads``: torch threads for the whole run (default: one per core,
    :func:`detbench.threads.decide`); the weights follow the count, so the first line says it and
    run.json ``threads`` records it.
    """

    rank, world, dev = ddp.setup(device)
    say = echo if rank == 0 else (lambda *_: None)
    chosen = thread_policy.decide(threads)
    say(chosen.describe())
    start = open_run(name, recipe, model, init, epochs, batch_size, resume, overrides, say)
    rec, run_dir = start.recipe, start.run_dir
    dataset, ipe, data_hash = _training_data(data_dir, split, rec, on_bad_image, world)
    phases = build_phases(rec)
    say("recipe " + ", ".join(f"{k}={v}" for k, v in dataclasses.asdict(rec).items()))

    state = build_state(start, ipe, rank, world, say)
    wrapped = _on_device(state, world, dev)
    if rank == 0:
        _record_start(start, state, phases, ipe, data_dir=data_dir, data_hash=data_hash, device=device,
                      world=world, split=split, threads=chosen.record())
    ddp.barrier(world)

    log = RunLogger(run_dir, rec.epochs * ipe, state.step, enabled=rank == 0, tensorboard=tensorboard,
                    progress=progress)
    state.started = time.perf_counter()
    window = LossWindow(log, state, log_every or (20 if dev.type == "cuda" else 1), world, dev)
    loop = EpochLoop(state, dataset, ipe, phases, wrapped, window, BadImages(say), rank, world, dev,
                     save_every=save_every, on_step=on_step)
    try:
        with thread_policy.using(chosen):
            loop.run()
    except (DetbenchError, RuntimeError) as e:
        line = _input_error_line(e)
        if line is None:
            raise
        raise InputError(f"{line} (fix it, then continue the run with "
                         f"`detbench train --resume --name {run_dir.name}`)") from None
    finally:
        log.close()
    if summary := loop.bad_images.summary():
        say(summary)
    ddp.cleanup(world)
    return run_dir


def _training_data(data_dir, split: str, rec: Recipe, on_bad_image: str, world: int) -> tuple[TrainData, int, str]:
    """(the augmented training set, iterations per epoch, sha256 of its COCO json), checked."""
    if rec.batch_size % world:
        raise InputError(f"batch size {rec.batch_size} is not divisible by {world} processes")
    coco, image_root, data_hash = load_coco(data_dir, split)
    dataset = TrainData(CocoImages(coco, image_root, rec.input_size, on_bad_image), rec, seed=rec.seed)
    ipe = len(dataset) // rec.batch_size
    if ipe == 0:
        raise InputError(f"{data_dir}: {len(dataset)} {split} images, fewer than one batch of {rec.batch_size}")
    return dataset, ipe, data_hash


def _on_device(state: TrainingState, world: int, dev: torch.device) -> torch.nn.Module:
    """Moves the model and its EMA to ``dev``; returns the model to call (DDP-wrapped with N processes)."""
    state.net.to(dev)
    if state.ema is not None:
        state.ema.ema.to(dev)
    if dev.type == "cuda":
        state.net.to(memory_format=torch.channels_last)
    return ddp.wrap(state.net, world, dev)


def _record_start(start: RunStart, state: TrainingState, phases, ipe: int, *, data_dir, data_hash: str,
                  device: str, world: int, split: str, threads: dict) -> None:
    """A resumed run's log is cut back to its ``latest.pth``; a new one writes recipe.json and run.json."""
    run_dir, rec = start.run_dir, start.recipe
    if start.latest is not None:
        truncate_log(run_dir / "log.jsonl", state.step)
        return
    atomic_write_json(run_dir / "recipe.json", {**dataclasses.asdict(rec), "phases": phases_json(phases),
                                                "iters_per_epoch": ipe})
    atomic_write_json(run_dir / "run.json", make_meta(
        "train", options={"recipe": rec.name, "device": device, "world_size": world, "split": split},
        inputs={"data": data_hash}, model_size=rec.model, class_names=list(rec.classes),
        input_size=list(rec.input_size), data_dir=str(Path(data_dir).resolve()), data_hash=data_hash,
        init=state.init_info, frozen_base=state.frozen_base, parameters=state.parameters, threads=threads))


def _input_error_line(e: Exception) -> str | None:
    """The one line of an InputError, also one that a DataLoader worker re-raised with the worker's
    whole traceback in its message; None for any other error."""
    line = next((ln for ln in reversed(str(e).splitlines()) if "InputError: " in ln), None)
    if line is None and isinstance(e, InputError) and "\n" not in str(e):
        line = f"InputError: {e}"
    return None if line is None else line.split("InputError: ", 1)[1]
