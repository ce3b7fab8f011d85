"""Options shared by ``detect``, ``eval-det`` and ``show-dets`` (device, lists); ``--data`` is
:func:`detbench.data.layout.find_dataset`."""
from __future__ import annotations


def resolve_device(device: str) -> str:
    """``--device``: ``auto`` -> cuda when present, else cpu; anything else checked (InputError)."""
    if device != "auto":
        from detbench.core.devices import check_device

        return check_device(device)
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def split_list(values) -> list[str]:
    """Repeated and/or comma-separated option values -> flat list."""
    return [v.strip() for item in values or () for v in item.split(",") if v.strip()]
