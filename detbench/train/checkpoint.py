"""Checkpoint files of a training run, detector names, and loading a detector for inference.

``runs/train/<run>/epoch_<N>.pth`` (and ``latest.pth``, which adds optimizer, EMA and step for
``--resume``) is a weights-only dict::

    {"format": "detbench-yolox/1", "model_size", "num_classes", "class_names", "input_size": [h, w],
     "epoch", "step", "recipe", "model": state dict, "ema": state dict | None,
     "frozen_base": None | {"path": "frozen_base.pth" (relative to the run), "sha256": ...}}

With a frozen trunk, ``model``/``ema`` hold only the head; the trunk lives once in the run's
``frozen_base.pth``, checked by sha256 at load. ``detbench export`` writes a standalone
``{"model": full state dict, "start_epoch", "detbench": metadata}`` that stock YOLOX tools load.
"""
from __future__ import annotations

import io
from pathlib import Path

import torch

from detbench.core.classes import CLASSES
from detbench.core.errors import InputError
from detbench.core.fileio import atomic_write_bytes, ensure_writable, sha256_file
from detbench.runs import latest_run, resolve_detector  # noqa: F401 - re-exported
from detbench.train.models import build_model, canonical_size, load_pth

FORMAT = "detbench-yolox/1"
META_KEYS = ("model_size", "num_classes", "class_names", "input_size", "epoch", "step", "recipe")


def save_pth(path: Path, obj: dict) -> str:
    """Atomically write ``obj`` with torch.save; returns its sha256."""
    buf = io.BytesIO()
    torch.save(obj, buf)
    atomic_write_bytes(path, buf.getvalue())
    return sha256_file(path)


def full_state_dict(ckpt: dict, path: Path, use_ema: bool = True) -> dict:
    """The complete model state dict of a detbench checkpoint (head + verified frozen base)."""
    state = dict(ckpt["ema"] if use_ema and ckpt.get("ema") else ckpt["model"])
    base = ckpt.get("frozen_base")
    if base:
        base_path = Path(base["path"])
        if not base_path.is_absolute():
            base_path = path.parent / base_path
        if not base_path.is_file():
            raise InputError(f"{path}: its frozen base {base_path} is missing")
        if sha256_file(base_path) != base["sha256"]:
            raise InputError(f"{path}: frozen base {base_path} changed (sha256 differs from the checkpoint's)")
        state.update(load_pth(base_path))
    return state


def read_checkpoint(path: str | Path) -> tuple[dict, dict]:
    """(metadata, full state dict) of a detbench epoch/latest checkpoint or an exported file."""
    path = Path(path)
    ckpt = load_pth(path)
    if ckpt.get("format") == FORMAT:
        meta, state = {k: ckpt.get(k) for k in META_KEYS}, full_state_dict(ckpt, path)
    elif isinstance(ckpt.get("detbench"), dict) and "model" in ckpt:
        meta, state = ckpt["detbench"], ckpt["model"]
    else:
        raise InputError(f"{path}: no detbench metadata (train with `detbench train` or pass --init to train)")
    return meta, state


def init_state(path: str | Path) -> dict:
    """The state dict an ``--init`` file provides: a detbench checkpoint, an export, or official YOLOX."""
    path = Path(path)
    ckpt = load_pth(path)
    if ckpt.get("format") == FORMAT or isinstance(ckpt.get("detbench"), dict):
        return read_checkpoint(path)[1]
    state = ckpt.get("model", ckpt)
    if not isinstance(state, dict) or not state or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise InputError(f"{path}: no state dict under 'model'")
    return state


def load_detector(path: str | Path, device: str = "cpu", num_classes: int = len(CLASSES)):
    """(model in eval mode on ``device``, info) from a checkpoint's own metadata.

    ``info``: num_classes, class_names, input_size (h, w), model_size, sha256, epoch.
    A checkpoint of another class count than ``num_classes`` is an InputError.
    """
    path = Path(path)
    meta, state = read_checkpoint(path)
    n = int(meta["num_classes"])
    w = state.get("head.cls_preds.0.weight")
    if w is None or w.shape[0] != n:
        raise InputError(f"{path}: class layer has {None if w is None else w.shape[0]} classes, metadata says {n}")
    if n != num_classes:
        raise InputError(f"{path}: checkpoint has {n} classes, detbench needs {num_classes} ({', '.join(CLASSES)})")
    model = build_model(canonical_size(meta["model_size"]), n)
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as e:
        raise InputError(f"{path}: weights do not fit {meta['model_size']} ({str(e).splitlines()[0]})") from None
    model.to(device).eval()
    info = {"num_classes": n, "class_names": list(meta["class_names"]),
            "input_size": tuple(int(v) for v in meta["input_size"]), "model_size": meta["model_size"],
            "sha256": sha256_file(path), "epoch": int(meta.get("epoch") or 0)}
    return model, info


def export(path: str | Path, out: str | Path) -> Path:
    """Write a standalone checkpoint (``{"model": full state dict, "start_epoch", "detbench"}``)."""
    ensure_writable(out, "exported checkpoint", inputs={"DETECTOR": path})
    meta, state = read_checkpoint(path)
    save_pth(Path(out), {"model": state, "start_epoch": int(meta.get("epoch") or 0), "detbench": meta})
    return Path(out)
