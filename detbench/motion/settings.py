"""What :func:`detbench.motion.train.train_motion` is asked for, as frozen values: the recipe (the
windows, the schedule, the loss, the seed), the model's shape and the callbacks it reports through.

A None in :class:`MotionRecipe` or :class:`MotionModel` means the default: :data:`RECIPES` for
the plane the model works in, then :class:`trackers.trackssm.train.TrainConfig`'s.
"""
from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Callable

from detbench.core.errors import InputError

#: what ``train_motion`` uses where the caller leaves a size or schedule option None (a key not
#: here: :class:`trackers.trackssm.train.TrainConfig`'s default): the paper's model for image-plane
#: motion; for ground-plane motion a small model trained longer (measured in benchmarks/README.md:
#: the paper-size model learned nothing over calibrated constant velocity in 400 steps, and smaller
#: models given more steps for the same CPU minutes did best)
RECIPES = {"image": {"d_model": 256, "layers": 6},
           "ground": {"d_model": 48, "layers": 2, "steps": 2500, "lr": 3e-3}}


@dataclass(frozen=True)
class MotionRecipe:
    """How to train: windows cut at ``frame_rate`` Hz (``max_windows``: a seeded random subset of
    the training windows), ``steps`` or ``epochs`` (passes over the training windows), not both,
    the optimiser's and the loss's settings, ``jitter``: the detector-like noise on the training
    histories (:func:`detbench.motion.windows.sequence_windows`; 0: exact ground truth) drawn
    ``jitter_copies`` times over the training set (all trained on in every pass), or
    ``jitter_per_epoch`` times with pass ``e`` training on copy ``e mod jitter_per_epoch`` only
    (1: one draw for every pass), and the seed of the subset, the jitter, the initial weights and
    the batches."""

    steps: int | None = None
    epochs: int | None = None
    batch_size: int | None = None
    lr: float | None = None
    warmup_steps: int | None = None
    weight_decay: float | None = None
    grad_clip: float | None = None
    flip: float | None = None
    l1_weight: float | None = None
    giou_weight: float | None = None
    frame_rate: float = 2.0
    max_windows: int | None = None
    jitter: float = 0.0
    jitter_copies: int = 1
    jitter_per_epoch: int = 1
    seed: int = 0

    def __post_init__(self):
        if self.steps is not None and self.epochs is not None:
            raise InputError("--steps and --epochs: give one of them, not both")
        if not self.jitter >= 0:
            raise InputError(f"--jitter {self.jitter}: must be a number >= 0")
        if not (isinstance(self.jitter_copies, int) and self.jitter_copies >= 1):
            raise InputError(f"--jitter-copies {self.jitter_copies}: must be a whole number >= 1")
        k = self.jitter_per_epoch
        if not (isinstance(k, int) and k >= 1):
            raise InputError(f"--jitter-per-epoch {k}: must be a whole number >= 1")
        if k > 1 and self.jitter_copies > 1:
            raise InputError(f"--jitter-per-epoch {k} with --jitter-copies {self.jitter_copies}: give one of "
                             f"them (per-epoch draws train on one copy a pass, --jitter-copies on all of them)")
        if k > 1 and not self.jitter:
            raise InputError(f"--jitter-per-epoch {k} needs --jitter above 0: without jitter every copy is the same")

    @property
    def copies(self) -> int:
        """How many jittered copies of the training set are built (1 without jitter)."""
        return (self.jitter_copies * self.jitter_per_epoch) if self.jitter else 1

    def train_config(self, plane: dict, windows: int, device: str):
        """The :class:`~trackers.trackssm.train.TrainConfig` for ``windows`` training windows, None
        fields from ``plane`` (:data:`RECIPES`), then TrainConfig's defaults."""
        from trackers.trackssm.train import TrainConfig

        lr = plane.get("lr") if self.lr is None else self.lr
        hyper = {k: v for k, v in dict(batch_size=self.batch_size, lr=lr, warmup_steps=self.warmup_steps,
                                       weight_decay=self.weight_decay, grad_clip=self.grad_clip, flip=self.flip,
                                       l1_weight=self.l1_weight, giou_weight=self.giou_weight).items()
                 if v is not None}
        batch_size = hyper.setdefault("batch_size", TrainConfig().batch_size)
        if self.epochs is not None:
            steps = self.epochs * max(1, windows // min(batch_size, windows))
        else:
            steps = plane.get("steps", TrainConfig().steps) if self.steps is None else self.steps
        return TrainConfig(steps=steps, **hyper, seed=self.seed, device=device)


@dataclass(frozen=True)
class MotionModel:
    """The network: ``d_model`` wide (a multiple of 4), ``layers`` encoder layers and decoder
    blocks, and the deviations of :class:`trackers.trackssm.model.ModelConfig`; ``ground``: the
    ground-plane model (it needs every frame's camera)."""

    d_model: int | None = None
    layers: int | None = None
    residual_head: bool = True
    relative: bool = True
    cv_anchor: bool = True
    flow_input: bool = False
    ground: bool = False

    def config(self, recipe: dict):
        """The :class:`~trackers.trackssm.model.ModelConfig`, None sizes from ``recipe`` (:data:`RECIPES`)."""
        from trackers.trackssm.model import ModelConfig

        d_model = recipe["d_model"] if self.d_model is None else self.d_model
        layers = recipe["layers"] if self.layers is None else self.layers
        if d_model % 4:
            raise InputError(f"--d-model {d_model}: must be a multiple of 4 (sine embedding per coordinate)")
        return ModelConfig(d_model=d_model, n_enc_layers=layers, n_dec_blocks=layers,
                           residual_head=self.residual_head, relative=self.relative, flow_input=self.flow_input,
                           cv_anchor=self.cv_anchor, ground=self.ground)


@dataclass(frozen=True)
class MotionCallbacks:
    """``on_plan(MotionPlan)`` once the data is read, before the first step;
    ``progress(step, total_steps, loss, lr)`` after each step (and ``(0, total_steps, nan, 0.0)``
    just before the first); ``on_metrics(metrics)`` once evaluated, before saving."""

    on_plan: Callable | None = None
    progress: Callable[[int, int, float, float], None] | None = None
    on_metrics: Callable[[dict], None] | None = None


def split_options(options: dict) -> tuple[MotionRecipe, MotionModel]:
    """``{"d_model": 64, "lr": 1e-3, ...}`` (flat, as ``train-motion``'s flags name them) -> the
    recipe and the model they give; an unknown key is an InputError naming it."""
    recipe_keys = {f.name for f in fields(MotionRecipe)}
    model_keys = {f.name for f in fields(MotionModel)}
    unknown = sorted(set(options) - recipe_keys - model_keys)
    if unknown:
        raise InputError(f"train-motion options: unknown {', '.join(unknown)}; "
                         f"known: {', '.join(sorted(recipe_keys | model_keys))}")
    return (MotionRecipe(**{k: v for k, v in options.items() if k in recipe_keys}),
            MotionModel(**{k: v for k, v in options.items() if k in model_keys}))
