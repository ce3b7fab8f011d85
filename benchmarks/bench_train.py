"""Training-step benchmarks on synthetic tensors (no image decoding), real YOLOX model and SimOTA loss.

  python benchmarks/bench_train.py                       # CPU: head-only vs full step, same model + batch
  python benchmarks/bench_train.py --mode throughput --model l --size 800,1440 --batch 32 --iters 30 --device cuda
      (what benchmarks/gpu_check.sh runs: head-only YOLOX-L, prints images/s and peak memory)
  python benchmarks/bench_train.py --mode loss --models nano,tiny --boxes 12,30
      head-only step with the batched SimOTA loss vs YOLOX's per-image loss: same model weights,
      same batch, steps of the two interleaved (load changes hit both), medians
"""
from __future__ import annotations

import argparse
import statistics
import time

import torch


def make_batch(batch, h, w, n_boxes=12, seed=0):
    g = torch.Generator().manual_seed(seed)
    imgs = torch.rand(batch, 3, h, w, generator=g) * 255
    targets = torch.zeros(batch, 120, 5)
    wh = torch.rand(batch, n_boxes, 2, generator=g) * torch.tensor([w / 4, h / 4]) + 8
    cxy = torch.rand(batch, n_boxes, 2, generator=g) * torch.tensor([w, h]) * 0.8 + torch.tensor([w, h]) * 0.1
    targets[:, :n_boxes, 0] = torch.randint(0, 7, (batch, n_boxes), generator=g).float()
    targets[:, :n_boxes, 1:3], targets[:, :n_boxes, 3:5] = cxy, wh
    return imgs, targets


def step_fn(model, opt, imgs, targets, device):
    def run():
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
            loss = model(imgs, targets)["total_loss"]
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if device.type == "cuda":
            torch.cuda.synchronize()
    return run


def build(size, frozen, device, loss="batched"):
    from detbench.train.models import build_model
    from detbench.train.recipes import get_recipe
    from detbench.train.setup import make_optimizer

    torch.manual_seed(0)
    model = build_model(size, 7)
    model.use_loss(loss)
    if frozen:
        model.freeze_trunk()
    model.to(device).train()
    if device.type == "cuda":
        model.to(memory_format=torch.channels_last)
    opt = make_optimizer(model, get_recipe("stable_v3")[0])
    for g in opt.param_groups:
        g["lr"] = 1e-5
    return model, opt


def timed(fn, warmup, repeats):
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mode", choices=["compare", "throughput", "loss"], default="compare")
    ap.add_argument("--models", default="nano,tiny", help="--mode loss: model sizes")
    ap.add_argument("--boxes", default="12,30", help="--mode loss: boxes per image")
    ap.add_argument("--loss", default="batched", help="--mode throughput: batched | yolox")
    ap.add_argument("--model", default="nano")
    ap.add_argument("--size", default="256,448")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--iters", type=int, default=7)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    device = torch.device(a.device)
    h, w = (int(v) for v in a.size.split(","))
    n_boxes = int(a.boxes.split(",")[0])
    imgs, targets = make_batch(a.batch, h, w, n_boxes=n_boxes)
    imgs, targets = imgs.to(device), targets[:, :n_boxes].to(device)  # as train's collate trims
    if device.type == "cuda":
        imgs = imgs.contiguous(memory_format=torch.channels_last)
        torch.backends.cudnn.benchmark = True
    if a.mode == "loss":
        return compare_losses(a, device, h, w)
    if a.mode == "throughput":
        model, opt = build(a.model, True, device, a.loss)
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats()
        times = timed(step_fn(model, opt, imgs, targets, device), a.warmup, a.iters)
        med = statistics.median(times)
        peak = torch.cuda.max_memory_allocated() / 2**30 if device.type == "cuda" else float("nan")
        print(f"{a.model} {h}x{w} batch {a.batch}, {n_boxes} boxes/image, head-only ({a.loss} loss) on {device}: median step {med:.3f} s, "
              f"{a.batch / med:.1f} images/s, peak memory {peak:.1f} GiB ({a.iters} timed steps)")
        return
    res = {}
    for frozen in (True, False):
        model, opt = build(a.model, frozen, device)
        res[frozen] = statistics.median(timed(step_fn(model, opt, imgs, targets, device), a.warmup, a.iters))
    print(f"{a.model} {h}x{w} batch {a.batch}, {a.threads} thread(s), median of {a.iters}: "
          f"head-only step {res[True]:.3f} s, full step {res[False]:.3f} s, ratio full/head-only "
          f"{res[False] / res[True]:.2f}")


def compare_losses(a, device, h, w):
    import os

    print(f"{h}x{w}, batch {a.batch}, {a.threads} thread(s), {device}, load average "
          f"{os.getloadavg()[0]:.1f}, median of {a.iters} interleaved steps after {a.warmup} warm-up")
    print("| model | boxes/image | YOLOX loss step | batched loss step | YOLOX / batched | "
          "YOLOX head + loss | batched head + loss | YOLOX / batched |")
    print("|---|---|---|---|---|---|---|---|")
    for size in a.models.split(","):
        for n in (int(v) for v in a.boxes.split(",")):
            imgs, targets = make_batch(a.batch, h, w, n_boxes=n)
            imgs, targets = imgs.to(device), targets[:, :n].to(device)  # as train's collate trims
            runs, heads = {}, {}
            for kind in ("yolox", "batched"):
                model, opt = build(size, True, device, kind)
                runs[kind] = step_fn(model, opt, imgs, targets, device)
                with torch.no_grad():
                    feats = model.backbone(imgs)  # the head's own share: forward + loss, no backward
                heads[kind] = (lambda m=model, f=feats, t=targets, i=imgs: m.head(f, t, i))
            times = {k: [] for k in ("yolox", "batched", "yolox_head", "batched_head")}
            for i in range(a.warmup + a.iters):
                for kind in ("yolox", "batched"):
                    for key, fn in ((kind, runs[kind]), (f"{kind}_head", heads[kind])):
                        t = time.perf_counter()
                        fn()
                        if device.type == "cuda":
                            torch.cuda.synchronize()
                        if i >= a.warmup:
                            times[key].append(time.perf_counter() - t)
            med = {k: statistics.median(v) for k, v in times.items()}
            print(f"| {size} | {n} | {med['yolox']:.3f} s | {med['batched']:.3f} s | "
                  f"{med['yolox'] / med['batched']:.2f} | {med['yolox_head'] * 1e3:.0f} ms | "
                  f"{med['batched_head'] * 1e3:.0f} ms | {med['yolox_head'] / med['batched_head']:.2f} |", flush=True)


if __name__ == "__main__":
    main()
