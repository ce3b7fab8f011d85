"""A loop's torch thread count, re-decided from what it measures as it runs (:class:`ThreadTuner`).

Why: torch splits each op over its intra-op threads and waits for all of them. When another
process holds one of the cores, the thread that shares it runs late and every op waits for it;
on a loop of many small ops (TrackSSM's step-by-step scan) that made 2 threads beside busy
processes 4-6x slower than 1 thread (training) and ~10x (tracking), while 2 threads on idle cores
trained faster (benchmarks/README.md, "CPU threads"). So the count follows the cores other
processes leave free, and among the counts that fit, the one measured fastest.
"""
from __future__ import annotations

import math
import os
import statistics
import time
from collections import Counter
from typing import Callable


class CoreMeter:
    """Cores' worth of CPU that *other* processes used on this process's CPUs since the last
    reading: the busy time ``/proc/stat`` counts on those CPUs minus this process's own CPU time
    (its child processes, e.g. DataLoader workers, count as others: they need cores too)."""

    FIELDS = 8  # user nice system idle iowait irq softirq steal (guest time is inside user)

    def __init__(self, stat_path: str = "/proc/stat", cpus: set[int] | None = None,
                 clock: Callable[[], float] = time.perf_counter, own: Callable[[], float] = time.process_time):
        if cpus is None:
            try:
                cpus = os.sched_getaffinity(0)
            except (AttributeError, OSError):
                cpus = set(range(os.cpu_count() or 1))
        self.cpus, self.stat_path, self.clock, self.own = set(cpus), stat_path, clock, own
        self.tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
        self._last = self._sample()

    @property
    def cores(self) -> int:
        return len(self.cpus)

    def _busy_seconds(self) -> float | None:
        try:
            with open(self.stat_path) as f:
                lines = f.read().splitlines()
        except OSError:  # not Linux
            return None
        busy = 0
        for line in lines:
            name, *values = line.split()
            if name.startswith("cpu") and name[3:].isdigit() and int(name[3:]) in self.cpus:
                v = [int(x) for x in values[:self.FIELDS]]
                busy += sum(v) - v[3] - v[4]
        return busy / self.tick

    def _sample(self) -> tuple[float, float, float] | None:
        busy = self._busy_seconds()
        return None if busy is None else (self.clock(), busy, self.own())

    def others(self) -> float | None:
        """Cores' worth used by other processes since the previous call (None: cannot tell)."""
        now, prev = self._sample(), self._last
        self._last = now
        if now is None or prev is None or now[0] <= prev[0]:
            return None
        return max(0.0, ((now[1] - prev[1]) - (now[2] - prev[2])) / (now[0] - prev[0]))


def candidates(cap: int) -> list[int]:
    """Thread counts worth timing up to ``cap``: 1, 2, 4, ... and ``cap`` itself."""
    out = [1]
    while out[-1] * 2 < cap:
        out.append(out[-1] * 2)
    return out + [cap] if cap > 1 else out


def free_cores(cores: int, others: float | None, limit: int) -> int:
    """Threads that fit beside ``others`` cores' worth of other work: a core counts as free while
    other processes use less than a quarter of it; at least 1, at most ``limit``."""
    if others is None:
        return limit
    return max(1, min(limit, math.floor(cores - others + 0.25)))


def _set_torch(n: int) -> None:
    from detbench.threads import set_torch_threads

    set_torch_threads(n)


class ThreadTuner:
    """Sets torch's thread count for a loop of similar steps; call :meth:`step` after each step.

    About every ``interval_s`` it reads the free cores (:class:`CoreMeter`, :func:`free_cores`,
    capped at ``limit``). When more than one count fits and ``trial_steps`` > 0, it times
    ``trial_steps`` steps at each of :func:`candidates` (the first step after a switch is not
    counted) and keeps the one with the lowest median step time, until the free cores change or
    ``retrial_s`` passes; ``trial_steps=0`` runs one thread per free core. Nothing is set before
    :meth:`start`. :meth:`fixed` builds one that never changes (the user's setting)."""

    MIN_LOOK_S = 0.2  # a shorter reading of /proc/stat (10 ms ticks) is too coarse

    def __init__(self, limit: int, trial_steps: int = 4, interval_s: float = 1.0, retrial_s: float = 60.0,
                 meter: CoreMeter | None = None, clock: Callable[[], float] = time.perf_counter,
                 set_threads: Callable[[int], None] = _set_torch, source: str = "adaptive"):
        self.limit, self.trial_steps = max(1, limit), trial_steps
        self.interval_s, self.retrial_s = interval_s, retrial_s
        self.clock, self.set_threads, self.source = clock, set_threads, source
        self.is_fixed = source != "adaptive"
        self.meter = None if self.is_fixed else (meter or CoreMeter())
        self.steps_at: Counter = Counter()
        self.threads, self.cap = 0, None
        self._queue: list[int] = []
        self._times: dict[int, list[float]] = {}
        self._skip = False
        self._prev = None
        self._looked = self._trialled = clock()

    @classmethod
    def fixed(cls, threads: int, source: str, set_threads: Callable[[int], None] = _set_torch) -> ThreadTuner:
        return cls(threads, trial_steps=0, source=source, set_threads=set_threads)

    def _use(self, n: int) -> None:
        if n != self.threads:
            self.set_threads(n)
            self.threads, self._skip = n, True

    def start(self) -> None:
        """Before a run of steps: the first call sets the starting count (from the free cores
        already, when the tuner was made at least ``MIN_LOOK_S`` before: e.g. before the data was
        read); the next step's time starts now (time between runs, e.g. sequences, is no step's)."""
        now = self.clock()
        if not self.threads:
            if not self.is_fixed and now - self._looked >= self.MIN_LOOK_S:
                self._look(now)
            if not self.threads:  # fixed, or too soon to tell: 1 until the first look
                self._use(self.limit if self.is_fixed else 1)
        self._prev = now

    def step(self) -> None:
        """After each step (the first, without :meth:`start`, only starts)."""
        if self._prev is None:
            self.start()
            return
        now = self.clock()
        self.steps_at[self.threads] += 1
        if self._queue:
            self._timed(now - self._prev)
        self._prev = now
        if not self.is_fixed and now - self._looked >= self.interval_s:
            self._look(now)

    def _timed(self, seconds: float) -> None:
        if self._skip:
            self._skip = False
            return
        times = self._times.setdefault(self.threads, [])
        times.append(seconds)
        if len(times) < self.trial_steps:
            return
        self._queue.pop(0)
        if self._queue:
            self._use(self._queue[0])
        else:  # fastest median; a tie goes to fewer threads
            self._use(min(self._times, key=lambda n: (statistics.median(self._times[n]), n)))

    def _look(self, now: float) -> None:
        self._looked = now
        cap = free_cores(self.meter.cores, self.meter.others(), self.limit)
        if cap == self.cap and (self._queue or now - self._trialled < self.retrial_s or cap == 1):
            return
        self.cap, self._trialled = cap, now
        options = candidates(cap)
        if self.trial_steps <= 0 or len(options) == 1:
            self._queue = []
            self._use(cap if self.trial_steps <= 0 else 1)
            return
        # the current count first: no switch before the first timing
        self._queue = sorted(options, key=lambda n: (n != self.threads, n))
        self._times = {}
        if self._queue[0] == self.threads:
            self._skip = False
        else:
            self._use(self._queue[0])

    def describe(self) -> str:
        """One line for a run's output: the count and where it comes from."""
        if self.is_fixed:
            return f"threads: {self.limit} ({self.source})"
        return (f"threads: 1-{self.limit}, re-decided as it runs from the free cores"
                f"{' and timed steps' * (self.trial_steps > 0)} (--threads N or OMP_NUM_THREADS=N fixes it)")

    def plan(self) -> dict:
        """Known before the first step: the mode, where it comes from, the most threads."""
        return {"mode": "fixed" if self.is_fixed else "adaptive", "source": self.source, "limit": self.limit}

    def summary(self) -> dict:
        """What meta.json records: :meth:`plan` and how many steps ran at each count."""
        return {**self.plan(), "steps_at": {str(n): c for n, c in sorted(self.steps_at.items())},
                "most_steps_at": self.steps_at.most_common(1)[0][0] if self.steps_at else self.threads}
