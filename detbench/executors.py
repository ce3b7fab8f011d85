"""Where a sweep's tasks run: this machine's process pool or a Ray cluster, behind one interface.

The driver gathers every task's result and writes the artifacts itself, so what is written depends
neither on the executor nor on its workers. ``local`` (:class:`LocalExecutor`) and ``ray``
(:class:`detbench.ray_executor.RayExecutor`); the contract: docs/scaling.md, "Executors".
"""
from __future__ import annotations

import multiprocessing as mp
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass
from typing import Callable, Iterable, Iterator

EXECUTORS = ("local", "ray")


@dataclass
class TaskCounts:
    """What an executor has been given so far: ``total`` tasks, ``done``, ``failed``, ``running``
    (started and not finished: at most the workers' number) and ``retried`` (run again after their
    worker died: Ray)."""

    total: int = 0
    done: int = 0
    failed: int = 0
    running: int = 0
    retried: int = 0


class Executor:
    """The interface every engine implements (see the module docstring)."""

    name = "?"

    def __init__(self, progress: Callable[[TaskCounts], None] | None = None):
        self.progress = progress
        self.counts = TaskCounts()

    @property
    def workers(self) -> int:
        """How many tasks run at once."""
        raise NotImplementedError

    def map(self, fn: Callable, items: Iterable, chunksize: int = 1, gpus: float = 0) -> Iterator:
        """``fn(item)`` for every item, yielded as tasks finish (any order); ``chunksize`` items
        go to a task together (Ray's default, None, sizes its chunks from the tasks' measured time:
        a Ray task costs 2-5 ms of CPU, a pool's ~0.1 ms); ``gpus``: the GPUs a task needs (Ray;
        the local pool ignores it)."""
        raise NotImplementedError

    def warm(self, fn: Callable, arg) -> None:
        """Have every worker run ``fn(arg)`` now, while the caller goes on with its own work: the
        imports a sweep's first tasks would wait for (seconds a process: torch, boxmot, TrackEval)
        overlap the driver's own preparation (keys, plans). ``fn`` must never raise (it prepares,
        it computes nothing); results are the same with or without it. Default: nothing."""

    def close(self) -> None:
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _report(self, added: int = 0, done: int = 0, failed: int = 0, outstanding: int | None = None,
                retried: int = 0) -> None:
        c = self.counts
        c.total, c.done, c.failed, c.retried = c.total + added, c.done + done, c.failed + failed, c.retried + retried
        if outstanding is not None:
            c.running = min(self.workers, outstanding)
        if self.progress:
            self.progress(TaskCounts(c.total, c.done, c.failed, c.running, c.retried))


def _start_worker(init: Callable, initargs: tuple, warm: tuple) -> None:
    """A pool worker's initializer: the thread policy first (libraries read it when they load),
    then the :meth:`Executor.warm` calls made before the pool started."""
    init(*initargs)
    for fn, arg in warm:
        fn(arg)


def _nothing() -> None:
    pass


def call_chunk(fn: Callable, chunk: list) -> list:
    """One task: ``fn`` over a chunk of items (what a worker runs)."""
    return [fn(item) for item in chunk]


def chunks(items: list, size: int) -> list[list]:
    size = max(1, int(size))
    return [items[i:i + size] for i in range(0, len(items), size)]


class LocalExecutor(Executor):
    """``jobs`` worker processes on this machine (``jobs`` <= 1: this process). ``start``: the
    multiprocessing start method of the pool ("forkserver": workers import what they need;
    "fork": they inherit the driver's imported modules). The pool is created at the first call
    that needs it and kept until :meth:`close`."""

    name = "local"

    def __init__(self, jobs: int = 1, progress=None, start: str = "forkserver"):
        super().__init__(progress)
        self.jobs, self.start = max(1, int(jobs)), start
        self._pool: ProcessPoolExecutor | None = None
        self._warm: list[tuple[Callable, object]] = []

    @property
    def workers(self) -> int:
        return self.jobs

    def map(self, fn, items, chunksize=1, gpus=0):
        items = list(items)
        if self.jobs <= 1 or len(items) <= 1:
            yield from self._serial(fn, items)
            return
        pool = self._get_pool()
        pending = {pool.submit(call_chunk, fn, c): len(c) for c in chunks(items, chunksize)}
        self._report(added=len(items), outstanding=len(items))
        left = len(items)
        try:
            while pending:
                finished, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in finished:
                    n = pending.pop(future)
                    try:
                        results = future.result()
                    except BaseException:
                        self._report(failed=n, outstanding=0)
                        raise
                    left -= n
                    self._report(done=n, outstanding=left)
                    yield from results
        finally:
            for future in pending:
                future.cancel()

    def warm(self, fn, arg) -> None:
        """Start the workers now, each running ``fn(arg)`` after the thread policy (a pool already
        started keeps its workers as they are; ``jobs`` 1 runs nothing ahead: this process imports
        what it needs when it needs it)."""
        if self.jobs <= 1 or self._pool is not None:
            return
        self._warm.append((fn, arg))
        pool = self._get_pool()
        for _ in range(self.jobs):  # the pool starts a worker per submitted call while none is idle
            pool.submit(_nothing)

    def _serial(self, fn, items):
        self._report(added=len(items))
        for item in items:
            self._report(outstanding=1)
            try:
                result = fn(item)
            except BaseException:
                self._report(failed=1, outstanding=0)
                raise
            self._report(done=1, outstanding=0)
            yield result

    def _get_pool(self) -> ProcessPoolExecutor:
        if self._pool is None:
            from detbench.threads import pool_options  # each worker runs its share of the cores

            threads = pool_options(self.jobs)
            self._pool = ProcessPoolExecutor(max_workers=self.jobs, mp_context=mp.get_context(self.start),
                                             initializer=_start_worker,
                                             initargs=(threads["initializer"], threads["initargs"], tuple(self._warm)))
        return self._pool

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None
