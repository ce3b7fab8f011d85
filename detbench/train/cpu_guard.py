"""Whether a training job belongs on a GPU, decided before anything starts (no torch import).

``detbench train --data D`` with no recipe trains the study's Stable V3: YOLOX-L at 800x1440,
batch 32, 30 epochs, ~438 GFLOPs per image forward; the demo recipe's YOLOX-nano at 256x448 is
~0.7. Measured on one CPU thread (benchmarks/README.md, "Training on a CPU"): 17 s per image for a
Stable V3 step against 0.13 s for the demo's, so Stable V3 takes days on a CPU even on
nuScenes-mini. The command refuses such a recipe on the CPU with one line saying what to run
instead, unless the user says ``--allow-cpu``.
"""
from __future__ import annotations

# forward GFLOPs per image at the size YOLOX's model zoo quotes them (README of Megvii's YOLOX)
ZOO_GFLOPS = {"yolox-nano": (1.08, 416 * 416), "yolox-tiny": (6.45, 416 * 416), "yolox-s": (26.8, 640 * 640),
              "yolox-m": (73.8, 640 * 640), "yolox-l": (155.6, 640 * 640), "yolox-x": (281.9, 640 * 640)}
# above this a training job is a GPU job: YOLOX-s at 640x640 (26.8) is one, YOLOX-tiny at 640x640
# (15.3) and YOLOX-nano at 800x1440 (7.2) are not
CPU_MAX_GFLOPS = 20.0
# the committed pretrained base of the demo (detbench.base_weights.WEIGHTS; spelled here so the
# refusal stays free of torch)
DEMO_BASE = "weights/demo_base/yolox_nano_synth.pth"


def gflops_per_image(model: str, input_size: tuple[int, int]) -> float | None:
    """Forward GFLOPs of ``model`` on one ``(h, w)`` image (the zoo's figure scaled by the pixel
    count); None for an unknown model name (the trainer reports that one)."""
    key = str(model).strip().lower().replace("_", "-")
    key = key if key.startswith("yolox-") else "yolox-" + key
    if key not in ZOO_GFLOPS:
        return None
    gflops, pixels = ZOO_GFLOPS[key]
    return gflops * input_size[0] * input_size[1] / pixels


def cpu_refusal(recipe, data_dir: str) -> str | None:
    """The one-line refusal for training ``recipe`` (a resolved :class:`~detbench.train.recipes.Recipe`)
    on the CPU, or None when it is a CPU-sized job."""
    gflops = gflops_per_image(recipe.model, recipe.input_size)
    if gflops is None or gflops <= CPU_MAX_GFLOPS:
        return None
    h, w = recipe.input_size
    return (f"recipe {recipe.name} trains {recipe.model} at {h}x{w} (~{gflops:.0f} GFLOPs per image, batch "
            f"{recipe.batch_size}, {recipe.epochs} epochs): a GPU job, days on a CPU. Without a GPU run "
            f"`detbench train --data {data_dir} --recipe demo --init {DEMO_BASE}` (YOLOX-nano at 256x448 "
            f"from the demo's pretrained base); with one add --device cuda; --allow-cpu trains it on the CPU anyway")
