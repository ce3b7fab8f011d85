"""Options shared by ``detect``, ``eval-det`` and ``show-dets`` (dataset lookup, device)."""
from __future__ import annotations

from pathlib import Path

from detbench.errors import InputError


def resolve_data_dir(data: str) -> Path:
    """``--data``: a prepared dataset folder, or a name under ``runs/data/``."""
    from detbench import paths

    p = Path(data)
    if p.is_dir():
        return p
    named = paths.data_dir(data)
    if named.is_dir():
        return named
    raise InputError(f"{data}: no prepared dataset here or at {named} (run detbench prepare)")


def resolve_device(device: str) -> str:
    """``--device``: ``auto`` -> cuda when present, else cpu; anything else checked (InputError)."""
    if device != "auto":
        from detbench.devices import check_device

        return check_device(device)
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def split_list(values) -> list[str]:
    """Repeated and/or comma-separated option values -> flat list."""
    return [v.strip() for item in values or () for v in item.split(",") if v.strip()]
