"""Multi-process training: ``torchrun --nproc_per_node=N -m detbench.cli train ...``.

One process per GPU (NCCL) or per CPU worker (gloo, used by the tests). torchrun sets RANK,
WORLD_SIZE, LOCAL_RANK, MASTER_ADDR and MASTER_PORT; without them training runs in one process.
Each rank takes its share of every global batch (the global batch size is the recipe's); only
rank 0 writes files.

N processes train exactly what one process does with the same global batch (up to float rounding;
tested with 2 gloo processes): the loss is normalised by the positives of the whole global batch
(:func:`global_loss`, not by each rank's own, which YOLOX's loss does), and every BatchNorm that
trains computes its statistics over the whole global batch (:func:`sync_batchnorm`). The images of
each global batch are the same as with one process (``setup.epoch_batches``), and augmentation is
seeded per sample, so neither depends on the rank.
"""
from __future__ import annotations

import os

import torch
import torch.distributed as dist


def setup(device: str) -> tuple[int, int, torch.device]:
    """(rank, world size, this process's device); initialises the process group when WORLD_SIZE > 1."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    cuda = device.startswith("cuda")
    if world == 1:
        return 0, 1, torch.device(device)
    rank, local = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", os.environ["RANK"]))
    if not dist.is_initialized():
        dist.init_process_group("nccl" if cuda else "gloo", rank=rank, world_size=world)
    if cuda:
        torch.cuda.set_device(local)
        return rank, world, torch.device("cuda", local)
    return rank, world, torch.device("cpu")


def barrier(world: int) -> None:
    if world > 1:
        dist.barrier()


def any_true(flag: bool, world: int, device: torch.device) -> bool:
    """True when ``flag`` is true on any rank (so every rank stops together, e.g. on a NaN loss)."""
    if world == 1:
        return flag
    t = torch.tensor([1.0 if flag else 0.0], device=device)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return bool(t.item() > 0)


class GlobalBatchNorm2d(torch.nn.BatchNorm2d):
    """BatchNorm2d whose training statistics cover every rank's samples (differentiable all-reduce).

    Works with gloo on CPU (torch's SyncBatchNorm needs a GPU) and with NCCL. Same parameters,
    buffers and state-dict keys as BatchNorm2d; in eval mode it is BatchNorm2d.
    """

    def forward(self, x):
        if not (self.training and dist.is_available() and dist.is_initialized()):
            return super().forward(x)
        from torch.distributed.nn.functional import all_reduce

        c = x.shape[1]
        xf = x.float()
        n_local = torch.full((1,), xf.numel() / c, device=x.device, dtype=torch.float32)
        sums = all_reduce(torch.cat([xf.sum((0, 2, 3)), (xf * xf).sum((0, 2, 3)), n_local]))
        n = sums[-1]
        mean = sums[:c] / n
        var = (sums[c:2 * c] / n - mean * mean).clamp(min=0.0)
        with torch.no_grad():
            self.num_batches_tracked += 1
            m = self.momentum
            self.running_mean.mul_(1 - m).add_(mean.detach().to(self.running_mean.dtype), alpha=m)
            unbiased = var.detach() * (n / (n - 1)).clamp(min=1.0)
            self.running_var.mul_(1 - m).add_(unbiased.to(self.running_var.dtype), alpha=m)
        y = (xf - mean[None, :, None, None]) * torch.rsqrt(var + self.eps)[None, :, None, None]
        y = y * self.weight[None, :, None, None] + self.bias[None, :, None, None]
        return y.to(x.dtype)


def sync_batchnorm(model: torch.nn.Module) -> int:
    """Replace, in place, every BatchNorm2d with trainable parameters by :class:`GlobalBatchNorm2d`
    (the frozen trunk's stay as they are: in eval mode they use running statistics). Returns the count."""
    count = 0
    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            if type(child) is torch.nn.BatchNorm2d and child.weight is not None and child.weight.requires_grad:
                new = GlobalBatchNorm2d(child.num_features, child.eps, child.momentum, child.affine,
                                        child.track_running_stats)
                new.load_state_dict(child.state_dict())
                new.train(child.training)
                setattr(parent, name, new.to(child.weight.device))
                count += 1
    return count


def global_loss(out: dict, world: int) -> tuple[torch.Tensor, dict]:
    """(loss to back-propagate on this rank, logged values of the whole global batch).

    ``out`` is the model's training output: the loss terms normalised by this rank's positives
    ``fg`` (at least 1), ``gts`` the rank's ground-truth boxes. With one process both come back as
    they are. With N, one all-reduce of the unnormalised sums gives the global positive count P, and
    the rank's loss becomes ``sum_r * N / max(P, 1)``: DDP's gradient average then equals the
    gradient of one process's ``sum / max(P, 1)``. Logged values are tensors (no host sync here).
    """
    keys = ("total", "iou", "conf", "cls", "l1")
    raw = [out[f"{k}_loss"] for k in keys]
    if world == 1:
        logged = {k: t.detach() if torch.is_tensor(t) else float(t) for k, t in zip(keys, raw)}
        return out["total_loss"], {**logged, "num_fg": out["num_fg"]}
    terms = [t.detach().float() if torch.is_tensor(t) else torch.tensor(float(t)) for t in raw]
    fg = torch.as_tensor(out["fg"], dtype=torch.float32, device=out["total_loss"].device).reshape(())
    gts = torch.as_tensor(out["gts"], dtype=torch.float32, device=fg.device).reshape(())
    own = fg.clamp(min=1.0)
    vec = torch.stack([fg, gts, *[t.to(fg.device) * own for t in terms]])
    dist.all_reduce(vec)
    total_fg = vec[0].clamp(min=1.0)
    loss = out["total_loss"] * (own * world / total_fg)
    logged = {k: v / total_fg for k, v in zip(keys, vec[2:])}
    logged["num_fg"] = vec[0] / vec[1].clamp(min=1.0)
    return loss, logged


def wrap(model: torch.nn.Module, world: int, device: torch.device) -> torch.nn.Module:
    if world == 1:
        return model
    from torch.nn.parallel import DistributedDataParallel

    return DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)


def cleanup(world: int) -> None:
    if world > 1 and dist.is_initialized():
        dist.destroy_process_group()
