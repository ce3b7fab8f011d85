"""Training and held-out evaluation of the TrackSSM motion model.

Loss ("step-by-step linear" supervision): decoder block k is trained towards
``last + k/K * (target - last)``; ``l1_weight * SmoothL1 + giou_weight * (1 - GIoU)``, each
summed over the K blocks and averaged over windows. Adam at a constant learning rate.
Evaluation: mean IoU of the predicted next box with the true one, for TrackSSM and for the
constant-velocity baseline ``last + (last - previous)`` (the last box itself when the history
has one step).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F

from trackers.trackssm.data import Windows, step_targets
from trackers.trackssm.model import TrackSSM


@dataclass(frozen=True)
class TrainConfig:
    epochs: int = 20
    batch_size: int = 256
    lr: float = 1e-4
    l1_weight: float = 1.0
    giou_weight: float = 1.0
    seed: int = 0
    device: str = "cpu"

    def to_dict(self) -> dict:
        return asdict(self)


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
            device: str = "cpu") -> np.ndarray:
    """The model's next box (N, 4) for every window (the last decoder block)."""
    model.eval()
    out = []
    for i in range(0, len(hist), batch_size):
        h = torch.as_tensor(hist[i:i + batch_size], device=device)
        m = torch.as_tensor(mask[i:i + batch_size], device=device)
        out.append(model(h, m)[:, -1].float().cpu().numpy())
    return np.concatenate(out) if out else np.zeros((0, 4), np.float32)


def next_box_iou(pred: np.ndarray, target: np.ndarray) -> float:
    if len(target) == 0:
        return float("nan")
    iou, _ = box_iou_giou(torch.as_tensor(pred, dtype=torch.float64), torch.as_tensor(target, dtype=torch.float64))
    return float(iou.mean())


def evaluate(model: TrackSSM, wins: Windows, device: str = "cpu") -> dict:
    """Held-out figures: mean next-box IoU of TrackSSM and of constant velocity, window count."""
    return {"windows": len(wins),
            "trackssm_iou": next_box_iou(predict(model, wins.hist, wins.mask, device=device), wins.target),
            "const_velocity_iou": next_box_iou(constant_velocity(wins.hist), wins.target)}


def train(model: TrackSSM, wins: Windows, cfg: TrainConfig,
          on_step: Callable[[int, int, float], None] | None = None) -> list[float]:
    """Train in place; returns the mean loss per epoch. ``on_step(epoch, step, loss)`` after each batch."""
    if len(wins) == 0:
        raise ValueError("no training windows")
    gen = torch.Generator().manual_seed(cfg.seed)
    device = torch.device(cfg.device)
    model.to(device)
    steps_k = model.config.n_dec_blocks
    hist = torch.as_tensor(wins.hist)
    mask = torch.as_tensor(wins.mask)
    steps = torch.as_tensor(step_targets(wins.hist[:, -1, :4], wins.target, steps_k))
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    history = []
    for epoch in range(1, cfg.epochs + 1):
        model.train()
        order = torch.randperm(len(hist), generator=gen)
        total, count = 0.0, 0
        for step, i in enumerate(range(0, len(order), cfg.batch_size), 1):
            idx = order[i:i + cfg.batch_size]
            pred = model(hist[idx].to(device), mask[idx].to(device))
            loss = motion_loss(pred, steps[idx].to(device), cfg.l1_weight, cfg.giou_weight)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += float(loss.detach()) * len(idx)
            count += len(idx)
            if on_step:
                on_step(epoch, step, float(loss.detach()))
        history.append(total / count)
    model.eval()
    return history
