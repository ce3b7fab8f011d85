"""The epoch loop: one epoch's batches, one optimizer step, the loss read-back, the step callback.

Losses stay on the device until a :class:`LossWindow` reads them back (one host sync per window),
always before anything is saved: a non-finite loss stops the run before its checkpoint.
"""
from __future__ import annotations

import dataclasses
import math
import time
from pathlib import Path
from typing import TYPE_CHECKING, Callable

import torch

from detbench.core.errors import DetbenchError
from detbench.train import ddp, setup
from detbench.train.logging import LOSS_KEYS, RunLogger, StepBuffer, memory_mb
from detbench.train.schedule import lr_at, phase_of_epoch
from detbench.train.state import TrainingState, save_epoch, save_latest

if TYPE_CHECKING:
    from detbench.train.data import TrainData


class TrainingError(DetbenchError):
    """Training cannot go on (e.g. a non-finite loss); the last good checkpoint is kept."""


@dataclasses.dataclass(frozen=True)
class StepInfo:
    """What ``on_step`` is told after each optimizer step: where the run stands, and the step's
    losses (already in rank 0's ``log.jsonl``). Nothing of the step is saved yet, so a callback that
    raises stops the run like a kill right after this step."""

    run_dir: Path
    epoch: int
    iter: int
    step: int
    lr: float
    phase: str
    losses: dict


def collate(batch):
    """Images, labels cut to the batch's most boxes (the rest is padding: the loss's (B, G, A)
    tensors shrink; counted on the host, before the batch reaches the device), bad file names."""
    imgs, labels, bad = zip(*batch)
    labels = torch.stack(labels)
    used = int((labels.sum(2) > 0).sum(1).max()) if labels.numel() else 0
    return torch.stack(imgs), labels[:, : max(used, 1)], [b for b in bad if b]


class BadImages:
    """Images that could not be decoded (``on_bad_image="skip"``): a warning each, a summary at the end."""

    def __init__(self, say: Callable[[str], None]):
        self.say, self.total, self.files = say, 0, set()

    def add(self, bad: list[str]) -> None:
        for names in bad:
            for f in names.split("\n"):
                self.say(f"warning: {f}: image cannot be decoded, skipped (the next image used)")
        self.total += sum(len(b.split("\n")) for b in bad)
        self.files.update(f for b in bad for f in b.split("\n"))

    def summary(self) -> str | None:
        if not self.total:
            return None
        names = sorted(self.files)
        return (f"warning: {self.total} image reads failed and were skipped ({len(names)} file(s): "
                f"{', '.join(names[:5])}{', ...' if len(names) > 5 else ''})")


class LossWindow:
    """The steps whose losses are still on the device; :meth:`flush` reads them back, logs them
    (``images_per_s``: the window's mean) and stops every rank on a non-finite loss."""

    def __init__(self, log: RunLogger, state: TrainingState, every: int, world: int, dev: torch.device):
        self.log, self.state, self.every, self.world, self.dev = log, state, every, world, dev
        self.pending, self.since = StepBuffer(), state.started

    def add(self, row: dict, losses: dict) -> None:
        self.pending.add(row, losses)

    def full(self) -> bool:
        return len(self.pending) >= self.every

    def flush(self) -> list[dict]:
        rec, run_dir = self.state.recipe, self.state.run_dir
        rows = self.pending.read()
        now = time.perf_counter()
        per_s = rec.batch_size * len(rows) / max(now - self.since, 1e-9)
        self.since = now
        bad = next((r for r in rows if not math.isfinite(r["total"])), None)
        for r in rows[: rows.index(bad) if bad else len(rows)]:
            self.log.log({**r, "images_per_s": per_s, "memory_mb": memory_mb(self.dev)}, rec.epochs)
        if ddp.any_true(bad is not None, self.world, self.dev):
            kept = sorted(run_dir.glob("epoch_*.pth"), key=lambda p: p.stat().st_mtime)
            where = (f"epoch {bad['epoch']} iter {bad['iter']} (step {bad['step']}, lr {bad['lr']:.3g})"
                     if bad else "another process's batch")
            raise TrainingError(f"{run_dir}: non-finite loss at {where}; stopped, last good checkpoint: "
                                f"{kept[-1].name if kept else 'none written'}")
        return rows


@dataclasses.dataclass
class EpochLoop:
    """Trains ``state`` from its step to the recipe's last epoch (``model``: the DDP-wrapped net)."""

    state: TrainingState
    data: TrainData
    iters: int  # per epoch
    phases: list
    model: torch.nn.Module
    window: LossWindow
    bad_images: BadImages
    rank: int
    world: int
    dev: torch.device
    save_every: int = 0
    on_step: Callable[[StepInfo], None] | None = None

    def run(self) -> None:
        for epoch in range(self.state.step // self.iters + 1, self.state.recipe.epochs + 1):
            self.epoch(epoch)

    def epoch(self, epoch: int) -> None:
        """The rest of ``epoch`` (all of it, or what a resumed run has not done), then its checkpoints."""
        rec, state = self.state.recipe, self.state
        phase = phase_of_epoch(self.phases, epoch)
        self.data.set_epoch(epoch, phase.augment)
        state.net.head.use_l1 = phase.l1
        first_iter = state.step - (epoch - 1) * self.iters
        order = setup.epoch_batches(len(self.data), rec.batch_size, self.iters, rec.seed, epoch)
        mine = order[first_iter:, self.rank::self.world].reshape(-1).tolist()
        loader = torch.utils.data.DataLoader(
            torch.utils.data.Subset(self.data, mine), batch_size=rec.batch_size // self.world, shuffle=False,
            num_workers=rec.num_workers, pin_memory=self.dev.type == "cuda", collate_fn=collate)
        self.model.train()
        for it, (imgs, targets, bad) in enumerate(loader, start=first_iter + 1):
            self.bad_images.add(bad)
            self.step(epoch, it, phase, imgs, targets)
        if self.rank == 0:
            save_epoch(state, epoch)
        ddp.barrier(self.world)

    def step(self, epoch: int, it: int, phase, imgs: torch.Tensor, targets: torch.Tensor) -> None:
        """One optimizer step on one global batch; logs it, tells ``on_step``, may save ``latest.pth``."""
        state, dev = self.state, self.dev
        state.step += 1
        lr = lr_at(state.step, self.phases, self.iters)
        for g in state.optimizer.param_groups:
            g["lr"] = lr
        imgs, targets = imgs.to(dev, non_blocking=True), targets.to(dev, non_blocking=True)
        if dev.type == "cuda":
            imgs = imgs.contiguous(memory_format=torch.channels_last)
        loss, logged = self._forward(imgs, targets)
        state.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        state.optimizer.step()
        if state.ema is not None:
            state.ema.update(state.net)
        self.window.add({"epoch": epoch, "iter": it, "step": state.step, "lr": lr, "phase": phase.name,
                         "time": state.seconds()}, logged)
        save = bool(self.save_every) and state.step % self.save_every == 0
        if self.on_step is not None:  # read back every step: the callback sees its losses logged
            row = self.window.flush()[-1]
            self.on_step(StepInfo(state.run_dir, epoch, it, state.step, lr, phase.name,
                                  {k: row[k] for k in LOSS_KEYS}))
        elif self.window.full() or it == self.iters or save:  # always before anything is saved
            self.window.flush()
        if self.rank == 0 and save and it < self.iters:
            save_latest(state, epoch)

    def _forward(self, imgs: torch.Tensor, targets: torch.Tensor) -> tuple[torch.Tensor, dict]:
        """(loss to back-propagate, logged loss values of the global batch)."""
        net = self.state.net
        try:
            with torch.autocast(self.dev.type, dtype=torch.bfloat16, enabled=self.dev.type == "cuda"):
                out = self.model(imgs, targets)
            return ddp.global_loss(out, self.world)
        except RuntimeError:
            # NaN weights can fail inside YOLOX's assignment before any loss exists
            if all(torch.isfinite(p).all() for p in net.parameters() if p.requires_grad):
                raise
            loss = sum((p * 0.0).sum() for p in net.parameters() if p.requires_grad)  # NaN too
            return loss, dict.fromkeys(LOSS_KEYS, float("nan"))
