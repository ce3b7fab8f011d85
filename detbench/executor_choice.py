"""The executor a command's ``--executor`` names (:func:`make_executor`): the local pool of
:mod:`detbench.executors` or Ray's (:mod:`detbench.ray_executor`), which builds on it."""
from __future__ import annotations

from typing import Callable

from detbench.core.errors import InputError
from detbench.executors import EXECUTORS, Executor, LocalExecutor, TaskCounts


def make_executor(name: str = "local", jobs: int | None = None, address: str | None = None,
                  progress: Callable[[TaskCounts], None] | None = None, local_jobs: int = 1) -> Executor:
    """The executor a command's ``--executor`` names: ``local`` with ``jobs`` workers (None:
    ``local_jobs``), or ``ray`` (``address``: a running cluster, else ``RAY_ADDRESS``, else a local
    instance of ``jobs`` CPUs, None: every core). Ray is imported here (InputError saying how to
    install it when it is missing) and started at the first task."""

    if name == "local":
        return LocalExecutor(jobs or local_jobs, progress)
    if name == "ray":
        from detbench.ray_executor import RayExecutor, import_ray

        import_ray()
        return RayExecutor(address=address, cpus=jobs, progress=progress)
    raise InputError(f"--executor {name!r}: expected one of {', '.join(EXECUTORS)}")
