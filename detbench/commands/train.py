"""``detbench train``: fine-tune YOLOX on a prepared dataset (head-only Stable V3 recipe by default)."""
from __future__ import annotations

import click

from detbench.core import paths
from detbench.core.devices import check_device
from detbench.core.errors import InputError
from detbench.core.fileio import ensure_writable


@click.command("train", context_settings={"max_content_width": 100})
@click.option("--data", "data_dir", required=True, type=click.Path(file_okay=False),
              help="Prepared dataset directory (runs/data/NAME, from `detbench prepare`).")
@click.option("--recipe", default="stable_v3", show_default=True,
              help="stable_v3 | clean_v2 | smooth (the study's, as run) | stable_v3_ema | demo_base | demo.")
@click.option("--model", default=None, help="Model size: yolox-nano|tiny|s|m|l|x (default: the recipe's).")
@click.option("--init", type=click.Path(dir_okay=False), default=None,
              help="Initial weights: official YOLOX .pth (e.g. yolox_l.pth) or a detbench checkpoint.")
@click.option("--name", default=None, help="Run name (runs/train/NAME); default RECIPE_TIMESTAMP.")
@click.option("--epochs", type=click.IntRange(1), default=None, help="Scale the recipe's phases to N epochs.")
@click.option("--batch-size", type=click.IntRange(1), default=None, help="Global batch; the LR scales linearly.")
@click.option("--device", default="cpu", show_default=True, help="cpu | cuda | cuda:N.")
@click.option("--resume", is_flag=True, help="Continue run --name from its latest.pth.")
@click.option("--split", default="train", show_default=True, help="COCO split to train on.")
@click.option("--on-bad-image", type=click.Choice(["skip", "stop"]), default="skip", show_default=True,
              help="An image that cannot be decoded: warn, count and use the next one, or stop.")
@click.option("--save-every", type=click.IntRange(0), default=0, help="Also write latest.pth every N steps.")
@click.option("--log-every", type=click.IntRange(min=1), default=None,
              help="Read the losses back from the device every N steps (default 20 on CUDA, 1 on CPU); "
                   "log.jsonl keeps one line per step.")
@click.option("--threads", type=click.IntRange(1), default=None,
              help="Torch threads for the whole run (default: one per core this process may use; "
                   "OMP_NUM_THREADS also sets it). The weights follow the count; run.json records it.")
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE",
              help="Override a recipe field (repeatable), e.g. --set mosaic_prob=0.5.")
@click.option("--allow-cpu", is_flag=True,
              help="Train a GPU-sized recipe (a model above yolox-tiny or an input above 640x640, e.g. the default "
                   "stable_v3) on the CPU anyway; without it that is refused (it takes days).")
def command(data_dir, recipe, model, init, name, epochs, batch_size, device, resume, split, on_bad_image,
            save_every, log_every, threads, sets, allow_cpu):
    """Fine-tune YOLOX; writes runs/train/RUN/ (recipe.json, log.jsonl, epoch_N.pth, latest.pth).

    \b
    Examples:
      detbench train --data runs/data/nuscenes --init weights/yolox_l.pth --device cuda
      detbench train --data runs/data/synth --recipe demo --init weights/demo_base/yolox_nano_synth.pth  (CPU)
      detbench train --data runs/data/synth --recipe demo_base --name base
      torchrun --nproc_per_node 4 -m detbench.cli train --data runs/data/nuscenes --device cuda
    """
    from detbench.cliopts import parse_key_values

    check_device(device)  # before the heavy imports below
    if not resume:  # every --set value checked now, not at the first training steps
        from detbench.train.recipes import get_recipe

        get_recipe(recipe, set_fields=parse_key_values(sets, "--set"))
    if name:
        ensure_writable(paths.train_dir(name), "training run",
                        inputs={"--data": data_dir, "--init": None if resume else init})
    else:  # a new RECIPE_TIMESTAMP folder
        ensure_writable(paths.train_root(), "training run")
    if device == "cpu" and not resume and not allow_cpu:
        _refuse_gpu_job_on_cpu(data_dir, recipe, model, epochs, batch_size, parse_key_values(sets, "--set"))
    from detbench.commands.progress import train_bar
    from detbench.train.trainer import train

    with train_bar() as progress:
        run_dir = train(data_dir, recipe=recipe, model=model, init=init, name=name, epochs=epochs,
                        batch_size=batch_size, device=device, resume=resume, split=split,
                        on_bad_image=on_bad_image, save_every=save_every, log_every=log_every, echo=click.echo,
                        progress=progress, threads=threads, **parse_key_values(sets, "--set"))
    click.echo(f"run: {run_dir}")


def _refuse_gpu_job_on_cpu(data_dir, recipe, model, epochs, batch_size, sets) -> None:
    """InputError (one line: what to run instead) when the resolved recipe is a GPU job."""
    from detbench.train.cpu_guard import cpu_refusal
    from detbench.train.recipes import get_recipe

    scaled = {k: v for k, v in (("epochs", epochs), ("batch_size", batch_size)) if v is not None}
    rec, _ = get_recipe(recipe, **(scaled if not set(scaled) & set(sets) else {}),
                        set_fields={**sets, **({"model": model} if model else {})})
    refusal = cpu_refusal(rec, data_dir)
    if refusal:
        raise InputError(refusal)
