"""Per-iteration training log: ``log.jsonl`` (one JSON object per step), TensorBoard scalars, rich bar.

``log.jsonl`` keys (docs/contracts.md section 2): epoch, iter, step, lr, total, iou, conf, cls, l1,
num_fg, images_per_s, memory_mb, time, phase. Lines are appended and flushed one by one; on
``--resume`` the file is first cut back (atomically) to the steps the resumed state contains.
"""
from __future__ import annotations

import json
import resource
from pathlib import Path
from typing import Callable

import torch

from detbench.core.fileio import atomic_write_text

LOSS_KEYS = ("total", "iou", "conf", "cls", "l1", "num_fg")
LOG_KEYS = ("epoch", "iter", "step", "lr", "total", "iou", "conf", "cls", "l1", "num_fg",
            "images_per_s", "memory_mb", "time", "phase")


def memory_mb(device: torch.device) -> float:
    """Peak memory so far: CUDA allocator peak on GPU, process max RSS on CPU."""
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def truncate_log(path: Path, last_step: int) -> None:
    """Keep only the lines with ``step <= last_step`` (what a resumed run has already done)."""
    if not path.is_file():
        return
    keep = [ln for ln in path.read_text().splitlines() if ln.strip() and json.loads(ln)["step"] <= last_step]
    atomic_write_text(path, "".join(ln + "\n" for ln in keep))


class StepBuffer:
    """Steps whose loss values may still be on the device; :meth:`read` copies them all at once."""

    def __init__(self):
        self.rows: list[dict] = []
        self.values: list[dict] = []

    def __len__(self):
        return len(self.rows)

    def add(self, row: dict, losses: dict) -> None:
        self.rows.append(row)
        self.values.append({k: losses[k] for k in LOSS_KEYS})

    def read(self) -> list[dict]:
        """The buffered rows with float loss values (one device-to-host copy); empties the buffer."""
        slots = [(i, k) for i, d in enumerate(self.values) for k in LOSS_KEYS if torch.is_tensor(d[k])]
        if slots:
            host = torch.stack([self.values[i][k].detach().float().reshape(()) for i, k in slots]).cpu().tolist()
            for (i, k), v in zip(slots, host):
                self.values[i][k] = v
        out = [{**r, **{k: float(v) for k, v in d.items()}} for r, d in zip(self.rows, self.values)]
        self.rows, self.values = [], []
        return out


class RunLogger:
    """Writes the log line and the TensorBoard scalars, and reports progress (rank 0 only):
    ``progress(step, total_steps, description, info)`` once at the start (``""`` for both
    strings) and after every logged step (``epoch E/N``; loss, lr and phase)."""

    def __init__(self, run_dir: Path, total_steps: int, done_steps: int, enabled: bool = True,
                 tensorboard: bool = True,
                 progress: Callable[[int, int, str, str], None] | None = None):
        self.enabled = enabled
        self.file = open(run_dir / "log.jsonl", "a") if enabled else None
        self.tb = None
        if enabled and tensorboard:
            from torch.utils.tensorboard import SummaryWriter
            self.tb = SummaryWriter(str(run_dir / "tb"))
        self.progress = progress if enabled else None
        self.total_steps = total_steps
        if self.progress:
            self.progress(done_steps, total_steps, "", "")

    def log(self, row: dict, epochs: int) -> None:
        if not self.enabled:
            return
        self.file.write(json.dumps({k: row[k] for k in LOG_KEYS}) + "\n")
        self.file.flush()
        if self.tb is not None:
            for k in ("total", "iou", "conf", "cls", "l1", "lr", "images_per_s"):
                self.tb.add_scalar(f"train/{k}", row[k], row["step"])
        if self.progress:
            self.progress(row["step"], self.total_steps, f"epoch {row['epoch']}/{epochs}",
                          f"loss {row['total']:.3f}  lr {row['lr']:.2e}  {row['phase']}")

    def close(self) -> None:
        if self.tb is not None:
            self.tb.close()
        if self.file is not None:
            self.file.close()
