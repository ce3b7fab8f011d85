"""YOLOX's loss with a batched SimOTA assignment: every image of the batch at once.

The same rules as YOLOX's per-image code, each step one tensor operation over (batch, boxes,
anchors), with nothing read back to the host. The rules and where ties may differ from YOLOX:
docs/training.md, "The batched SimOTA assignment".
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from yolox.models.yolo_head import YoloxHead

CENTRE_RADIUS = 1.5
CANDIDATE_K = 10
IOU_WEIGHT = 3.0
OUTSIDE_COST = 1e6
REG_WEIGHT = 5.0


@dataclass
class Assignment:
    fg: torch.Tensor  # (B, A) bool: the anchor is a positive
    matched_gt: torch.Tensor  # (B, A) long: index of its box in labels[b] (0 where not fg)
    matched_iou: torch.Tensor  # (B, A) float: IoU of its prediction with that box (0 where not fg)
    dynamic_k: torch.Tensor  # (B, G) int: anchors each box asked for (0 for padding rows)
    claims: torch.Tensor  # (B, A): how many boxes took the anchor before rule 4


def pairwise_iou(gt: torch.Tensor, pred: torch.Tensor) -> torch.Tensor:
    """(B, G, 4) x (B, A, 4) cx, cy, w, h -> (B, G, A) IoU (0 for disjoint boxes)."""
    g = gt[:, :, None, :]
    p = pred[:, None, :, :]
    left = torch.maximum(g[..., 0] - g[..., 2] / 2, p[..., 0] - p[..., 2] / 2)
    top = torch.maximum(g[..., 1] - g[..., 3] / 2, p[..., 1] - p[..., 3] / 2)
    right = torch.minimum(g[..., 0] + g[..., 2] / 2, p[..., 0] + p[..., 2] / 2)
    bottom = torch.minimum(g[..., 1] + g[..., 3] / 2, p[..., 1] + p[..., 3] / 2)
    overlap = ((left < right) & (top < bottom)).to(gt.dtype)
    inter = (right - left) * (bottom - top) * overlap
    return inter / (g[..., 2] * g[..., 3] + p[..., 2] * p[..., 3] - inter)


def class_cost(cls_logits: torch.Tensor, obj_logits: torch.Tensor, gt_cls: torch.Tensor) -> torch.Tensor:
    """(B, A, C), (B, A, 1), (B, G) -> (B, G, A): sum over classes of BCE(sqrt(p_cls * p_obj), one-hot).

    The sum over the classes not the box's is shared by every box: the full negative sum of each
    anchor, corrected at the box's class (no (B, G, A, C) tensor).
    """
    p = (cls_logits.float().sigmoid() * obj_logits.float().sigmoid()).sqrt()
    neg = -torch.log1p(-p).clamp(min=-100.0)  # BCE with target 0 (torch clamps the log at -100)
    pos = -torch.log(p).clamp(min=-100.0)  # BCE with target 1
    base = neg.sum(-1)  # (B, A)
    delta = (pos - neg).transpose(1, 2)  # (B, C, A)
    idx = gt_cls.long().clamp(0, delta.shape[1] - 1)[:, :, None].expand(-1, -1, delta.shape[2])
    return base[:, None, :] + torch.gather(delta, 1, idx)


@torch.no_grad()
def assign(labels: torch.Tensor, pred_boxes: torch.Tensor, cls_logits: torch.Tensor, obj_logits: torch.Tensor,
           x_shifts: torch.Tensor, y_shifts: torch.Tensor, strides: torch.Tensor) -> Assignment:
    """SimOTA over the whole batch. ``labels`` (B, G, 5) [cls, cx, cy, w, h] padded with zero rows;
    ``pred_boxes`` (B, A, 4) decoded cx, cy, w, h; shifts and strides (A,) per anchor."""
    labels, pred_boxes = labels.float(), pred_boxes.float()
    b, g_max, _ = labels.shape
    a = pred_boxes.shape[1]
    valid = torch.arange(g_max, device=labels.device)[None, :] < (labels.sum(2) > 0).sum(1)[:, None]
    gt_boxes, gt_cls = labels[..., 1:5], labels[..., 0]

    # 1. centre regions (strict inequalities, as YOLOX's min(deltas) > 0)
    cx, cy = (x_shifts + 0.5) * strides, (y_shifts + 0.5) * strides
    r = strides * CENTRE_RADIUS
    gx, gy = gt_boxes[..., 0:1], gt_boxes[..., 1:2]
    dist = torch.minimum(torch.minimum(cx - (gx - r), (gx + r) - cx),
                         torch.minimum(cy - (gy - r), (gy + r) - cy))
    in_centre = (dist > 0.0) & valid[..., None]  # (B, G, A)
    candidate = in_centre.any(1)  # (B, A): the image's candidates
    pair = candidate[:, None, :] & valid[..., None]

    # 2. cost over the candidates; everything else can never be chosen
    ious = torch.where(pair, pairwise_iou(gt_boxes, pred_boxes), 0.0)
    cost = class_cost(cls_logits, obj_logits, gt_cls) + IOU_WEIGHT * -torch.log(ious + 1e-8)
    cost = cost + OUTSIDE_COST * (~in_centre)
    cost = torch.where(pair, cost, torch.inf)

    # 3. dynamic k (never more than the image's candidates: their IoUs are at most 1 each)
    k_max = min(CANDIDATE_K, a)
    dynamic_k = ious.topk(k_max, dim=2).values.sum(2).int().clamp(min=1)
    dynamic_k = torch.where(valid & candidate.any(1, keepdim=True), dynamic_k, 0)
    _, lowest = cost.topk(k_max, dim=2, largest=False)  # (B, G, k) ascending cost
    take = torch.arange(k_max, device=labels.device)[None, None, :] < dynamic_k[..., None]
    matching = torch.zeros(b, g_max, a, dtype=torch.bool, device=labels.device).scatter_(2, lowest, take)

    # 4. one box per anchor: the lowest cost among all boxes where several took it
    count = matching.sum(1)
    matched = torch.where(count > 1, cost.argmin(1), matching.to(torch.uint8).argmax(1))
    fg = count > 0
    matched_iou = torch.where(fg, ious.gather(1, matched[:, None, :]).squeeze(1), 0.0)
    return Assignment(fg=fg, matched_gt=torch.where(fg, matched, 0), matched_iou=matched_iou,
                      dynamic_k=dynamic_k, claims=count)


def batched_get_losses(self, imgs, x_shifts, y_shifts, expanded_strides, labels, outputs, origin_preds, dtype):
    """Drop-in for ``YoloxHead.get_losses`` (same arguments, same returned tuple)."""
    bbox_preds, obj_preds, cls_preds = outputs[..., :4], outputs[..., 4:5], outputs[..., 5:]
    xs, ys = torch.cat(x_shifts, 1)[0], torch.cat(y_shifts, 1)[0]
    strides = torch.cat(expanded_strides, 1)[0]
    asg = assign(labels, bbox_preds.detach(), cls_preds.detach(), obj_preds.detach(), xs, ys, strides)
    fg = asg.fg
    num_gts = (labels.sum(2) > 0).sum()
    num_fg = fg.sum().clamp(min=1).to(outputs.dtype)

    boxes = torch.gather(labels[..., 1:5], 1, asg.matched_gt[..., None].expand(-1, -1, 4)).to(outputs.dtype)
    cx, cy = (xs + 0.5) * strides, (ys + 0.5) * strides
    stand_in = torch.stack([cx, cy, strides, strides], -1).to(outputs.dtype).expand_as(boxes)
    boxes = torch.where(fg[..., None], boxes, stand_in)  # finite targets where nothing is learnt
    fg_col = fg.reshape(-1)
    pred = torch.where(fg[..., None], bbox_preds, stand_in)  # no gradient path outside the positives
    loss_iou = torch.where(fg_col, self.iou_loss(pred.reshape(-1, 4), boxes.reshape(-1, 4)), 0.0).sum() / num_fg
    loss_obj = self.bcewithlog_loss(obj_preds.reshape(-1, 1), fg.reshape(-1, 1).to(dtype)).sum() / num_fg
    cls_t = F.one_hot(torch.gather(labels[..., 0], 1, asg.matched_gt).long(), self.num_classes).to(outputs.dtype)
    cls_t = cls_t * asg.matched_iou[..., None].to(outputs.dtype)
    loss_cls = torch.where(fg_col[:, None], self.bcewithlog_loss(
        cls_preds.reshape(-1, self.num_classes), cls_t.reshape(-1, self.num_classes)), 0.0).sum() / num_fg
    if self.use_l1:
        raw = torch.cat(origin_preds, 1)
        target = torch.stack([boxes[..., 0] / strides - xs, boxes[..., 1] / strides - ys,
                              torch.log(boxes[..., 2] / strides + 1e-8),
                              torch.log(boxes[..., 3] / strides + 1e-8)], -1)
        raw = torch.where(fg[..., None], raw, target)
        loss_l1 = torch.where(fg_col[:, None], self.l1_loss(raw.reshape(-1, 4), target.reshape(-1, 4)),
                              0.0).sum() / num_fg
    else:
        loss_l1 = 0.0
    loss = REG_WEIGHT * loss_iou + loss_obj + loss_cls + loss_l1
    return loss, REG_WEIGHT * loss_iou, loss_obj, loss_cls, loss_l1, num_fg / num_gts.clamp(min=1)


class BatchedSimOTAHead(YoloxHead):
    """YoloxHead with :func:`batched_get_losses` (same parameters and state-dict keys)."""

    get_losses = batched_get_losses


LOSSES = {"batched": BatchedSimOTAHead, "yolox": YoloxHead}


def use_loss(head: YoloxHead, kind: str) -> None:
    """Switch a head's training loss in place: "batched" (this module) or "yolox" (YOLOX's own)."""
    head.__class__ = LOSSES[kind]
