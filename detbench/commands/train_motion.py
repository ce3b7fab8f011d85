"""``detbench train-motion``: train the TrackSSM motion model on ground-truth tracks.

The defaults train the paper-size model (d_model 256, 6 encoder layers, 6 decoder blocks,
5.1 M parameters) with the recipe of :mod:`trackers.trackssm.train` and the deviations of
:class:`trackers.trackssm.model.TrackSSM`; ``--sigmoid-head --absolute --last-box-anchor`` gives the paper's
network exactly.
"""
from __future__ import annotations

import click

from detbench.cliopts import FiniteFloat, Seed


def _defaults():
    """The library's defaults, so the CLI and :class:`TrainConfig` never disagree."""
    from trackers.trackssm.train import TrainConfig

    return TrainConfig()


def _recipe(key: str) -> str:
    """``"A, B with --ground"``: the image and ground-plane defaults of a size or schedule option."""
    from detbench.motion.settings import RECIPES

    image, ground = (RECIPES[k].get(key, getattr(_defaults(), key, None)) for k in ("image", "ground"))
    return f"{image:g}, {ground:g} with --ground"


# What the default steps cost (benchmarks/README.md and docs/trackers.md, "TrackSSM", say the same):
# the paper-size model, one torch thread, on the 41,278 windows of synth24x6 (3 seeds, load ~9) and
# on the 950 windows of docs/data.md's 5-scene mini dataset (load ~10). The step count,
# not the data size, sets the time. The ground-plane recipe: 111-123 CPU-s on synth24x6 (load ~10).
DEFAULT_COST = "107-214 CPU-s"


@click.command("train-motion", epilog="""\b
Example:
  detbench train-motion --data runs/data/synth --name synth
  detbench train-motion --data runs/data/synth --eval-data tests/fixtures/nuscenes-mini-real
  detbench track ... --tracker trackssm --tracker-opt weights=runs/motion/synth
""")
@click.option("--data", "data", required=True,
              help="Prepared dataset (runs/data/NAME or NAME): trains on sequences/train, reports on sequences/val.")
@click.option("--steps", type=click.IntRange(1), default=None,
              help=f"Optimizer steps (default {_recipe('steps')}); the same for every data size, so a "
                   f"default run costs {DEFAULT_COST} on any dataset, either recipe (wall time: that "
                   f"on a free core, several times more on a busy machine); the time scales with the steps.")
@click.option("--epochs", type=click.IntRange(1), default=None,
              help="Instead of --steps: this many passes over the training windows.")
@click.option("--batch-size", type=click.IntRange(1), default=_defaults().batch_size, show_default=True)
@click.option("--lr", type=FiniteFloat(min=0, min_open=True), default=None,
              help=f"Peak AdamW learning rate (default {_recipe('lr')}; linear warm-up, then cosine decay; "
                   "the paper: constant Adam 1e-4).")
@click.option("--warmup-steps", type=click.IntRange(0), default=_defaults().warmup_steps, show_default=True)
@click.option("--weight-decay", type=FiniteFloat(min=0), default=_defaults().weight_decay, show_default=True)
@click.option("--grad-clip", type=FiniteFloat(min=0), default=_defaults().grad_clip, show_default=True,
              help="Max gradient norm (0: off).")
@click.option("--flip", type=FiniteFloat(0, 1), default=_defaults().flip, show_default=True,
              help="Probability of mirroring a training window left-right.")
@click.option("--l1-weight", type=FiniteFloat(min=0), default=_defaults().l1_weight, show_default=True)
@click.option("--giou-weight", type=FiniteFloat(min=0), default=_defaults().giou_weight, show_default=True)
@click.option("--frame-rate", type=FiniteFloat(min=0, min_open=True), default=2.0, show_default=True,
              help="Hz the tracker runs at; faster sequences are subsampled to it.")
@click.option("--device", default="cpu", show_default=True, help="cpu, cuda, cuda:1 ... (CUDA: bf16 autocast).")
@click.option("--seed", type=Seed, default=0, show_default=True)
@click.option("--d-model", type=click.IntRange(4), default=None,
              help=f"Model width (multiple of 4; default {_recipe('d_model')}); 256 is the paper's (5.1 M parameters).")
@click.option("--layers", type=click.IntRange(1), default=None,
              help=f"Encoder Mamba layers = decoder Flow-SSM blocks (default {_recipe('layers')}); 6 is the paper's.")
@click.option("--residual-head/--sigmoid-head", default=True, show_default=True,
              help="Blocks move the box by a zero-initialised delta (untrained = the box they start from) / the paper's sigmoid box.")
@click.option("--relative/--absolute", default=True, show_default=True,
              help="Deltas in units of the box size, in and out (R-CNN style) / raw normalised deltas (the paper).")
@click.option("--cv-anchor/--last-box-anchor", default=True, show_default=True,
              help="The decoder refines the constant-velocity box (untrained = constant velocity) / the last box (the paper).")
@click.option("--ground/--image", default=False, show_default=True,
              help="Ground-plane model: the history ego-compensated into the predicted frame's camera, the "
                   "decoder refining calibrated constant velocity (the last step's ground velocity, "
                   "re-projected with the next frame's pose; untrained = calibrated CV); needs every frame's "
                   "intrinsics and cam2global in frames.json; a window whose boxes have no ground contact "
                   "gets image-plane inputs. / Image-plane history (the paper's).")
@click.option("--flow-input/--no-flow-input", default=False, show_default=True,
              help="Add the encoder's flow feature to each decoder block's input / only to dt, B, C (the paper).")
@click.option("--jitter", type=FiniteFloat(min=0), default=0.0, show_default=True,
              help="Train on histories as a detector sees them: every training box jittered once, seeded (centre "
                   "by N(0, JITTER x box size), width and height by exp(N(0, JITTER)), the noise of the synthetic "
                   "detections); the targets stay exact, the ground-plane inputs follow the jittered boxes. "
                   "0: exact ground-truth histories.")
@click.option("--jitter-copies", type=click.IntRange(1), default=1, show_default=True,
              help="With --jitter: jitter the training set this many times (each copy its own seeded draws, the "
                   "same exact targets), so the model sees several noisy versions of every history.")
@click.option("--jitter-per-epoch", type=click.IntRange(1), default=1, show_default=True, metavar="K",
              help="With --jitter: draw the jitter afresh each epoch. K jittered copies of the training set are "
                   "built (as --jitter-copies builds them) and pass e over the windows trains on copy e mod K only: "
                   "one copy's windows and steps per pass. K >= the passes the run makes (steps x batch / "
                   "windows, rounded up) gives every pass its own draws. 1: one draw for all passes. Not with "
                   "--jitter-copies above 1.")
@click.option("--max-windows", type=click.IntRange(1), default=None,
              help="Train on a seeded random subset of this many windows (quick CPU runs).")
@click.option("--name", default=None, help="Output runs/motion/NAME (default: the dataset's name).")
@click.option("--threads", type=click.IntRange(1), default=None,
              help="Torch threads for the whole run (default 1: TrackSSM's small ops run ~4x slower on 2 "
                   "threads beside any other busy process, ~1.4x faster on idle cores; OMP_NUM_THREADS also "
                   "sets it). The weights follow the count; meta.json records it.")
@click.option("--eval-data", "eval_data", multiple=True, type=click.Path(exists=True, file_okay=False),
              help="Extra held-out MOT folder(s) of sequences to report next-box IoU on (repeatable); never trained on.")
def command(data, steps, epochs, batch_size, lr, warmup_steps, weight_decay, grad_clip, flip, l1_weight,
            giou_weight, frame_rate, device, seed, d_model, layers, residual_head, relative, cv_anchor, ground,
            flow_input, jitter, jitter_copies, jitter_per_epoch, max_windows, name, eval_data, threads):
    """Train TrackSSM on the train split's GT tracks (windows at FRAME_RATE, target never in its
    history); report next-box IoU of TrackSSM, constant velocity in the image, calibrated constant
    velocity (on the ground plane, where frames.json has the cameras) and the last box on the val
    split and every --eval-data folder; write runs/motion/NAME/{model.pth, config.json, meta.json,
    loss.png} atomically."""
    from detbench.commands.progress import motion_bar
    from detbench.motion.settings import MotionCallbacks, MotionModel, MotionRecipe
    from detbench.motion.train import train_motion

    def say_plan(p) -> None:
        click.echo(p.threads)
        click.echo(f"train: {p.train_windows} windows from {p.train_sequences} sequences; "
                   f"val: {p.val_windows} windows; model {p.parameters:,} "
                   f"parameters; {p.steps} steps of {p.batch}"
                   + (f"; jitter drawn afresh each pass from {p.epoch_copies} copies" if p.epoch_copies > 1 else ""))

    recipe = MotionRecipe(steps=steps, epochs=epochs, batch_size=batch_size, lr=lr, warmup_steps=warmup_steps,
                          weight_decay=weight_decay, grad_clip=grad_clip, flip=flip, l1_weight=l1_weight,
                          giou_weight=giou_weight, frame_rate=frame_rate, max_windows=max_windows, jitter=jitter,
                          jitter_copies=jitter_copies, jitter_per_epoch=jitter_per_epoch,
                          seed=seed)
    model = MotionModel(d_model=d_model, layers=layers, residual_head=residual_head, relative=relative,
                        cv_anchor=cv_anchor, flow_input=flow_input, ground=ground)
    with motion_bar() as progress:
        r = train_motion(data, recipe, model, name=name, eval_data=eval_data, device=device, threads=threads,
                         callbacks=MotionCallbacks(on_plan=say_plan, progress=progress, on_metrics=_print_table))
    click.echo(f"trained in {r.train_seconds:.0f} s wall, {r.train_cpu_seconds:.0f} s CPU; "
               f"wrote {r.out_dir}/model.pth and loss.png")


def _print_table(metrics: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="next-box IoU on held-out tracks")
    for col in ("split", "windows", "TrackSSM", "image CV", "calibrated CV", "last box"):
        table.add_column(col, justify="left" if col == "split" else "right", overflow="fold")
    for key, m in metrics.items():
        if isinstance(m, dict):
            cal = m.get("calibrated_cv_iou")
            table.add_row(key, str(m["windows"]), f"{m['trackssm_iou']:.4f}", f"{m['const_velocity_iou']:.4f}",
                          "-" if cal is None else f"{cal:.4f}", f"{m['last_box_iou']:.4f}")
    Console().print(table)
    grounded = {k: m for k, m in metrics.items() if isinstance(m, dict) and m.get("on_ground") is not None}
    if grounded:
        click.echo("calibrated CV falls back to image CV where a box has no ground contact: "
                   + ", ".join(f"{k} {m['windows'] - m['on_ground']} of {m['windows']} windows"
                               for k, m in grounded.items()))
