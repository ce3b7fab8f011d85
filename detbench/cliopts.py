"""Command-line option helpers for detbench/commands: repeatable ``KEY=VALUE`` options
(``--set``, ``--tracker-opt``; parsed by :mod:`detbench.options`, which library code uses) and the
``--tracker`` / ``--trackers`` options, whose help lists the registered trackers."""
from __future__ import annotations

import click

from detbench.options import parse_key_values, parse_tracker_options

__all__ = ["parse_key_values", "parse_tracker_options", "TrackerHelpOption"]


class TrackerHelpOption(click.Option):
    """An option whose help is its ``help`` followed by the tracker registry's names and one-line
    descriptions (:func:`trackers.tracker_help`), built only when help is shown (so a command
    does not import every tracker to start)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._own_help = self.help

    def get_help_record(self, ctx):
        from trackers import tracker_help

        self.help = " ".join(filter(None, [self._own_help, tracker_help()]))  # the registry as it is now
        return super().get_help_record(ctx)
