"""``detbench eval-det``: detector AP (pycocotools) of cached detections, several side by side."""
from __future__ import annotations

import click

EPILOG = """\b
Examples:
  detbench eval-det --detector epoch2,epoch6 --data runs/data/demo --split val
  detbench eval-det --cache runs/detections/3f9c0a1be2d4c5a6 --data runs/data/demo --json ap.json
Writes <out>/eval.json (top-level AP, AP50, AP75, per_class when one detector; "detectors" always),
<out>/eval.md and <out>/results/<detector>.json (the COCO results that were scored).
"""


@click.command("eval-det", epilog=EPILOG)
@click.option("--detector", "detectors", multiple=True,
              help="Checkpoint name(s) or .pth path(s); repeat or comma-separate. Missing caches are computed.")
@click.option("--cache", "caches", multiple=True, type=click.Path(file_okay=False, exists=True),
              help="Score an existing detection cache directory instead (repeatable).")
@click.option("--run", default=None, help="Training run under runs/train (default: the most recent).")
@click.option("--data", required=True, help="Prepared dataset: a folder or a name under runs/data.")
@click.option("--split", default="val", show_default=True)
@click.option("--cameras", multiple=True, help="Only these cameras (repeat or comma-separate).")
@click.option("--conf", default=0.01, show_default=True, type=float, help="Cache score threshold (see detect).")
@click.option("--nms", default=0.65, show_default=True, type=float)
@click.option("--batch-size", default=8, show_default=True, type=click.IntRange(1))
@click.option("--device", default="auto", show_default=True)
@click.option("--score-thr", default=0.3, show_default=True, type=float,
              help="Score threshold for the per-class precision / recall columns.")
@click.option("--out", type=click.Path(file_okay=False), default=None,
              help="Output folder (default runs/eval_det/<detectors>_<split>).")
@click.option("--json", "json_path", type=click.Path(dir_okay=False), default=None,
              help="Also write the JSON here.")
def command(detectors, caches, run, data, split, cameras, conf, nms, batch_size, device, score_thr, out,
            json_path):
    """Score cached detections against the split's COCO ground truth with pycocotools.

    Prints AP, AP50, AP75, AP small/medium/large for each detector side by side, per-class AP and
    per-class precision / recall at --score-thr (IoU 0.5). Boxes prepare filtered out are COCO
    crowd regions: never a miss, and a detection on one (matching no regular box) is neither a
    TP nor an FP.
    """
    from pathlib import Path

    from detbench import paths
    from detbench.detect.api import detect
    from detbench.detect.cache import read_meta
    from detbench.detect.coco_eval import STAT_NAMES, evaluate_cache, markdown_table
    from detbench.data.layout import find_dataset
    from detbench.detect.options import resolve_device, split_list
    from detbench.errors import InputError
    from detbench.fileio import atomic_write_json, atomic_write_text
    from detbench.provenance import make_meta

    names = split_list(detectors)
    if not names and not caches:
        raise InputError("eval-det: give --detector NAME[,NAME...] or --cache DIR")
    data_dir = find_dataset(data)
    from detbench.detect.api import resolve_checkpoint

    for name in names:  # every name checked before any work (and before torch is imported)
        resolve_checkpoint(name, run)
    todo = []  # (label, cache_dir)
    from detbench.commands.progress import detect_bar

    for name in names:
        with detect_bar() as progress:
            res = detect(name, data_dir, split, run=run, conf=conf, nms=nms, device=resolve_device(device),
                         batch_size=batch_size, cameras=split_list(cameras) or None, progress=progress)
        todo.append((name, res.cache_dir))
    for c in caches:
        meta = read_meta(c)
        if meta.get("split") != split:
            raise InputError(f"{Path(c) / 'meta.json'}: cache is of split {meta.get('split')!r}, not {split!r}")
        todo.append((str(meta.get("detector") or Path(c).name), Path(c)))
    labels = [t[0] for t in todo]
    if len(set(labels)) != len(labels):
        labels = [f"{lab}@{Path(c).name[:6]}" for lab, c in todo]
    out_dir = Path(out) if out else paths.runs_root() / "eval_det" / f"{'_'.join(labels)[:80]}_{split}".replace("/", "-")
    results, per = {}, {}
    for label, (_, cache_dir) in zip(labels, todo):
        metrics, coco = evaluate_cache(cache_dir, data_dir, split, score_thr)
        metrics["cache"] = str(cache_dir)
        results[label], per[label] = metrics, coco
    doc = make_meta("eval-det", options={"split": split, "score_thr": score_thr},
                    inputs={"data_dir": str(data_dir), "caches": {k: v["cache"] for k, v in results.items()}},
                    detectors=results)
    if len(results) == 1:
        doc.update({k: v for k, v in next(iter(results.values())).items()})
    md = f"# Detector AP: split {split}\n\n" + markdown_table(results)
    for label, coco in per.items():
        atomic_write_json(out_dir / "results" / f"{label}.json", coco, indent=None)
    atomic_write_json(out_dir / "eval.json", doc)
    atomic_write_text(out_dir / "eval.md", md)
    if json_path:
        atomic_write_json(json_path, doc)
    _print_table(results, STAT_NAMES)
    click.echo(f"wrote {out_dir / 'eval.json'}, {out_dir / 'eval.md'}")


def _print_table(results: dict, stat_names) -> None:
    from rich.console import Console
    from rich.table import Table

    from detbench.classes import CLASSES

    fmt = (lambda v: "-" if v is None else f"{v:.3f}")
    t = Table(title="Detector AP (pycocotools)")
    t.add_column("metric")
    for name in results:
        t.add_column(name, justify="right")
    for s in stat_names:
        t.add_row(s, *(fmt(r[s]) for r in results.values()))
    for cls in CLASSES:
        t.add_row(f"AP {cls}", *(fmt(r["per_class"].get(cls, {}).get("AP")) for r in results.values()))
    Console().print(t)
