"""Start or resume a training run, decided once; the state the loop advances; its checkpoints.

:func:`open_run` decides: a new run (recipe + overrides, a fresh run directory, optional ``--init``)
or the continuation of run ``name`` from its ``latest.pth`` (a run stopped before its first
checkpoint starts again from step 0 with its own recipe). :func:`build_state` then builds the model,
optimizer and EMA the same way for both, and a resumed run restores everything ``latest.pth``
holds (:func:`restore`: weights, optimizer, EMA, step, time, RNG). :func:`checkpoint` is what
``epoch_<N>.pth`` and ``latest.pth`` contain (format: :mod:`detbench.train.checkpoint`).
"""
from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Callable

import torch

from detbench.core import paths
from detbench.core.errors import InputError
from detbench.core.fileio import sha256_file
from detbench.train import ddp, setup
from detbench.train.checkpoint import FORMAT, init_state, save_pth
from detbench.train.models import build_model, count_parameters, head_keys, load_init, load_pth, trunk_keys
from detbench.train.recipes import Recipe, get_recipe


@dataclasses.dataclass
class RunStart:
    """What :func:`open_run` decided: the run, its recipe, and ``latest`` (``latest.pth``'s
    contents when resuming, None when the run starts at step 0, then with ``init`` weights or none)."""

    run_dir: Path
    recipe: Recipe
    latest: dict | None = None
    init: str | Path | None = None


def open_run(name: str | None, recipe: str, model: str | None, init, epochs: int | None,
             batch_size: int | None, resume: bool, overrides: dict, say: Callable[[str], None]) -> RunStart:
    """Start a new run or resume run ``name`` (InputError when that cannot be done)."""
    if not resume:
        if model:
            overrides = {**overrides, "model": model}
        scaled = {k: v for k, v in (("epochs", epochs), ("batch_size", batch_size)) if v is not None}
        both = sorted(set(scaled) & set(overrides))
        if both:  # --epochs/--batch-size rescale the schedule/LR; --set replaces the field alone
            raise InputError(f"recipe {recipe}: {', '.join(both)} given twice (as an option and with --set); "
                             "give one")
        rec, notes = get_recipe(recipe, **scaled, set_fields=overrides)
        run_dir = setup.new_run_dir(name, rec)
        for note in notes:
            say(f"note: {note}")
        return RunStart(run_dir, rec, init=init)
    if not name:
        raise InputError("--resume needs --name RUN")
    run_dir = paths.train_dir(name)
    rec = setup.recipe_from_run(run_dir)
    setup.check_resume_model(run_dir, rec, model)
    if (run_dir / "latest.pth").is_file():
        return RunStart(run_dir, rec, latest=load_pth(run_dir / "latest.pth"))
    # stopped before its first checkpoint: nothing to continue, so start it again
    init = init or setup.saved_init(run_dir)
    say(f"note: {run_dir} has no latest.pth (stopped before its first checkpoint): "
        f"restarting it from step 0 with its recipe.json" + (f" and --init {init}" if init else ""))
    (run_dir / "log.jsonl").unlink(missing_ok=True)
    return RunStart(run_dir, rec, init=init)


@dataclasses.dataclass
class TrainingState:
    """The model (unwrapped), optimizer and EMA, and where training stands: ``step`` (global steps
    done), ``elapsed`` (training seconds before this process), ``started`` (this process's clock
    at its first step's start). ``frozen_base``: the run's frozen-trunk reference, or None."""

    run_dir: Path
    recipe: Recipe
    net: torch.nn.Module
    optimizer: torch.optim.Optimizer
    ema: object | None
    frozen_base: dict | None
    init_info: dict | None
    parameters: dict
    step: int = 0
    elapsed: float = 0.0
    started: float = 0.0

    def seconds(self) -> float:
        """Training time so far, over every process that worked on the run."""
        return self.elapsed + time.perf_counter() - self.started


def _fresh_weights(net, start: RunStart, rank: int, say) -> tuple[dict | None, dict | None]:
    """A new run's weights: ``--init`` (its reference for run.json) and, with a frozen trunk, the
    run's ``frozen_base.pth`` (written by rank 0). Returns (init info, frozen base reference)."""
    rec, init, init_info, base_ref = start.recipe, start.init, None, None
    if init:
        loaded, skipped = load_init(net, init_state(init), init, reinit_cls=rec.reinit_cls)
        init_info = {"path": str(Path(init).resolve()), "sha256": sha256_file(init)}
        say(f"init {init}: loaded {len(loaded)} tensors, skipped {len(skipped)} "
            f"(re-initialised for {len(rec.classes)} classes): {', '.join(skipped) or 'none'}")
    if rec.freeze == "trunk":
        net.freeze_trunk()
        if not init:
            say("warning: head-only training without --init: the frozen backbone + neck are random")
        if rank == 0:
            sha = save_pth(start.run_dir / "frozen_base.pth", {k: net.state_dict()[k] for k in trunk_keys(net)})
            base_ref = {"path": "frozen_base.pth", "sha256": sha}
    return init_info, base_ref


def _resumed_trunk(net, start: RunStart) -> dict | None:
    """A resumed run's frozen trunk, loaded from its ``frozen_base.pth`` (before the EMA copies the
    model: ``latest.pth``'s EMA holds only the head). Returns the frozen base reference."""
    if start.recipe.freeze != "trunk":
        return None
    net.freeze_trunk()
    base_ref = start.latest["frozen_base"]
    net.load_state_dict(load_pth(start.run_dir / base_ref["path"]), strict=False)
    return base_ref


def build_state(start: RunStart, iters_per_epoch: int, rank: int, world: int, say) -> TrainingState:
    """The model, optimizer and EMA of the run, on the CPU: step 0's (seeded) or ``latest.pth``'s."""
    rec = start.recipe
    torch.manual_seed(rec.seed)
    net = build_model(rec.model, len(rec.classes))
    net.use_loss(rec.loss)
    if start.latest is None:
        init_info, base_ref = _fresh_weights(net, start, rank, say)
    else:
        init_info, base_ref = None, _resumed_trunk(net, start)
    if world > 1:
        ddp.sync_batchnorm(net)  # before the optimizer and EMA see the parameters
    counts = count_parameters(net)
    say(f"model {rec.model}: {counts['total']:,} parameters, {counts['frozen']:,} frozen, "
        f"{counts['trainable']:,} trainable; {iters_per_epoch} iterations/epoch x {rec.epochs} epochs")
    optimizer = setup.make_optimizer(net, rec)
    ema = None
    if rec.ema:
        from yolox.utils import ModelEMA
        ema = ModelEMA(net, rec.ema_decay)
    state = TrainingState(start.run_dir, rec, net, optimizer, ema, base_ref, init_info, counts)
    if start.latest is not None:
        restore(state, start.latest)
        say(f"resuming {start.run_dir.name} after step {state.step}")
    return state


def restore(state: TrainingState, latest: dict) -> None:
    """Continue exactly where ``latest.pth`` stopped: weights, optimizer, EMA, step, time, RNG."""
    state.net.load_state_dict(latest["model"], strict=False)
    state.optimizer.load_state_dict(latest["optimizer"])
    if state.ema is not None:
        state.ema.ema.load_state_dict(latest["ema"], strict=False)
        state.ema.updates = latest["ema_updates"]
    state.step, state.elapsed = latest["step"], latest["elapsed"]
    setup.set_rng_state(latest["rng"])


def checkpoint(state: TrainingState, epoch: int, full: bool) -> dict:
    """An ``epoch_<N>.pth`` dict; ``full``: a ``latest.pth`` (+ optimizer, EMA count, time, RNG)."""
    net, rec, ema = state.net, state.recipe, state.ema
    keys = head_keys(net) if rec.freeze == "trunk" else list(net.state_dict())
    sd = net.state_dict()
    out = {"format": FORMAT, "model_size": rec.model, "num_classes": len(rec.classes),
           "class_names": list(rec.classes), "input_size": list(rec.input_size), "epoch": epoch,
           "step": state.step, "recipe": rec.name, "model": {k: sd[k].cpu() for k in keys},
           "ema": ({k: v.cpu() for k, v in ema.ema.state_dict().items() if k in keys} if ema else None),
           "frozen_base": state.frozen_base}
    if full:
        out.update(optimizer=state.optimizer.state_dict(), ema_updates=ema.updates if ema else 0,
                   elapsed=state.seconds(), rng=setup.rng_state())
    return out


def save_latest(state: TrainingState, epoch: int) -> None:
    save_pth(state.run_dir / "latest.pth", checkpoint(state, epoch, True))


def save_epoch(state: TrainingState, epoch: int) -> None:
    """The end of an epoch: ``epoch_<N>.pth``, then ``latest.pth``."""
    save_pth(state.run_dir / f"epoch_{epoch}.pth", checkpoint(state, epoch, False))
    save_latest(state, epoch)
