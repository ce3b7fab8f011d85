"""The ``ray`` executor: a sweep's tasks as Ray tasks (:mod:`detbench.executors` has the contract).

Attaches to a cluster or starts a local instance; one CPU per task; a task whose worker dies is
retried, one that raises is not. Details: docs/scaling.md, "The Ray executor".
"""
from __future__ import annotations

import logging
import os
import time
from pathlib import Path

from detbench.core import paths
from detbench.core.errors import DetbenchError, InputError
from detbench.executors import Executor, call_chunk
from detbench.threads import init_worker

RAY_MISSING = ("--executor ray needs Ray, an optional extra: pip install 'detbench[ray]' "
               "(or, in a checkout, uv sync --extra ray)")
RETRIES = 3
# environment Ray reads when it is imported or started: no usage-statistics prompt or upload, and
# no `uv run` re-launch of every worker (workers start from the driver's own interpreter)
RAY_ENV = {"RAY_USAGE_STATS_ENABLED": "0", "RAY_ENABLE_UV_RUN_RUNTIME_ENV": "0"}
# environment a task takes from the driver (the runs folder; a thread count the user chose)
TASK_ENV = ("DETBENCH_RUNS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
# The seconds of work a task aims at when map sizes its chunks itself: a Ray task costs 2-5 ms of
# CPU in the driver, raylet and worker together (0.1 ms in the local pool; benchmarks/README.md,
# "Scale"), which is 5-10 % of a 0.05 s sequence run and about 1 % of a task of this length.
TASK_SECONDS = 0.5


class TaskLost(DetbenchError):
    """A task's worker or machine died more often than Ray retries it."""

    exit_code = 1


def import_ray():
    """The ``ray`` module; InputError saying how to install it when it is missing."""
    for key, value in RAY_ENV.items():
        os.environ.setdefault(key, value)
    try:
        import ray
    except ImportError:
        raise InputError(RAY_MISSING) from None
    return ray


def start_ray(address: str | None = None, cpus: int | None = None, env: dict | None = None) -> bool:
    """Connect to the cluster at ``address`` (else ``RAY_ADDRESS``) or start a local instance with
    ``cpus`` CPUs (default: this process's cores); ``env``: environment variables for every worker
    of a local instance. Returns True when this call started something, False when Ray was
    already initialised in this process."""
    ray = import_ray()
    if ray.is_initialized():
        return False
    constants = getattr(getattr(ray, "_private", None), "ray_constants", None)
    if constants is not None and os.environ.get("RAY_ENABLE_UV_RUN_RUNTIME_ENV") == "0":
        constants.RAY_ENABLE_UV_RUN_RUNTIME_ENV = False   # ray imported before import_ray set it (read at import)
    address = address or os.environ.get("RAY_ADDRESS") or None
    quiet = dict(include_dashboard=False, log_to_driver=False, logging_level=logging.ERROR)
    try:
        if address:
            ray.init(address=address, **quiet)
        else:
            ray.init(address="local", num_cpus=int(cpus or len(os.sched_getaffinity(0))),
                     runtime_env={"env_vars": dict(env)} if env else None, **quiet)
    except (ConnectionError, ValueError, RuntimeError) as e:
        where = f"--ray-address {address}" if address else "local Ray instance"
        raise InputError(f"{where}: cannot start or reach Ray ({str(e).splitlines()[0]})") from None
    return True


def _task(fn, chunk, context):
    """What a Ray worker runs: the driver's working directory, runs folder and thread share, then
    ``fn`` over the chunk -> (its seconds, its results)."""
    for key in TASK_ENV:
        if key in context["env"]:
            os.environ[key] = context["env"][key]
        else:
            os.environ.pop(key, None)
    if os.path.isdir(context["cwd"]):
        os.chdir(context["cwd"])
    _init_threads(*context["threads"])
    t0 = time.perf_counter()
    results = call_chunk(fn, chunk)
    return time.perf_counter() - t0, results


class Chunker:
    """The items of one :meth:`RayExecutor.map` cut into tasks as they are submitted. A fixed
    ``size``, else sized from the tasks done so far: a task aims at :data:`TASK_SECONDS` of work
    (items of unknown cost go one a task until the first ones are back), and holds at most a
    ``2 x workers``-th of the items not yet submitted, so that the last tasks are short and no
    worker waits long on another's at the end."""

    def __init__(self, items: list, workers: int, size: int | None = None):
        self.items, self.workers, self.size = items, max(1, workers), size
        self.next = 0                       # the first item not yet submitted
        self.seconds, self.done = 0.0, 0    # the work measured so far, and over how many items

    def take(self) -> list | None:
        """The next chunk, or None when every item is submitted."""
        left = len(self.items) - self.next
        if left <= 0:
            return None
        n = self.size or self._size(left)
        chunk = self.items[self.next:self.next + n]
        self.next += len(chunk)
        return chunk

    def measured(self, seconds: float, items: int) -> None:
        self.seconds, self.done = self.seconds + seconds, self.done + items

    def _size(self, left: int) -> int:
        if not self.done:
            return 1
        per_item = max(self.seconds / self.done, 1e-6)
        return max(1, min(int(TASK_SECONDS / per_item), -(-left // (2 * self.workers))))


_retry_sinks: list = []   # the running maps' counters of retried tasks (see _quiet_driver)


def _quiet_driver(ray) -> None:
    """Ray's driver prints what its machines report for this job (a worker died, a task will be
    retried) to the console: keep that out of the command's output, and count each retry for the
    task bar instead."""
    worker = getattr(getattr(ray, "_private", None), "worker", None)
    original = getattr(worker, "print_to_stdstream", None)
    if original is None or getattr(original, "detbench_quiet", False):
        return

    def quiet(data, *args, **kwargs):
        if data.get("pid") != "raylet":
            return original(data, *args, **kwargs)
        retried = sum("will be retried" in str(line) for line in data.get("lines", ()))
        if retried and _retry_sinks:
            _retry_sinks[-1](retried)

    quiet.detbench_quiet = True
    worker.print_to_stdstream = quiet


class RayExecutor(Executor):
    """Tasks on Ray (see the module docstring); ``cpus``: the CPUs of a local instance."""

    name = "ray"

    def __init__(self, address: str | None = None, cpus: int | None = None, progress=None):
        super().__init__(progress)
        self.address, self.cpus = address, cpus
        self._started = False
        self._remote = None
        self._capacity = 1
        self._warming: list = []   # the warm tasks' results (None), kept until close

    @property
    def workers(self) -> int:
        """The CPUs of the cluster (Ray is started or reached for it)."""
        self.connect()
        return self._capacity

    def connect(self):
        """Start or attach to Ray (once) -> the ``ray`` module."""
        ray = import_ray()
        if self._remote is None:
            self._started = start_ray(self.address, self.cpus)
            _quiet_driver(ray)
            self._remote = ray.remote(_task)
            self._capacity = max(1, int(ray.cluster_resources().get("CPU", 1)))
        return ray

    def gpus_available(self) -> int:
        """The GPUs of the cluster (what ``--device auto`` looks at with this executor)."""
        return int(self.connect().cluster_resources().get("GPU", 0))

    def warm(self, fn, arg) -> None:
        """One task of ``fn(arg)`` per CPU of the cluster, not waited for: Ray runs them on its
        idle workers (``fn`` never raises: nothing is left unread). Once: a later call (a tuning
        inside a comparison that warmed) adds nothing, as with a started pool."""
        if self._warming:
            return
        self.connect()
        task = self._remote.options(num_cpus=1, max_retries=0)
        self._warming = [task.remote(fn, [arg], task_context()) for _ in range(self._capacity)]

    def map(self, fn, items, chunksize=None, gpus=0):
        """See :meth:`Executor.map`; ``chunksize`` None: chunks sized by :class:`Chunker` (a GPU
        task holds one item: the caller cut its items to the GPUs)."""
        items = list(items)
        if not items:
            return
        ray = self.connect()
        context = task_context()
        task = self._remote.options(num_cpus=1, num_gpus=gpus, max_retries=RETRIES, retry_exceptions=False)
        todo = Chunker(items, self._capacity, chunksize or (1 if gpus else None))
        window = 2 * self._capacity  # submitted ahead of the results: every worker busy, the driver's memory bounded
        pending: dict = {}
        left = len(items)

        def submit() -> bool:
            chunk = todo.take()
            if chunk is not None:
                pending[task.remote(fn, chunk, context)] = len(chunk)
            return chunk is not None

        while len(pending) < window and submit():
            pass
        self._report(added=len(items), outstanding=left)
        sink = lambda n: self._report(retried=n)  # noqa: E731
        _retry_sinks.append(sink)
        try:
            while pending:
                ready, _ = ray.wait(list(pending), num_returns=1)
                for ref in ready:
                    n = pending.pop(ref)
                    try:
                        seconds, results = ray.get(ref)
                    except Exception as e:
                        self._report(failed=n, outstanding=0)
                        raise task_error(ray, e) from None
                    todo.measured(seconds, n)
                    left -= n
                    self._report(done=n, outstanding=left)
                    submit()
                    yield from results
        finally:
            _retry_sinks.remove(sink)
            for ref in pending:
                ray.cancel(ref)

    def close(self) -> None:
        if self._started:
            import ray

            ray.shutdown()
            self._started = False
        self._remote, self._warming = None, []


def task_context() -> dict:
    """What every task takes from the driver: its working directory, runs folder (absolute) and
    the user's thread settings, and the thread share a task runs with."""
    env = {k: os.environ[k] for k in TASK_ENV if k in os.environ}
    env["DETBENCH_RUNS"] = str(Path(paths.runs_root()).resolve())
    return {"cwd": os.getcwd(), "env": env, "threads": _task_threads()}


def _task_threads() -> tuple[int, bool]:
    """(threads of a task, set by the user?): a task holds one CPU, so one thread, unless the user
    chose a count (``OMP_NUM_THREADS`` / ``MKL_NUM_THREADS``)."""
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        value = os.environ.get(var, "").strip()
        if value.isdigit() and int(value) > 0:
            return int(value), True
    return 1, False


def _init_threads(threads: int, explicit: bool) -> None:
    """This worker's libraries run ``threads`` threads: the pool workers' policy
    (:func:`detbench.threads.init_worker`: torch intra- and inter-op, OpenMP/MKL/OpenBLAS, OpenCV)."""

    init_worker(threads, explicit)


def task_error(ray, error: Exception) -> Exception:
    """The exception a failed task stands for: the task's own (an InputError stays one line), or
    :class:`TaskLost` when its worker died more often than Ray retries."""
    from ray.exceptions import RayTaskError, TaskCancelledError, WorkerCrashedError

    if isinstance(error, RayTaskError):
        cause = getattr(error, "cause", None)
        return cause if isinstance(cause, BaseException) else DetbenchError(str(error).splitlines()[-1])
    if isinstance(error, (WorkerCrashedError, TaskCancelledError)) or isinstance(error, ray.exceptions.RayError):
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        return TaskLost(f"a Ray task failed {RETRIES + 1} times ({type(error).__name__}: {first})")
    return error
