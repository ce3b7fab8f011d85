"""Pipelines of stages: the demo and the demo's base weights, each a declarative list of stages run
by one :class:`Runner`.

A :class:`Stage` is the library call behind one ``detbench`` command: its name, the command's
argv (printed and recorded, so that any stage can be rerun by hand), the call (given its progress
bar's callback), the bar to draw and what to say of its result. An item of a pipeline is a stage,
or a function of the values of the stages before it (by name) returning one or several stages,
for a stage whose arguments are an earlier one's result. The runner prints each command, draws the
bar, times the stage and turns a stage's :class:`~detbench.core.errors.DetbenchError` into one
line naming the command (:class:`StageError`, an InputError still one, with the same exit code).
"""
from __future__ import annotations

import time
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Union

from detbench.core.errors import DetbenchError, InputError

# ``progress(bar)``: a context manager yielding the progress callback of one stage's library
# function (its signature is that function's), or None for no bar
Progress = Callable[[str], AbstractContextManager]


@dataclass(frozen=True)
class Stage:
    """One step: ``call(callback)`` runs the library function behind ``detbench <argv>``;
    ``callback``: the ``bar`` progress bar's (None without one); ``tell(value)`` says what it found;
    ``kept``: done by an earlier invocation (printed and recorded, not run)."""

    name: str
    argv: tuple
    call: Callable[[Callable | None], Any]
    bar: str | None = None
    tell: Callable[[Any], None] | None = None
    kept: bool = False


# a pipeline's item: a stage, or a function of the values so far returning a stage or several
Item = Union[Stage, Callable[[dict], Union[Stage, Iterable[Stage]]]]


class StageError(DetbenchError):
    """A stage's DetbenchError, its message led by the stage's equivalent command; same exit code."""


class StageInputError(StageError, InputError):
    """A stage's InputError (the user's input was wrong), led by the stage's command."""


@dataclass
class Runner:
    """Runs a pipeline's stages in order; ``label`` leads its lines (``[demo] ...``), ``prefix`` the
    argv of every command (``--runs-dir R``), ``show_name`` puts the stage's name before its command.
    ``commands`` (full argv lists, ``detbench`` first) and ``timings`` (s per run stage) fill as it goes."""

    label: str
    say: Callable[[str], None] = print
    progress: Progress | None = None
    prefix: tuple = ()
    show_name: bool = True
    kept_note: str = "kept"
    commands: list = field(default_factory=list)
    timings: dict = field(default_factory=dict)
    values: dict = field(default_factory=dict)

    def line(self, stage: Stage) -> list[str]:
        return ["detbench", *(str(a) for a in (*self.prefix, *stage.argv))]

    def run(self, stage: Stage) -> Any:
        """Run one stage (see the module docstring); returns what its call returns (None when kept)."""
        argv = self.line(stage)
        line = " ".join(argv)
        self.commands.append(argv)
        if stage.kept:
            self.say(f"[{self.label}] {self.kept_note}: {line}")
            return None
        self.say(f"\n[{self.label}] {stage.name}: {line}" if self.show_name else f"\n[{self.label}] {line}")
        t0 = time.perf_counter()
        try:
            with (self.progress(stage.bar) if self.progress is not None and stage.bar else nullcontext()) as cb:
                value = stage.call(cb)
        except DetbenchError as e:
            err = (StageInputError if isinstance(e, InputError) else StageError)(
                f"{self.label} stage `{line}`: {e}")
            err.exit_code = e.exit_code
            raise err from e
        if stage.tell:
            stage.tell(value)
        self.timings[stage.name] = round(time.perf_counter() - t0, 1)
        if self.show_name:
            self.say(f"[{self.label}] {stage.name} done in {self.timings[stage.name]:.0f} s")
        return value

    def run_all(self, items: Iterable[Item]) -> dict:
        """Run every item in order; returns ``{stage name: value}`` (what later items read)."""
        for item in items:
            stages = item(self.values) if callable(item) else item
            for stage in [stages] if isinstance(stages, Stage) else stages:
                self.values[stage.name] = self.run(stage)
        return self.values


def counting(callback: Callable | None, total: int, count: Callable = lambda *args: 1) -> Callable | None:
    """``callback(done, total)`` from a callback called per item (or with ``count(*args)`` items)."""
    if callback is None:
        return None
    done = [0]

    def step(*args) -> None:
        done[0] += count(*args)
        callback(done[0], total)
    return step
