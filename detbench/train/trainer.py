"""The training loop (our own: YOLOX's stock trainer needs CUDA and cannot express the schedule).

``train(data_dir, recipe="stable_v3", ...) -> run dir``. Writes ``runs/train/<run>/``:
``recipe.json`` (+ ``phases``, ``iters_per_epoch``), ``run.json``, ``log.jsonl``, ``epoch_<N>.pth``,
``latest.pth`` and, with a frozen trunk, ``frozen_base.pth`` (see :mod:`detbench.train.checkpoint`).
"""
from __future__ import annotations

import dataclasses
import math
import time
from pathlib import Path
from typing import Callable

import torch

from detbench import paths
from detbench.errors import DetbenchError, InputError
from detbench.fileio import atomic_write_json, sha256_file
from detbench.provenance import make_meta
from detbench.train import ddp, setup
from detbench.train.checkpoint import FORMAT, init_state, save_pth
from detbench.train.data import CocoImages, TrainData, load_coco
from detbench.train.logging import LOSS_KEYS, RunLogger, StepBuffer, memory_mb, truncate_log
from detbench.train.models import build_model, count_parameters, head_keys, load_init, load_pth, trunk_keys
from detbench.train.recipes import get_recipe
from detbench.train.schedule import build_phases, lr_at, phase_of_epoch, phases_json


class TrainingError(DetbenchError):
    """Training cannot go on (e.g. a non-finite loss); the last good checkpoint is kept."""


def _collate(batch):
    """Images, labels cut to the batch's most boxes (the rest is padding: the loss's (B, G, A)
    tensors shrink; counted on the host, before the batch reaches the device), bad file names."""
    imgs, labels, bad = zip(*batch)
    labels = torch.stack(labels)
    used = int((labels.sum(2) > 0).sum(1).max()) if labels.numel() else 0
    return torch.stack(imgs), labels[:, : max(used, 1)], [b for b in bad if b]


def train(data_dir, recipe: str = "stable_v3", model: str | None = None, init=None, name: str | None = None,
          epochs: int | None = None, batch_size: int | None = None, device: str = "cpu", resume: bool = False,
          split: str = "train", on_bad_image: str = "skip", save_every: int = 0, tensorboard: bool = True,
          progress: Callable[[int, int, str, str], None] | None = None, echo: Callable[[str], None] = print,
          log_every: int | None = None, _stop_after_step: int | None = None, **overrides) -> Path:
    """Train a YOLOX detector on a prepared dataset; returns the run directory.

    ``resume=True`` continues run ``name`` from its ``latest.pth`` (exact: same steps, LR, weights).
    ``on_bad_image``: "skip" (warn, count, use the next image) or "stop" (InputError).
    ``save_every``: also write ``latest.pth`` every N steps. ``overrides``: recipe fields.
    ``log_every``: read the losses back from the device every N steps (default 20 on CUDA, 1 on
    CPU); ``log.jsonl`` still has one line per step, ``images_per_s`` the mean of its window.
    ``progress(step, total_steps, description, info)``: called on rank 0 at the start and after
    every logged step (:class:`detbench.train.logging.RunLogger`; the CLI draws a bar with it).
    """
    rank, world, dev = ddp.setup(device)
    say = echo if rank == 0 else (lambda *_: None)
    if resume:
        if not name:
            raise InputError("--resume needs --name RUN")
        run_dir = paths.train_dir(name)
        rec = setup.recipe_from_run(run_dir)
        setup.check_resume_model(run_dir, rec, model)
        latest = None
        if (run_dir / "latest.pth").is_file():
            latest = load_pth(run_dir / "latest.pth")
        else:  # stopped before its first checkpoint: nothing to continue, so start it again
            init = init or setup.saved_init(run_dir)
            say(f"note: {run_dir} has no latest.pth (stopped before its first checkpoint): "
                f"restarting it from step 0 with its recipe.json" + (f" and --init {init}" if init else ""))
            (run_dir / "log.jsonl").unlink(missing_ok=True)
            resume = False
    else:
        if model:
            overrides["model"] = model
        rec, notes = get_recipe(recipe, epochs=epochs, batch_size=batch_size, **overrides)
        run_dir, latest = setup.new_run_dir(name, rec), None
        for note in notes:
            say(f"note: {note}")
    if rec.batch_size % world:
        raise InputError(f"batch size {rec.batch_size} is not divisible by {world} processes")
    coco, image_root, data_hash = load_coco(data_dir, split)
    dataset = TrainData(CocoImages(coco, image_root, rec.input_size, on_bad_image), rec, seed=rec.seed)
    ipe = len(dataset) // rec.batch_size
    if ipe == 0:
        raise InputError(f"{data_dir}: {len(dataset)} {split} images, fewer than one batch of {rec.batch_size}")
    phases = build_phases(rec)
    say("recipe " + ", ".join(f"{k}={v}" for k, v in dataclasses.asdict(rec).items()))

    torch.manual_seed(rec.seed)
    net = build_model(rec.model, len(rec.classes))
    net.use_loss(rec.loss)
    base_ref, init_info = None, None
    if init and not resume:
        loaded, skipped = load_init(net, init_state(init), init, reinit_cls=rec.reinit_cls)
        init_info = {"path": str(Path(init).resolve()), "sha256": sha256_file(init)}
        say(f"init {init}: loaded {len(loaded)} tensors, skipped {len(skipped)} "
            f"(re-initialised for {len(rec.classes)} classes): {', '.join(skipped) or 'none'}")
    if rec.freeze == "trunk":
        net.freeze_trunk()
        if resume:
            base_ref = latest["frozen_base"]
            net.load_state_dict(load_pth(run_dir / base_ref["path"]), strict=False)
        else:
            if not init:
                say("warning: head-only training without --init: the frozen backbone + neck are random")
            if rank == 0:
                sha = save_pth(run_dir / "frozen_base.pth", {k: net.state_dict()[k] for k in trunk_keys(net)})
                base_ref = {"path": "frozen_base.pth", "sha256": sha}
    if world > 1:
        ddp.sync_batchnorm(net)  # before the optimizer and EMA see the parameters
    counts = count_parameters(net)
    say(f"model {rec.model}: {counts['total']:,} parameters, {counts['frozen']:,} frozen, "
        f"{counts['trainable']:,} trainable; {ipe} iterations/epoch x {rec.epochs} epochs")

    optimizer = setup.make_optimizer(net, rec)
    ema = None
    if rec.ema:
        from yolox.utils import ModelEMA
        ema = ModelEMA(net, rec.ema_decay)
    step, elapsed = 0, 0.0
    if resume:
        net.load_state_dict(latest["model"], strict=False)
        optimizer.load_state_dict(latest["optimizer"])
        if ema is not None:
            ema.ema.load_state_dict(latest["ema"], strict=False)
            ema.updates = latest["ema_updates"]
        step, elapsed = latest["step"], latest["elapsed"]
        setup.set_rng_state(latest["rng"])
        say(f"resuming {run_dir.name} after step {step}")
    net.to(dev)
    if ema is not None:
        ema.ema.to(dev)
    if dev.type == "cuda":
        net.to(memory_format=torch.channels_last)
    wrapped = ddp.wrap(net, world, dev)

    if rank == 0:
        if resume:
            truncate_log(run_dir / "log.jsonl", step)
        else:
            atomic_write_json(run_dir / "recipe.json", {**dataclasses.asdict(rec), "phases": phases_json(phases),
                                                        "iters_per_epoch": ipe})
            atomic_write_json(run_dir / "run.json", make_meta(
                "train", options={"recipe": rec.name, "device": device, "world_size": world, "split": split},
                inputs={"data": data_hash}, model_size=rec.model, class_names=list(rec.classes),
                input_size=list(rec.input_size), data_dir=str(Path(data_dir).resolve()), data_hash=data_hash,
                init=init_info, frozen_base=base_ref, parameters=counts))
    ddp.barrier(world)

    def checkpoint(epoch: int, full: bool) -> dict:
        keys = head_keys(net) if rec.freeze == "trunk" else list(net.state_dict())
        sd = net.state_dict()
        out = {"format": FORMAT, "model_size": rec.model, "num_classes": len(rec.classes),
               "class_names": list(rec.classes), "input_size": list(rec.input_size), "epoch": epoch,
               "step": step, "recipe": rec.name, "model": {k: sd[k].cpu() for k in keys},
               "ema": ({k: v.cpu() for k, v in ema.ema.state_dict().items() if k in keys} if ema else None),
               "frozen_base": base_ref}
        if full:
            out.update(optimizer=optimizer.state_dict(), ema_updates=ema.updates if ema else 0,
                       elapsed=elapsed + time.perf_counter() - t0, rng=setup.rng_state())
        return out

    log = RunLogger(run_dir, rec.epochs * ipe, step, enabled=rank == 0, tensorboard=tensorboard, progress=progress)
    t0, bad_total, bad_files = time.perf_counter(), 0, set()
    pending, every = StepBuffer(), log_every or (20 if dev.type == "cuda" else 1)
    t_window = [t0]

    def flush() -> None:
        rows = pending.read()
        now = time.perf_counter()
        per_s = rec.batch_size * len(rows) / max(now - t_window[0], 1e-9)  # the window's mean
        t_window[0] = now
        bad = next((r for r in rows if not math.isfinite(r["total"])), None)
        for r in rows[: rows.index(bad) if bad else len(rows)]:
            log.log({**r, "images_per_s": per_s, "memory_mb": memory_mb(dev)}, rec.epochs)
        if ddp.any_true(bad is not None, world, dev):
            kept = sorted(run_dir.glob("epoch_*.pth"), key=lambda p: p.stat().st_mtime)
            where = (f"epoch {bad['epoch']} iter {bad['iter']} (step {bad['step']}, lr {bad['lr']:.3g})"
                     if bad else "another process's batch")
            raise TrainingError(f"{run_dir}: non-finite loss at {where}; stopped, last good checkpoint: "
                                f"{kept[-1].name if kept else 'none written'}")

    per_rank = rec.batch_size // world
    try:
        for epoch in range(step // ipe + 1, rec.epochs + 1):
            phase = phase_of_epoch(phases, epoch)
            dataset.set_epoch(epoch, phase.augment)
            net.head.use_l1 = phase.l1
            first_iter = step - (epoch - 1) * ipe
            order = setup.epoch_batches(len(dataset), rec.batch_size, ipe, rec.seed, epoch)
            mine = order[first_iter:, rank::world].reshape(-1).tolist()
            loader = torch.utils.data.DataLoader(
                torch.utils.data.Subset(dataset, mine), batch_size=per_rank, shuffle=False,
                num_workers=rec.num_workers, pin_memory=dev.type == "cuda", collate_fn=_collate)
            wrapped.train()
            for it, (imgs, targets, bad) in enumerate(loader, start=first_iter + 1):
                for names in bad:
                    for f in names.split("\n"):
                        say(f"warning: {f}: image cannot be decoded, skipped (the next image used)")
                bad_total += sum(len(b.split("\n")) for b in bad)
                bad_files.update(f for b in bad for f in b.split("\n"))
                step += 1
                lr = lr_at(step, phases, ipe)
                for g in optimizer.param_groups:
                    g["lr"] = lr
                imgs, targets = imgs.to(dev, non_blocking=True), targets.to(dev, non_blocking=True)
                if dev.type == "cuda":
                    imgs = imgs.contiguous(memory_format=torch.channels_last)
                try:
                    with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=dev.type == "cuda"):
                        out = wrapped(imgs, targets)
                    loss, logged = ddp.global_loss(out, world)
                except RuntimeError:
                    # NaN weights can fail inside YOLOX's assignment before any loss exists
                    if all(torch.isfinite(p).all() for p in net.parameters() if p.requires_grad):
                        raise
                    loss = sum((p * 0.0).sum() for p in net.parameters() if p.requires_grad)  # NaN too
                    logged = dict.fromkeys(LOSS_KEYS, float("nan"))
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                if ema is not None:
                    ema.update(net)
                pending.add({"epoch": epoch, "iter": it, "step": step, "lr": lr, "phase": phase.name,
                             "time": elapsed + time.perf_counter() - t0}, logged)
                # the losses stay on the device until read (one host sync for the whole window),
                # always before anything is saved: a non-finite loss stops before its checkpoint
                if (len(pending) >= every or it == ipe or step == _stop_after_step
                        or (save_every and step % save_every == 0)):
                    flush()
                if _stop_after_step is not None and step >= _stop_after_step:
                    return run_dir  # test hook: behaves like a kill right after this step
                if rank == 0 and save_every and step % save_every == 0 and it < ipe:
                    save_pth(run_dir / "latest.pth", checkpoint(epoch, True))
            if rank == 0:
                save_pth(run_dir / f"epoch_{epoch}.pth", checkpoint(epoch, False))
                save_pth(run_dir / "latest.pth", checkpoint(epoch, True))
            ddp.barrier(world)
    except (DetbenchError, RuntimeError) as e:
        # a DataLoader worker's InputError arrives re-raised with the worker's whole traceback in
        # its message: surface its one line, and say how to go on once the input is fixed
        line = next((ln for ln in reversed(str(e).splitlines()) if "InputError: " in ln), None)
        if line is None and isinstance(e, InputError) and "\n" not in str(e):
            line = f"InputError: {e}"
        if line is None:
            raise
        raise InputError(f"{line.split('InputError: ', 1)[1]} (fix it, then continue the run with "
                         f"`detbench train --resume --name {run_dir.name}`)") from None
    finally:
        log.close()
    if bad_total:
        names = sorted(bad_files)
        say(f"warning: {bad_total} image reads failed and were skipped ({len(names)} file(s): "
            f"{', '.join(names[:5])}{', ...' if len(names) > 5 else ''})")
    ddp.cleanup(world)
    return run_dir
