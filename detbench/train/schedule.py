"""The per-iteration learning rate: three phases, not YOLOX's ``yoloxwarmcos`` (which warms up
quadratically and then stays flat through its no-aug epochs, a different schedule).

With ``I`` iterations per epoch, the optimizer step number ``s`` (1-based, global) runs at
``lr(s)``, a function of the position ``s`` in ``[0, E*I]``:

- warmup,   epochs ``1..W``:        ``lr(s) = lr * s / (W*I)``                         (linear 0 -> lr)
- training, epochs ``W+1..W+T``:    ``lr(s) = mid + (lr - mid)/2 * (1 + cos(pi * (s - W*I) / (T*I)))``
- finetune, epochs ``W+T+1..E``:    ``lr(s) = fin + (mid - fin)/2 * (1 + cos(pi * (s - (W+T)*I) / (F*I)))``

So the last step of epoch ``W`` runs at exactly ``lr``, the last of epoch ``W+T`` at ``mid``, the
last of epoch ``E`` at ``fin``, and each formula meets the next at the phase boundary. The
schedule is a pure function of the step, which makes ``--resume`` exact. The finetune phase has
no augmentation at all (no mosaic, mixup, HSV or flip) and the L1 box loss on, from its first
epoch (YOLOX's trainer closes mosaic one epoch early and keeps HSV and flip in its "no-aug" phase).
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from detbench.train.recipes import Recipe


@dataclass(frozen=True)
class Phase:
    name: str  # "warmup" | "training" | "finetune"
    first_epoch: int  # 1-based, inclusive
    last_epoch: int  # 1-based, inclusive
    lr_start: float
    lr_end: float
    shape: str  # "linear" | "cosine"
    augment: bool
    l1: bool


def build_phases(recipe: Recipe) -> list[Phase]:
    w, f = recipe.warmup_epochs, recipe.noaug_epochs
    t = recipe.epochs - w - f
    phases = []
    if w:
        phases.append(Phase("warmup", 1, w, 0.0, recipe.lr, "linear", True, False))
    phases.append(Phase("training", w + 1, w + t, recipe.lr, recipe.lr_mid, "cosine", True, False))
    if f:
        phases.append(Phase("finetune", w + t + 1, recipe.epochs, recipe.lr_mid, recipe.lr_final,
                            "cosine", False, True))
    return phases


def phase_of_epoch(phases: list[Phase], epoch: int) -> Phase:
    for p in phases:
        if p.first_epoch <= epoch <= p.last_epoch:
            return p
    raise ValueError(f"epoch {epoch} outside the schedule (1..{phases[-1].last_epoch})")


def lr_at(step: int, phases: list[Phase], iters_per_epoch: int) -> float:
    """LR of optimizer step ``step`` (1-based global). Step ``s`` lies in epoch ``ceil(s / I)``."""
    epoch = max(1, math.ceil(step / iters_per_epoch))
    p = phase_of_epoch(phases, epoch)
    start = (p.first_epoch - 1) * iters_per_epoch
    span = (p.last_epoch - p.first_epoch + 1) * iters_per_epoch
    x = (step - start) / span  # in (0, 1]
    if p.shape == "linear":
        return p.lr_start + (p.lr_end - p.lr_start) * x
    return p.lr_end + 0.5 * (p.lr_start - p.lr_end) * (1.0 + math.cos(math.pi * x))


def phases_json(phases: list[Phase]) -> list[dict]:
    return [asdict(p) for p in phases]
