"""``detbench ls``: what exists under the runs root (and inside each demo's own runs folder)."""
from __future__ import annotations

import click


@click.command("ls")
@click.argument("what", required=False, default="all",
                type=click.Choice(["all", "datasets", "runs", "checkpoints", "caches", "motion", "tracks", "trackers"]))
def command(what):
    """List datasets, training runs, checkpoints, detection caches (with the run, checkpoint, split,
    score threshold and options each was computed with), motion models, tracking runs and trackers;
    then the same inside each runs/demo/<invocation>/ (the runs folder of one `detbench demo`)."""
    from detbench.runs import listing

    demo = None
    for item in listing(what):
        if item.demo != demo:
            demo = item.demo
            click.echo(f"\ndemo {demo.name} ({demo}):")
        lines = _lines(item)
        click.echo("\n".join(("  " + ln if demo else ln) for ln in lines))


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
            lines.append(f"  {e.name}{_cache_text(e)}")
        elif item.kind == "tracks":
            where = f"compare {e.comparison}: " if e.comparison else ""
            lines.append(f"  {where}{e.detector}/{e.tracker}")
        else:
            lines.append(f"  {e}")
    return lines


def _cache_text(e) -> str:
    """`` run r1 epoch2 (runs/train/r1/epoch_2.pth) split=val conf=0.01 nms=0.65 ... 12 images``."""
    if e.unreadable:
        return " (unreadable meta.json)"
    if e.meta is None:
        return " (no meta.json)"
    m, opts = e.meta, e.meta.get("options", {})
    epoch = m.get("epoch")
    detector = f"epoch{epoch}" if isinstance(epoch, int) and e.run else m.get("detector", "?")
    source = f"run {e.run} {detector}" if e.run else f"{detector}"
    if e.checkpoint:
        source += f" ({e.checkpoint})"
    shown = {"split": opts.get("split", m.get("split", "?")), "conf": opts.get("conf"), "nms": opts.get("nms"),
             "max_det": opts.get("max_det"), "frames": opts.get("frames"),
             "cameras": ",".join(opts["cameras"]) if opts.get("cameras") else ("all" if "cameras" in opts else None),
             "input": "x".join(str(v) for v in opts["input_size"]) if opts.get("input_size") else None,
             "precision": opts.get("precision")}
    text = " ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in shown.items() if v is not None)
    images = f", {m['num_images']} images" if isinstance(m.get("num_images"), int) else ""
    return f"  {source}  {text}{images}"
