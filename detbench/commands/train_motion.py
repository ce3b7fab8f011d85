"""``detbench train-motion``: train the TrackSSM motion model on ground-truth tracks."""
from __future__ import annotations

from pathlib import Path

import click


@click.command("train-motion", epilog="""\b
Example:
  detbench train-motion --data runs/data/synth --epochs 20 --name synth
  detbench track ... --tracker trackssm --tracker-opt weights=runs/motion/synth
""")
@click.option("--data", "data", required=True,
              help="Prepared dataset (runs/data/NAME or NAME): trains on sequences/train, reports on sequences/val.")
@click.option("--epochs", type=click.IntRange(1), default=20, show_default=True)
@click.option("--batch-size", type=click.IntRange(1), default=256, show_default=True)
@click.option("--lr", type=click.FloatRange(min=0, min_open=True), default=1e-4, show_default=True, help="Adam learning rate (constant; the paper: 1e-4).")
@click.option("--l1-weight", type=click.FloatRange(min=0), default=1.0, show_default=True)
@click.option("--giou-weight", type=click.FloatRange(min=0), default=1.0, show_default=True)
@click.option("--frame-rate", type=click.FloatRange(min=0, min_open=True), default=2.0, show_default=True,
              help="Hz the tracker runs at; faster sequences are subsampled to it.")
@click.option("--device", default="cpu", show_default=True, help="cpu, cuda, cuda:1 ...")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--d-model", type=click.IntRange(4), default=256, show_default=True,
              help="Model width (multiple of 4); 256 is the paper's (5.1 M parameters).")
@click.option("--layers", type=click.IntRange(1), default=6, show_default=True,
              help="Encoder Mamba layers = decoder Flow-SSM blocks; 6 is the paper's.")
@click.option("--residual-head", is_flag=True,
              help="Blocks add a zero-initialised delta to the box instead of the paper's sigmoid head.")
@click.option("--max-windows", type=click.IntRange(1), default=None,
              help="Train on a seeded random subset of this many windows (quick CPU runs).")
@click.option("--name", default=None, help="Output runs/motion/NAME (default: the dataset's name).")
@click.option("--eval-data", "eval_data", multiple=True, type=click.Path(exists=True, file_okay=False),
              help="Extra held-out MOT folder(s) of sequences to report next-box IoU on (repeatable).")
def command(data, epochs, batch_size, lr, l1_weight, giou_weight, frame_rate, device, seed, d_model, layers,
            residual_head, max_windows, name, eval_data):
    """Train TrackSSM on the train split's GT tracks (windows at FRAME_RATE, target never in its
    history), report next-box IoU of TrackSSM and constant velocity on the val split, and write
    runs/motion/NAME/{model.pth, config.json, meta.json} atomically."""
    import torch
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from detbench import paths
    from detbench.errors import InputError
    from detbench.provenance import make_meta
    from trackers.trackssm import checkpoint
    from trackers.trackssm.data import data_hash, dataset_windows, split_sequences
    from trackers.trackssm.model import ModelConfig, build_model
    from trackers.trackssm.train import TrainConfig, evaluate, train

    data_dir = Path(data)
    if not data_dir.is_dir():
        data_dir = paths.data_dir(data)
    if not (data_dir / "sequences").is_dir():
        raise InputError(f"{data_dir}: not a prepared dataset (no sequences/ folder); run detbench prepare first")
    from detbench.devices import check_device

    check_device(device)
    torch.set_num_threads(max(1, min(torch.get_num_threads(), 8)))
    train_seqs = [s for s in split_sequences(data_dir, "train") if s.parent.name == "train"]
    val_seqs = [s for s in split_sequences(data_dir, "val") if s.parent.name == "val"]
    if d_model % 4:
        raise InputError(f"--d-model {d_model}: must be a multiple of 4 (sine embedding per coordinate)")
    cfg = ModelConfig(d_model=d_model, n_enc_layers=layers, n_dec_blocks=layers, residual_head=residual_head)
    wins = dataset_windows(train_seqs, cfg.history, frame_rate, "training set",
                           source=str(data_dir / "sequences" / "train"))
    if max_windows is not None and max_windows < len(wins):
        import numpy as np

        keep = np.sort(np.random.default_rng(seed).choice(len(wins), max_windows, replace=False))
        wins = type(wins)(*(getattr(wins, f)[keep] for f in ("hist", "mask", "target", "hist_frames", "target_frame")))
    val = dataset_windows(val_seqs, cfg.history, frame_rate, "val set") if val_seqs else None
    tcfg = TrainConfig(epochs=epochs, batch_size=batch_size, lr=lr, l1_weight=l1_weight,
                       giou_weight=giou_weight, seed=seed, device=device)
    click.echo(f"train: {len(wins)} windows from {len(train_seqs)} sequences; "
               f"val: {len(val) if val is not None else 0} windows")
    model = build_model(cfg, seed=seed)
    steps_per_epoch = -(-len(wins) // batch_size)
    with Progress(TextColumn("[bold]train-motion"), BarColumn(), MofNCompleteColumn(),
                  TextColumn("epoch {task.fields[epoch]} loss {task.fields[loss]:.4f}"), TimeElapsedColumn()) as prog:
        task = prog.add_task("train", total=epochs * steps_per_epoch, epoch=1, loss=float("nan"))
        losses = train(model, wins, tcfg, on_step=lambda e, s, l: prog.update(task, advance=1, epoch=e, loss=l))
    metrics = {"train_loss": losses}
    if val is not None:
        metrics["val"] = evaluate(model, val, device=device)
    for extra in eval_data:
        seqs = split_sequences(Path(extra), "val")
        metrics[f"eval:{extra}"] = evaluate(model, dataset_windows(seqs, cfg.history, frame_rate, "eval set",
                                                                   source=extra), device=device)
    for key, m in metrics.items():
        if key != "train_loss":
            click.echo(f"{key}: next-box IoU TrackSSM {m['trackssm_iou']:.4f} vs constant velocity "
                       f"{m['const_velocity_iou']:.4f} ({m['windows']} windows)")
    out = paths.motion_root() / (name or data_dir.name)
    options = {"data": str(data_dir), **tcfg.to_dict(), "frame_rate": frame_rate, "eval_data": list(eval_data),
               "max_windows": max_windows}
    hashes = {"train": data_hash(train_seqs), "val": data_hash(val_seqs) if val_seqs else None}
    checkpoint.save(out, model.cpu(), {"frame_rate": frame_rate, "data": str(data_dir.resolve()),
                                       "data_hash": hashes, "train": tcfg.to_dict(), "metrics": metrics},
                    make_meta("train-motion", options=options, inputs=hashes))
    click.echo(f"wrote {out}/model.pth")
