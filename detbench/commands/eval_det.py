"""``detbench eval-det``: detector AP (pycocotools) of cached detections, several side by side."""
from __future__ import annotations

import click

from detbench.cliopts import FiniteFloat
from detbench.core.classes import CLASSES

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
@click.option("--conf", default=0.01, show_default=True, type=FiniteFloat(0, 1), help="Cache score threshold (see detect).")
@click.option("--nms", default=0.65, show_default=True, type=FiniteFloat(0, 1))
@click.option("--batch-size", default=8, show_default=True, type=click.IntRange(1))
@click.option("--device", default="auto", show_default=True)
@click.option("--score-thr", default=0.3, show_default=True, type=FiniteFloat(0, 1),
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
    from detbench.commands.progress import bar_per_key, detect_bar
    from detbench.detect.coco_eval import STAT_NAMES
    from detbench.detect.eval_det import eval_det
    from detbench.detect.options import split_list

    with bar_per_key(detect_bar) as progress:
        res = eval_det(data, split, detectors=split_list(detectors), caches=caches, run=run, conf=conf, nms=nms,
                       batch_size=batch_size, device=device, cameras=split_list(cameras) or None,
                       score_thr=score_thr, out=out, json_path=json_path, progress=progress)
    for line in res.used:
        click.echo(line)
    _print_table(res.results, STAT_NAMES)
    eval_json, eval_md = res.files
    click.echo(f"wrote {eval_json}, {eval_md}")


def _print_table(results: dict, stat_names) -> None:
    from rich.console import Console
    from rich.table import Table


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
