"""The evaluation summary as a rich terminal table (overall, per class, per sequence)."""
from __future__ import annotations

from detbench.evaluate.combine import COUNT_KEYS

SHOWN = ("HOTA", "DetA", "AssA", "MOTA", "IDF1", "IDSW", "FP", "FN", "TP", "Frag", "MT", "ML")


def _cells(s: dict, keys) -> list[str]:
    return [str(s[k]) if k in COUNT_KEYS else f"{100 * s[k]:.2f}" for k in keys]


def render(result: dict, per_sequence: bool = True, keys=SHOWN, title: str = "tracking metrics"):
    """A :class:`rich.table.Table` of ``evaluate_folders`` output (ratios shown in percent)."""
    from rich.table import Table

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
