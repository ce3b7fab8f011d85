"""Training and held-out evaluation of the TrackSSM motion model.

Loss ("step-by-step linear" supervision, as in the paper's code): decoder block k is trained
towards ``last + k/K * (target - last)``; ``l1_weight * SmoothL1 + giou_weight * (1 - GIoU)``,
each summed over the K blocks and averaged over windows.

Schedule (deviations from the paper's constant Adam 1e-4 at batch 2048 for 120-800 epochs, which
is GPU-days; here the budget is minutes of CPU): a fixed number of ``steps`` of ``batch_size``
windows drawn from seeded reshuffled passes (so runs compare across data sizes), AdamW with
linear warm-up over ``warmup_steps`` then cosine decay to ``min_lr_ratio * lr``, decoupled weight
decay and gradient-norm clipping. Augmentation (the paper's code has none; its ``augment`` flag
is never read): each window is mirrored left-right with probability ``flip`` (cx -> 1 - cx,
dcx -> -dcx), a motion that is just as plausible. Histories of every length 1..5 are trained on
(front-padded, masked), because the tracker predicts from such histories too. On CUDA the
forward runs under bf16 autocast; the loss is taken in float32.

Evaluation: mean IoU of the predicted next box with the true one, for TrackSSM, for constant
velocity ``last + (last - previous)`` (the last box itself when the history has one step), for
calibrated constant velocity (on the ground plane, :mod:`trackers.trackssm.ground`; where the
windows have their cameras) and for the last box itself.

A ground-plane model (``ModelConfig.ground``) trains and predicts on the windows' ground-plane
inputs (ego-compensated history, calibrated constant-velocity anchor); the flip mirrors the
anchor with the rest.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F

from trackers.trackssm.data import Windows, step_targets
from trackers.trackssm.model import TrackSSM


@dataclass(frozen=True)
class TrainConfig:
    steps: int = 400
    batch_size: int = 64
    lr: float = 1e-3
    warmup_steps: int = 50
    min_lr_ratio: float = 0.05
    weight_decay: float = 0.01
    grad_clip: float = 1.0
    l1_weight: float = 1.0
    giou_weight: float = 1.0
    flip: float = 0.5
    seed: int = 0
    device: str = "cpu"

    def to_dict(self) -> dict:
        return asdict(self)


def lr_at(step: int, cfg: TrainConfig) -> float:
    """Learning rate of 1-based ``step``: linear warm-up to ``lr`` at ``warmup_steps``, then cosine
    down to ``min_lr_ratio * lr`` at ``steps``."""
    if cfg.warmup_steps and step <= cfg.warmup_steps:
        return cfg.lr * step / cfg.warmup_steps
    span = max(cfg.steps - cfg.warmup_steps, 1)
    progress = min(max(step - cfg.warmup_steps, 0) / span, 1.0)
    floor = cfg.min_lr_ratio * cfg.lr
    return floor + (cfg.lr - floor) * 0.5 * (1 + math.cos(math.pi * progress))


def cxcywh_to_xyxy(b: torch.Tensor) -> torch.Tensor:
    half = b[..., 2:] / 2
    return torch.cat([b[..., :2] - half, b[..., :2] + half], dim=-1)


def box_iou_giou(a: torch.Tensor, b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Element-wise IoU and GIoU of cxcywh boxes (..., 4)."""
    a, b = cxcywh_to_xyxy(a), cxcywh_to_xyxy(b)
    inter_wh = (torch.minimum(a[..., 2:], b[..., 2:]) - torch.maximum(a[..., :2], b[..., :2])).clamp(min=0)
    inter = inter_wh[..., 0] * inter_wh[..., 1]
    area_a = (a[..., 2] - a[..., 0]).clamp(min=0) * (a[..., 3] - a[..., 1]).clamp(min=0)
    area_b = (b[..., 2] - b[..., 0]).clamp(min=0) * (b[..., 3] - b[..., 1]).clamp(min=0)
    union = area_a + area_b - inter
    iou = inter / union.clamp(min=1e-12)
    hull_wh = (torch.maximum(a[..., 2:], b[..., 2:]) - torch.minimum(a[..., :2], b[..., :2])).clamp(min=0)
    hull = hull_wh[..., 0] * hull_wh[..., 1]
    return iou, iou - (hull - union) / hull.clamp(min=1e-12)


def motion_loss(pred: torch.Tensor, steps: torch.Tensor, l1_weight: float = 1.0,
                giou_weight: float = 1.0) -> torch.Tensor:
    """``pred`` and ``steps`` (B, K, 4): weighted SmoothL1 (mean over coords) + (1 - GIoU), summed over K."""
    l1 = F.smooth_l1_loss(pred, steps, reduction="none").mean(-1).sum(-1)
    _, giou = box_iou_giou(pred, steps)
    return (l1_weight * l1 + giou_weight * (1 - giou).sum(-1)).mean()


def constant_velocity(hist: np.ndarray) -> np.ndarray:
    """(N, H, 8) histories -> (N, 4): the last box plus its last delta (width/height kept positive)."""
    pred = hist[:, -1, :4] + hist[:, -1, 4:]
    pred[:, 2:] = np.maximum(pred[:, 2:], 1e-6)
    return pred


@torch.no_grad()
def predict(model: TrackSSM, hist: np.ndarray, mask: np.ndarray, batch_size: int = 1024,
            device: str = "cpu", anchor: np.ndarray | None = None) -> np.ndarray:
    """The model's next box (N, 4) for every window (the last decoder block); ``anchor``: a
    ground-plane model's calibrated constant-velocity boxes."""
    model.eval()
    out = []
    for i in range(0, len(hist), batch_size):
        h = torch.as_tensor(hist[i:i + batch_size], device=device)
        m = torch.as_tensor(mask[i:i + batch_size], device=device)
        a = None if anchor is None else torch.as_tensor(anchor[i:i + batch_size], device=device)
        out.append(model(h, m, a)[:, -1].float().cpu().numpy())
    return np.concatenate(out) if out else np.zeros((0, 4), np.float32)


def next_box_iou(pred: np.ndarray, target: np.ndarray) -> float:
    if len(target) == 0:
        return float("nan")
    iou, _ = box_iou_giou(torch.as_tensor(pred, dtype=torch.float64), torch.as_tensor(target, dtype=torch.float64))
    return float(iou.mean())


def last_box(hist: np.ndarray) -> np.ndarray:
    """(N, H, 8) histories -> (N, 4): the last observed box (the "nothing moves" baseline)."""
    return hist[:, -1, :4].copy()


def evaluate(model: TrackSSM, wins: Windows, device: str = "cpu") -> dict:
    """Held-out figures: mean next-box IoU of TrackSSM, constant velocity in the image, calibrated
    constant velocity and the last box; ``on_ground``: the windows given calibrated constant
    velocity (the rest fall back to image constant velocity). The calibrated figures are None
    for windows read without their cameras."""
    hist, mask, anchor = wins.model_inputs(model.config.ground)
    return {"windows": len(wins),
            "trackssm_iou": next_box_iou(predict(model, hist, mask, device=device, anchor=anchor), wins.target),
            "const_velocity_iou": next_box_iou(constant_velocity(wins.hist), wins.target),
            "calibrated_cv_iou": next_box_iou(wins.calibrated_cv, wins.target) if wins.has_ground else None,
            "on_ground": int(wins.on_ground.sum()) if wins.has_ground else None,
            "last_box_iou": next_box_iou(last_box(wins.hist), wins.target)}


def flip_windows(hist: torch.Tensor, mask: torch.Tensor, target: torch.Tensor, which: torch.Tensor):
    """Mirror the windows where ``which`` is True left-right: cx -> 1 - cx, dcx -> -dcx (and a
    ground-plane row's box as seen: x1, x2 -> 1 - x2, 1 - x1); padded rows stay zero."""
    hist = hist.clone()
    hist[which, :, 0] = 1 - hist[which, :, 0]
    hist[which, :, 4] = -hist[which, :, 4]
    if hist.shape[-1] == 12:
        hist[which, :, 8], hist[which, :, 10] = 1 - hist[which, :, 10], 1 - hist[which, :, 8]
    hist = hist * mask[..., None].to(hist.dtype)
    return hist, flip_boxes(target, which)


def flip_boxes(boxes: torch.Tensor, which: torch.Tensor) -> torch.Tensor:
    """(N, 4) cxcywh boxes mirrored left-right (cx -> 1 - cx) where ``which`` is True."""
    boxes = boxes.clone()
    boxes[which, 0] = 1 - boxes[which, 0]
    return boxes


def batches(n: int, batch_size: int, steps: int, gen: torch.Generator, copies: int = 1):
    """``steps`` index batches of exactly ``min(batch_size, n)`` windows, from seeded
    reshuffled passes over ``range(n)`` (the tail of a pass that cannot fill a batch is dropped).

    ``copies`` > 1: the windows are that many copies of ``n`` windows, one after another (the
    same targets, each copy its own jittered histories), and pass ``e`` (0-based) reads copy
    ``e mod copies`` only: its indices are shifted by ``(e mod copies) * n``. The shuffles, the
    batch size and the step count are those of one copy; 1 gives exactly one copy's batches."""
    size = min(batch_size, n)
    order, pos, epoch = torch.randperm(n, generator=gen), 0, 0
    for _ in range(steps):
        if pos + size > n:
            order, pos, epoch = torch.randperm(n, generator=gen), 0, epoch + 1
        yield order[pos:pos + size] + (epoch % copies) * n
        pos += size


def train(model: TrackSSM, wins: Windows, cfg: TrainConfig,
          on_step: Callable[[int, float, float], None] | None = None, copies: int = 1) -> list[float]:
    """Train in place for ``cfg.steps`` steps; returns the loss of every step.
    ``on_step(step, loss, lr)`` after each one. ``copies`` > 1: ``wins`` is that many equally long
    copies of the training set and each pass over it reads the next copy (:func:`batches`)."""
    if len(wins) == 0:
        raise ValueError("no training windows")
    if copies < 1 or len(wins) % copies:
        raise ValueError(f"{len(wins)} training windows do not split into {copies} equal copies")
    gen = torch.Generator().manual_seed(cfg.seed)
    device = torch.device(cfg.device)
    model.to(device)
    steps_k = model.config.n_dec_blocks
    hist, mask, anchor = wins.model_inputs(model.config.ground)
    hist_all, mask_all, target_all = torch.as_tensor(hist), torch.as_tensor(mask), torch.as_tensor(wins.target)
    anchor_all = None if anchor is None else torch.as_tensor(anchor)
    decay = [p for n, p in model.named_parameters() if p.ndim >= 2 and not n.endswith("A_log")]
    rest = [p for n, p in model.named_parameters() if not (p.ndim >= 2 and not n.endswith("A_log"))]
    # no decay on biases, norms, D and A_log (decaying A_log would pull every SSM pole to 1)
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": cfg.weight_decay},
                             {"params": rest, "weight_decay": 0.0}], lr=cfg.lr)
    use_bf16 = device.type == "cuda"
    losses = []
    model.train()
    for step, idx in enumerate(batches(len(hist_all) // copies, cfg.batch_size, cfg.steps, gen, copies), 1):
        lr = lr_at(step, cfg)
        for group in opt.param_groups:
            group["lr"] = lr
        hist, mask, target = hist_all[idx], mask_all[idx], target_all[idx]
        anchor = None if anchor_all is None else anchor_all[idx]
        if cfg.flip > 0:
            which = torch.rand(len(idx), generator=gen) < cfg.flip
            hist, target = flip_windows(hist, mask, target, which)
            anchor = None if anchor is None else flip_boxes(anchor, which)
        # each block's target lies on the line from the box the decoder starts from to the truth
        steps = step_targets(model.start_box(hist, anchor).numpy(), target.numpy(), steps_k)
        hist, mask = hist.to(device), mask.to(device)
        anchor = None if anchor is None else anchor.to(device)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=use_bf16):
            pred = model(hist, mask, anchor)
        loss = motion_loss(pred.float(), torch.as_tensor(steps, device=device), cfg.l1_weight, cfg.giou_weight)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if cfg.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
        opt.step()
        losses.append(float(loss.detach()))
        if on_step:
            on_step(step, losses[-1], lr)
    model.eval()
    return losses
