"""Command-line option helpers for detbench/commands: repeatable ``KEY=VALUE`` options
(``--set``, ``--tracker-opt``; parsed by :mod:`detbench.core.options`, which library code uses), the
``--tracker`` / ``--trackers`` options, whose help lists the registered trackers, and the numeric
option types (:class:`FiniteFloat`, :data:`Seed`) that refuse a bad value at parse time."""
from __future__ import annotations

import click

from detbench.core.errors import InputError
from detbench.core.options import parse_key_values, parse_tracker_options
from trackers import tracker_help

__all__ = ["parse_key_values", "parse_tracker_options", "TrackerHelpOption", "FiniteFloat", "Seed",
           "executor_options", "check_executor_options"]


class FiniteFloat(click.FloatRange):
    """``click.FloatRange`` that also refuses nan and inf (click's range lets nan through: every
    comparison with it is False), so a numeric option is checked when it is parsed, before any work."""

    name = "float"

    def convert(self, value, param, ctx):
        value = super().convert(value, param, ctx)
        if value != value or value in (float("inf"), float("-inf")):
            self.fail(f"{value} is not a finite number", param, ctx)
        return value


# a random seed: numpy's generators take non-negative integers only
Seed = click.IntRange(min=0)


class TrackerHelpOption(click.Option):
    """An option whose help is its ``help`` followed by the tracker registry's names and one-line
    descriptions (:func:`trackers.tracker_help`), built only when help is shown (so a command
    does not import every tracker to start)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._own_help = self.help

    def get_help_record(self, ctx):
        self.help = " ".join(filter(None, [self._own_help, tracker_help()]))  # the registry as it is now
        return super().get_help_record(ctx)


def executor_options(command):
    """``--executor local|ray`` and ``--ray-address`` (:mod:`detbench.executors`) for a sweep command."""
    command = click.option(
        "--ray-address", default=None, metavar="HOST:PORT",
        help="With --executor ray: the head of a running Ray cluster (what `ray start --head` prints; "
             "default $RAY_ADDRESS, else a local Ray instance on this machine's cores).")(command)
    return click.option(
        "--executor", type=click.Choice(["local", "ray"]), default="local", show_default=True,
        help="Where the tasks run: local (--jobs worker processes on this machine) or ray (Ray tasks on a "
             "cluster whose machines share the runs folder; pip install 'detbench[ray]'). "
             "The files written are the same.")(command)


def check_executor_options(executor: str, ray_address: str | None) -> None:
    """``--ray-address`` only goes with ``--executor ray``."""

    if ray_address and executor != "ray":
        raise InputError(f"--ray-address {ray_address}: it goes with --executor ray (got --executor {executor})")
