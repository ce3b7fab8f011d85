"""``detbench export``: a standalone checkpoint that stock YOLOX tools load."""
from __future__ import annotations

import click


@click.command("export", context_settings={"max_content_width": 100})
@click.argument("detector")
@click.option("--run", default=None, help="Training run for epoch<N> names (default: the latest run).")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False),
              help="Output .pth: {'model': full state dict, 'start_epoch', 'detbench': metadata}.")
def command(detector, run, output):
    """Write DETECTOR (epoch<N>, last, or a .pth) as one self-contained YOLOX checkpoint.

    Head-only checkpoints hold just the head plus a reference to the run's frozen base; the export
    merges both. Load it with stock YOLOX (`-c out.pth`, depth/width/num_classes as printed).

    \b
    Example:
      detbench export epoch30 --run stable_v3 -o yolox_l_nuscenes_epoch30.pth
    """
    from detbench.train.checkpoint import export, read_checkpoint, resolve_detector
    from detbench.train.models import SIZES

    path = resolve_detector(detector, run)
    out = export(path, output)
    meta, _ = read_checkpoint(out)
    size = SIZES[meta["model_size"]]
    click.echo(f"{path} -> {out}: {meta['model_size']} (depth {size.depth}, width {size.width}"
               f"{', depthwise' if size.depthwise else ''}), num_classes {meta['num_classes']}, "
               f"input {meta['input_size'][0]}x{meta['input_size'][1]}, epoch {meta['epoch']}")
