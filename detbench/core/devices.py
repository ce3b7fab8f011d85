"""``--device`` values: checked once, before any work, with one line naming the option."""
from __future__ import annotations

import re

from detbench.core.errors import InputError

_DEVICE = re.compile(r"^(cpu|cuda|cuda:\d+|mps)$")


def check_device(device: str, what: str = "--device") -> str:
    """Return ``device`` if this machine can use it; InputError naming ``what`` otherwise.

    ``cpu`` never imports torch (error paths stay fast); ``cuda[:N]`` needs CUDA and GPU N.
    """
    dev = str(device).strip()
    if not _DEVICE.match(dev):
        raise InputError(f"{what} {device!r}: not a device (use cpu, cuda, cuda:N or mps)")
    if dev == "cpu":
        return dev
    import torch

    if dev == "mps":
        if not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
            raise InputError(f"{what} {device!r}: MPS is not available on this machine")
        return dev
    if not torch.cuda.is_available():
        raise InputError(f"{what} {device!r}: CUDA is not available on this machine (use cpu)")
    index = int(dev.split(":")[1]) if ":" in dev else 0
    count = torch.cuda.device_count()
    if index >= count:
        raise InputError(f"{what} {device!r}: this machine has {count} CUDA device(s) "
                         f"(cuda:0..cuda:{count - 1})")
    return dev
