"""How many CPU threads each path runs: the one place that decides.

Cores are the CPUs this process may run on (``os.sched_getaffinity``), not the machine's count.

- **The user's setting wins**: ``--threads`` (``threads=``), ``OMP_NUM_THREADS`` or
  ``MKL_NUM_THREADS``, or a ``torch.set_num_threads`` below torch's own default made before
  detbench ran (one equal to the default cannot be told apart from it: say it with the variable).
- **Pool workers** (``ProcessPoolExecutor``: tracking, sensitivity, evaluation; a Ray task) get
  :func:`worker_threads` = cores / workers, at least 1, for torch (intra- and inter-op),
  OpenMP/MKL/OpenBLAS and OpenCV: ``--jobs 2`` on 2 cores is 2 busy threads, never 4.
  :func:`pool_options` gives an executor the initializer that sets them in each worker.
- **Every other run** decides its torch count once, before it starts (:func:`decide`), and keeps
  it: never from the machine's load or timed steps, because torch's results follow the count
  (a TrackSSM or YOLOX training, a YOLOX forward at real input sizes differ in their last bits
  between 1 and 2 threads; tests/test_threads.py). Default: 1 thread for the paths of many small
  ops (TrackSSM training and tracking), one per core for YOLOX ``train`` / ``detect``. Measured
  on 2 cores (benchmarks/README.md, "CPU threads"): 2 threads beside one other busy process made
  TrackSSM training ~4x and tracking ~10x slower than 1 thread, while on idle cores 2 threads
  trained ~1.4x faster (88 s vs ~124 s for the default 400 steps): ``--threads 2`` there.
  TrackSSM tracking gives the same tracks on any count (tested), so only its speed follows it.
  ``train-motion`` and ``train`` record the count in meta.json / run.json, ``detect`` in its
  cache's meta.json.
- **DataLoader workers** (train, detect): torch gives each one thread.
"""
from __future__ import annotations

import os
import sys
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache

# Read at library load by OpenMP / MKL / OpenBLAS / OpenCV (set in a worker before they load).
THREAD_ENV = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "OPENCV_FOR_THREADS_NUM")
USER_ENV = ("OMP_NUM_THREADS", "MKL_NUM_THREADS")  # the ones a user sets to say "this many"

_worker: tuple[int, bool] | None = None   # in a pool worker: (its threads, the user's setting?)
_applied: int | None = None               # the torch thread count detbench itself set last


def available_cores() -> int:
    """The CPUs this process may run on (its affinity mask), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # not Linux
        return max(1, os.cpu_count() or 1)


def worker_threads(cores: int, jobs: int) -> int:
    """Threads for each of ``jobs`` workers sharing ``cores`` cores: ``cores // jobs``, at least 1.

    The policy any executor calls for its workers (a process pool here, Ray tasks per machine)."""
    return max(1, int(cores) // max(1, int(jobs)))


def _env_threads() -> tuple[int, str] | None:
    for var in USER_ENV:
        value = os.environ.get(var, "").strip()
        if value.isdigit() and int(value) > 0:
            return int(value), var
    return None


@lru_cache(maxsize=1)
def _torch_default() -> int:
    """The thread count torch starts with here: the physical cores among this process's CPUs
    (MKL's default), their number where the topology cannot be read."""
    try:
        cpus = os.sched_getaffinity(0)
    except (AttributeError, OSError):
        return available_cores()
    cores = set()
    for cpu in cpus:
        topo = f"/sys/devices/system/cpu/cpu{cpu}/topology/"
        try:
            with open(topo + "physical_package_id") as p, open(topo + "core_id") as c:
                cores.add((p.read().strip(), c.read().strip()))
        except OSError:
            return len(cpus)
    return max(1, len(cores))


def user_threads() -> tuple[int, str] | None:
    """``(threads, where it was set)`` when the user chose a thread count, else None."""
    if _worker is not None:
        return (_worker[0], "the pool's setting") if _worker[1] else None
    env = _env_threads()
    if env is not None:
        return env
    torch = sys.modules.get("torch")
    if torch is not None:
        current = torch.get_num_threads()
        if current != _applied and current < _torch_default():
            return current, "torch.set_num_threads"
    return None


def limit() -> int:
    """The most threads this process should run: its worker share in a pool, else its cores."""
    return _worker[0] if _worker is not None else available_cores()


def set_torch_threads(n: int) -> None:
    """Torch's intra-op thread count, remembered as detbench's own (not the user's)."""
    global _applied
    import torch

    if torch.get_num_threads() != n:
        torch.set_num_threads(n)
    _applied = n
    _worker_interop(torch)


@contextmanager
def restored():
    """Puts torch's thread count back as it was when the block ends (a library call leaves the
    caller's setting alone)."""
    global _applied
    import torch

    before, applied = torch.get_num_threads(), _applied
    try:
        yield
    finally:
        torch.set_num_threads(before)
        _applied = applied


def current() -> dict:
    """What this process runs now: ``{"torch", "interop", "cv2"}`` thread counts of the libraries
    it has loaded (what a worker reports back)."""
    out = {}
    if "torch" in sys.modules:
        torch = sys.modules["torch"]
        out["torch"], out["interop"] = torch.get_num_threads(), torch.get_num_interop_threads()
    if "cv2" in sys.modules:
        out["cv2"] = sys.modules["cv2"].getNumThreads()
    return out


# ------------------------------------------------------------------ pool workers
def pool_threads(workers: int, threads: int | None = None) -> tuple[int, bool]:
    """(threads per worker, set by the user?) for a pool of ``workers`` started by this process."""
    if threads is not None:
        return max(1, int(threads)), True
    user = user_threads()
    if user is not None:
        return user[0], True
    return worker_threads(limit(), workers), False


def init_worker(threads: int, explicit: bool = False) -> None:
    """Pool initializer: every threaded library of this worker runs ``threads`` threads.

    Libraries not loaded yet read the environment when they load; torch, if already loaded, is
    set directly. Torch's inter-op threads have no variable: they are set here when
    torch is loaded, else when detbench first sets torch's threads in the worker (they can be set
    once, before any inter-op work; detbench does none)."""
    global _worker
    _worker = (threads, explicit)
    for var in THREAD_ENV:
        os.environ[var] = str(threads)
    if "torch" in sys.modules:
        torch = sys.modules["torch"]
        torch.set_num_threads(threads)
        _set_interop(torch, threads)
    # OpenCV only through its variable: cv2.setNumThreads in a *forked* child whose parent had
    # started OpenCV's pool waits forever (pthread_cond_destroy on the parent's pool, seen in a
    # DataLoader worker). Forkserver workers (tracking, sensitivity) load cv2 after this.


def _worker_interop(torch) -> None:
    """In a pool worker that loaded torch after :func:`init_worker` (no variable sets inter-op
    threads): its share, set when detbench first sets torch's threads there."""
    if _worker is not None:
        _set_interop(torch, _worker[0])


def _set_interop(torch, threads: int) -> None:
    if torch.get_num_interop_threads() != threads:
        try:
            torch.set_num_interop_threads(threads)
        except RuntimeError:  # already started (or set) in this process: it can be set only once
            pass


def pool_options(workers: int, threads: int | None = None) -> dict:
    """Keyword arguments for ``ProcessPoolExecutor`` so each of its ``workers`` runs its share."""
    return {"initializer": init_worker, "initargs": pool_threads(workers, threads)}


# ------------------------------------------------------------------ one run's count
@dataclass(frozen=True)
class Decision:
    """The torch thread count of one run and where it comes from; fixed for the whole run."""
    count: int
    source: str

    def describe(self) -> str:
        """The run's first line."""
        return f"threads: {self.count} ({self.source})"

    def record(self) -> dict:
        """What meta.json / run.json keep: ``{"count", "source"}``."""
        return {"count": self.count, "source": self.source}


SMALL_OPS = "default for TrackSSM's small ops; --threads N for more"
BIG_OPS = "default: one per core this process may use; --threads N to change"


def decide(threads: int | None = None, small_ops: bool = False) -> Decision:
    """The count for a run, decided once before it starts, never from load or timing (torch's
    numerics follow the count: training and YOLOX's forward differ in their last bits between 1
    and 2 threads, so a count that followed the machine's load would make results irreproducible).

    ``threads`` (``--threads``) first, then the user's setting (:func:`user_threads`), else the
    default: 1 thread for paths of many small ops (TrackSSM training and tracking: more threads
    pay only on idle cores, 1.4x, and cost 4-10x beside any other busy process), one per core
    (:func:`limit`: the affinity mask, or a pool worker's share) for big ops (YOLOX)."""
    if threads is not None:
        return Decision(max(1, int(threads)), "--threads")
    user = user_threads()
    if user is not None:
        return Decision(*user)
    if small_ops:
        return Decision(1, SMALL_OPS)
    return Decision(limit(), "the pool worker's share" if _worker is not None else BIG_OPS)


@contextmanager
def using(decision: Decision):
    """Torch runs ``decision.count`` threads inside the block; the caller's count is back after."""
    with restored():
        set_torch_threads(decision.count)
        yield decision
