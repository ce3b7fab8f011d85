"""The end of a ``detbench`` command's process: keep a library's teardown reports off the terminal.

triton (imported by ``torch._dynamo``, which ``torchvision.ops`` imports, so by every command that
runs YOLOX or boxmot) is a nanobind extension. During interpreter finalization, after every
``atexit`` handler, nanobind's cleanup writes to file descriptor 2 a report of each of its objects
still alive ("nanobind: leaked 1 instances!", " - leaked instance ... of type ...", "nanobind:
leaked 199 functions!", "See https://nanobind.readthedocs.io/..."): objects that a library's
caches keep until the process ends. Nothing there is the user's to act on, and nanobind has no
switch for it outside C++ (``nb::set_leak_warnings``, which triton does not expose); triton
silences the same reports of its own compile workers by pointing their descriptor 2 at /dev/null
at exit (``triton/_compile_warmup_pool.py``).

So the ``detbench`` command, and only the command (:func:`detbench.cli.main` run as the program:
never ``import detbench`` or a library user; the test suite's process calls it from
``tests/conftest.py``), calls :func:`quiet_teardown` first thing: an ``atexit`` handler (registered early, so it runs after the handlers registered later)
that, only when a nanobind extension of triton is loaded, flushes Python's streams and points
descriptor 2 at /dev/null for the rest of the teardown. Everything the command printed, a
traceback included, is out before; the exit status is unchanged; triton stays importable, so
``torch.compile`` works. ``DETBENCH_KEEP_TEARDOWN_STDERR=1`` keeps the teardown's stderr (to
debug it).
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
