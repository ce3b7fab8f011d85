"""The end of a ``detbench`` command's process: keep a library's teardown reports off the terminal.

:func:`quiet_teardown` (the command only, never ``import detbench``) silences nanobind's leak
reports from triton at interpreter exit; ``DETBENCH_KEEP_TEARDOWN_STDERR=1`` keeps them. Why:
docs/development.md, "A quiet teardown".
"""
from __future__ import annotations

import atexit
import os
import sys

KEEP_ENV = "DETBENCH_KEEP_TEARDOWN_STDERR"
NANOBIND_MODULES = ("triton._C.libtriton",)   # the extensions whose teardown reports are silenced

_registered = False


def _silence_stderr() -> None:
    if os.environ.get(KEEP_ENV) or not any(m in sys.modules for m in NANOBIND_MODULES):
        return
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (AttributeError, OSError, ValueError):   # closed or replaced streams: nothing to flush
            pass
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    os.close(devnull)


def quiet_teardown() -> None:
    """Register the handler (once per process)."""
    global _registered
    if not _registered:
        atexit.register(_silence_stderr)
        _registered = True
