"""The evaluation summary as a rich terminal table (overall, per class, per sequence)."""
from __future__ import annotations

from detbench.evaluate import metric_specs


def _cells(s: dict, keys) -> list[str]:
    return [metric_specs.spec(k).display(s[k]) for k in keys]


def render(result: dict, per_sequence: bool = True, keys=None, title: str = "tracking metrics"):
    """A :class:`rich.table.Table` of ``evaluate_folders`` output (ratios shown in percent);
    ``keys``: the columns (default: the ``eval`` table of :mod:`detbench.evaluate.metric_specs`)."""
    from rich.table import Table

    keys = metric_specs.shown("eval") if keys is None else keys
    table = Table(title=title + " (ratios in %)")
    table.add_column("", style="bold", no_wrap=True)
    for k in keys:
        table.add_column(k, justify="right", no_wrap=True)
    if per_sequence:
        for name, s in result["per_sequence"].items():
            table.add_row(name, *_cells(s, keys))
        table.add_section()
    for name, s in result["per_class"].items():
        table.add_row(name, *_cells(s, keys), style="cyan")
    if result["per_class"]:
        table.add_section()
    table.add_row("OVERALL", *_cells(result["overall"], keys), style="bold")
    return table
