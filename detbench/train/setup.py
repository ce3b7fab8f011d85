"""Pieces the training loop is built from: the run directory, optimizer groups, resume state."""
from __future__ import annotations

import dataclasses
import datetime as _dt
import json
import random
from pathlib import Path

import numpy as np
import torch

from detbench.core import paths
from detbench.core.errors import InputError
from detbench.train.recipes import Recipe


def new_run_dir(name: str | None, recipe: Recipe) -> Path:
    name = name or f"{recipe.name}_{_dt.datetime.now().strftime('%Y%m%d-%H%M%S')}"
    run_dir = paths.train_dir(name)
    if run_dir.exists() and any(run_dir.iterdir()):
        if not (run_dir / "latest.pth").is_file() and not any(run_dir.glob("epoch_*.pth")):
            if not (run_dir / "recipe.json").is_file():
                return run_dir  # stopped before it wrote anything worth keeping: start it again
            raise InputError(f"{run_dir}: run exists but stopped before its first checkpoint; "
                             f"`detbench train --resume --name {name}` restarts it from step 0 "
                             f"(or choose another --name)")
        raise InputError(f"{run_dir}: run exists (use --resume to continue it, or another --name)")
    return run_dir


def check_resume_model(run_dir: Path, recipe: Recipe, model: str | None) -> None:
    """``--resume`` continues the run's own model; another ``--model`` is an error, not ignored."""
    from detbench.train.models import canonical_size

    if model and canonical_size(model) != canonical_size(recipe.model):
        raise InputError(f"{run_dir / 'recipe.json'}: run {run_dir.name!r} trains {recipe.model}; "
                         f"--resume cannot switch it to --model {model} (start a new run with another --name)")


def saved_init(run_dir: Path) -> str | None:
    """The ``--init`` weights a run was started with (run.json), to restart it the same way."""
    try:
        init = json.loads((run_dir / "run.json").read_text()).get("init") or {}
    except (OSError, json.JSONDecodeError, AttributeError):
        return None
    path = init.get("path") if isinstance(init, dict) else None
    return path if path and Path(path).is_file() else None


def recipe_from_run(run_dir: Path) -> Recipe:
    path = run_dir / "recipe.json"
    if not path.is_file():
        raise InputError(f"{path}: not found (nothing to resume: the run stopped before it started; run it again without --resume)")
    saved = json.loads(path.read_text())
    names = {f.name for f in dataclasses.fields(Recipe)}
    values = {k: tuple(v) if isinstance(v, list) else v for k, v in saved.items() if k in names}
    return Recipe(**values)


def param_groups(model: torch.nn.Module, weight_decay: float) -> list[dict]:
    """Trainable parameters only: decay on conv/linear weights; none on BatchNorm and biases (YOLOX's groups)."""
    decay, no_decay = [], []
    for _, module in model.named_modules():
        for pname, p in module.named_parameters(recurse=False):
            if not p.requires_grad:
                continue
            if isinstance(module, torch.nn.modules.batchnorm._BatchNorm) or pname == "bias":
                no_decay.append(p)
            else:
                decay.append(p)
    return [{"params": no_decay, "weight_decay": 0.0}, {"params": decay, "weight_decay": weight_decay}]


def make_optimizer(model: torch.nn.Module, recipe: Recipe) -> torch.optim.Optimizer:
    groups = param_groups(model, recipe.weight_decay)
    if recipe.optimizer == "adamw":
        return torch.optim.AdamW(groups, lr=0.0)
    return torch.optim.SGD(groups, lr=0.0, momentum=recipe.momentum, nesterov=recipe.nesterov)


def rng_state() -> dict:
    np_state = np.random.get_state()
    return {"torch": torch.get_rng_state(), "python": list(random.getstate()[1]),
            "numpy": torch.from_numpy(np_state[1].astype(np.int64)), "numpy_pos": int(np_state[2])}


def set_rng_state(state: dict) -> None:
    torch.set_rng_state(state["torch"])
    random.setstate((3, tuple(state["python"]), None))
    np.random.set_state(("MT19937", state["numpy"].numpy().astype(np.uint32), state["numpy_pos"], 0, 0.0))


def epoch_batches(n_images: int, batch: int, iters: int, seed: int, epoch: int) -> torch.Tensor:
    """(iters, batch) image indices of one epoch: a permutation seeded by (seed, epoch), last partial batch dropped."""
    g = torch.Generator().manual_seed(seed * 100_003 + epoch)
    return torch.randperm(n_images, generator=g)[: iters * batch].view(iters, batch)
