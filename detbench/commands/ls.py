"""``detbench ls``: what exists under the runs root."""
from __future__ import annotations

import click


@click.command("ls")
@click.argument("what", required=False, default="all",
                type=click.Choice(["all", "datasets", "runs", "checkpoints", "caches", "motion", "tracks", "trackers"]))
def command(what):
    """List datasets, training runs, checkpoints, detection caches, motion models and trackers."""
    from detbench.runs import listing

    for item in listing(what):
        click.echo("\n".join(_lines(item)))


def _lines(item) -> list[str]:
    if item.kind == "trackers":
        names = "(trackers package not available)" if item.entries is None else ", ".join(item.entries)
        return [f"trackers: {names}"]
    title = {"datasets": "datasets", "runs": "training runs", "caches": "detection caches",
             "motion": "motion models", "tracks": "tracking runs"}[item.kind]
    lines = [f"{title} ({item.root}):"]
    for e in item.entries:
        if item.kind == "runs":
            name, epochs = e
            lines.append(f"  {name}: {', '.join(f'epoch{n}' for n in epochs) or 'no checkpoints'}")
        elif item.kind == "caches":
            desc = ""
            if e.unreadable:
                desc = " (unreadable meta.json)"
            elif e.meta is not None:
                m = e.meta
                desc = f" {m.get('detector', '')} split={m.get('options', {}).get('split', '?')}"
            lines.append(f"  {e.name}{desc}")
        elif item.kind == "tracks":
            where = f"compare {e.comparison}: " if e.comparison else ""
            lines.append(f"  {where}{e.detector}/{e.tracker}")
        else:
            lines.append(f"  {e}")
    return lines
