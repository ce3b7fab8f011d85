"""``detbench ls``: what exists under the runs root."""
from __future__ import annotations

import json

import click


@click.command("ls")
@click.argument("what", required=False, default="all",
                type=click.Choice(["all", "datasets", "runs", "checkpoints", "caches", "motion", "tracks", "trackers"]))
def command(what):
    """List datasets, training runs, checkpoints, detection caches, motion models and trackers."""
    from detbench import paths
    from detbench.runs import epoch_files
    from detbench.runs import run_dirs as subdirs   # dot-folders (unfinished writes) are never listed

    root = paths.runs_root()
    show = (lambda k: what in ("all", k))

    if show("datasets"):
        click.echo(f"datasets ({root / 'data'}):")
        for d in subdirs(root / "data"):
            click.echo(f"  {d.name}")
    if show("runs") or show("checkpoints"):
        click.echo(f"training runs ({paths.train_root()}):")
        for d in subdirs(paths.train_root()):
            names = ", ".join(f"epoch{n}" for n in epoch_files(d))
            click.echo(f"  {d.name}: {names or 'no checkpoints'}")
    if show("caches"):
        click.echo(f"detection caches ({paths.detections_root()}):")
        for d in subdirs(paths.detections_root()):
            meta = d / "meta.json"
            desc = ""
            if meta.is_file():
                try:
                    m = json.loads(meta.read_text())
                    desc = f" {m.get('detector', '')} split={m.get('options', {}).get('split', '?')}"
                except json.JSONDecodeError:
                    desc = " (unreadable meta.json)"
            click.echo(f"  {d.name}{desc}")
    if show("motion"):
        click.echo(f"motion models ({paths.motion_root()}):")
        for d in subdirs(paths.motion_root()):
            click.echo(f"  {d.name}")
    if show("tracks"):
        click.echo(f"tracking runs ({root / 'tracks'}):")
        for det in subdirs(root / "tracks"):
            for trk in subdirs(det):
                click.echo(f"  {det.name}/{trk.name}")
        for name in subdirs(root / "compare"):   # detbench compare keeps its own, per comparison name
            for det in subdirs(name / "tracks"):
                for trk in subdirs(det):
                    click.echo(f"  compare {name.name}: {det.name}/{trk.name}")
    if show("trackers"):
        try:
            from trackers import TRACKERS
            names = ", ".join(sorted(TRACKERS))
        except ImportError:
            names = "(trackers package not available)"
        click.echo(f"trackers: {names}")
