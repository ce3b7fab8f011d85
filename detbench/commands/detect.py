"""``detbench detect``: run a checkpoint over a split and cache per-frame detections."""
from __future__ import annotations

import click

from detbench.cliopts import FiniteFloat, executor_options
from detbench.core import paths
from detbench.core.errors import InputError
from detbench.core.fileio import ensure_writable

EPILOG = """\b
Example:
  detbench detect --detector epoch6 --data runs/data/demo --split val
  -> wrote runs/detections/3f9c0a1be2d4c5a6: 12 sequences, 480 images, 61.2 img/s
  (the same command again: "cache hit: runs/detections/3f9c0a1be2d4c5a6")
"""


@click.command("detect", epilog=EPILOG)
@click.option("--detector", "detectors", required=True, multiple=True,
              help="Checkpoint name (epoch<N>, last) of --run, or a .pth path; several: repeat or comma-separate "
                   "(with --executor ray their detection runs in parallel, one GPU a task).")
@click.option("--run", default=None, help="Training run under runs/train (default: the most recent).")
@click.option("--data", required=True, help="Prepared dataset: a folder or a name under runs/data.")
@click.option("--split", default="val", show_default=True, help="Split to run on (train, val, tune).")
@click.option("--cameras", multiple=True, help="Only these cameras (repeat or comma-separate), e.g. CAM_FRONT.")
@click.option("--conf", default=0.01, show_default=True, type=FiniteFloat(0, 1),
              help="Score threshold kept in the cache (low: trackers apply their own).")
@click.option("--nms", default=0.65, show_default=True, type=FiniteFloat(0, 1), help="Class-aware NMS IoU threshold.")
@click.option("--batch-size", default=8, show_default=True, type=click.IntRange(1))
@click.option("--device", default="auto", show_default=True, help="cpu, cuda, cuda:1 ... (auto: cuda if present).")
@click.option("--frames", type=click.Choice(["keyframes", "all"]), default="keyframes", show_default=True,
              help="all: also the 12 Hz sweeps when the dataset has them (keyframes are marked).")
@click.option("--export-mot", type=click.Path(file_okay=False), default=None,
              help="Also write MOTChallenge det files <seq>.txt (frame,-1,x,y,w,h,score,class) here.")
@click.option("--export-coco", type=click.Path(dir_okay=False), default=None,
              help="Also write the keyframe detections as a COCO results json here.")
@click.option("--compile", "compile_", is_flag=True,
              help="Run the network through torch.compile (slow to start; worth it on a GPU for a big split).")
@executor_options
def command(detectors, run, data, split, cameras, conf, nms, batch_size, device, frames, export_mot, export_coco,
            compile_, executor, ray_address):
    """Run a YOLOX checkpoint over every frame of a split and cache the detections.

    Images are decoded and letterboxed to the checkpoint's input size in DataLoader worker processes
    (pinned memory on CUDA), run in batches (bf16, channels_last, cudnn.benchmark on CUDA), boxes are
    mapped back to original pixels and pass class-aware NMS. The cache lives in
    runs/detections/<key>/ where key hashes the checkpoint file, the dataset's meta.json and the
    options; an intact cache is reused, a corrupt one recomputed.

    With --executor ray, each checkpoint is a Ray task with one GPU (--device cuda) or one CPU
    (--device cpu), and a single checkpoint is cut into shards of whole batches, one per GPU (or
    CPU) of the cluster; the cache holds the same detections as one process's.
    """

    from detbench.cliopts import check_executor_options
    from detbench.data.layout import PreparedDataset, find_dataset
    from detbench.detect.options import resolve_device, split_list
    from detbench.runs import detector_ref

    check_executor_options(executor, ray_address)
    data_dir = find_dataset(data)
    names = [d.strip() for item in detectors for d in item.split(",") if d.strip()]
    refs = [detector_ref(detector, run) for detector in names]  # a wrong name fails before torch is imported
    if len(names) > 1 and (export_mot or export_coco):
        raise InputError("--export-mot / --export-coco take one --detector (got several)")

    ensure_writable(paths.detections_root(), "detection cache")
    reads = {"--data": data_dir, "images": PreparedDataset(data_dir).meta.get("dataroot"),
             "detection caches": paths.detections_root()}
    if export_mot:
        ensure_writable(export_mot, "--export-mot files", inputs=reads)
    if export_coco:
        ensure_writable(export_coco, "--export-coco file", inputs=reads)
    for ref in refs:
        click.echo(f"detector {ref.describe()}")
    from detbench.commands.progress import bar_per_key, detect_bar, task_bar
    from detbench.detect.shards import cluster_device, ensure_many
    from detbench.executor_choice import make_executor

    with bar_per_key(detect_bar) as progress, task_bar() as on_tasks, \
            make_executor(executor, None, ray_address, on_tasks) as ex:
        device = cluster_device(device, ex) if ex.name == "ray" else resolve_device(device)  # the cluster's GPUs
        found = ensure_many(names, data_dir, split, run=run, conf=conf, nms=nms, device=device,
                            batch_size=batch_size, frames=frames, cameras=split_list(cameras) or None,
                            executor=ex, progress=progress, compile=compile_)
    for res in found:
        _say(res)
    res = found[0]
    if export_mot:
        from detbench.detect.export import export_mot_dets

        written = export_mot_dets(res.cache_dir, export_mot, frames)
        click.echo(f"MOT det files: {len(written)} in {export_mot}")
    if export_coco:
        from detbench.core.fileio import atomic_write_json
        from detbench.detect.export import coco_results, load_coco_gt

        gt_path = PreparedDataset(data_dir).coco_file(split)
        results, _ = coco_results(res.cache_dir, load_coco_gt(gt_path), gt_path)
        atomic_write_json(export_coco, results, indent=None)
        click.echo(f"COCO results: {len(results)} boxes -> {export_coco}")


def _say(res) -> None:
    """One line about a detector's cache: reused, or written (with the speed)."""
    from detbench.detect.cache import read_meta

    meta = read_meta(res.cache_dir)
    n_seq = len(meta["sequences"])
    if res.cache_hit:
        click.echo(f"cache hit: {res.cache_dir} ({n_seq} sequences, {meta['num_images']} images)")
    else:
        if res.problems:
            click.echo(f"recomputed a broken cache entry: {res.problems[0]}")
        rate = res.num_images / res.seconds if res.seconds > 0 else float("nan")
        click.echo(f"wrote {res.cache_dir}: {n_seq} sequences, {res.num_images} images, {rate:.1f} img/s")
