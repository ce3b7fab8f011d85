"""Benchmark ``detbench eval``: N sequences of F frames x K objects, scored on all cores.

    python benchmarks/bench_eval.py                 # 1,000 x 40 frames x 30 objects, 2 jobs
    python benchmarks/bench_eval.py --sequences 50  # quicker

Synthetic, seeded data: objects move linearly (3 classes); results are the GT with pixel
jitter, 5 % dropped boxes, 2 % false positives and an id swap every 200 boxes. Prints

- before / after: CPU time of the straightforward path (``tests/reference_metrics.py``: per-frame
  IoU, TrackEval's own HOTA class, motmetrics' pandas ``compute``) and of ``evaluate_folders`` with
  and without the cross-check on the first ``--compare`` sequences, in this process at one job,
  median of ``--repeats``, and checks the JSONs are identical;
- the wall time (and CPU time, workers included) of ``evaluate_folders`` on all sequences at
  ``--jobs``, for each of ``--configs`` on the same inputs, the configurations interleaved in
  each of ``--repeats`` rounds, medians: per-class (the default) or class-agnostic scoring,
  ``:check`` with the motmetrics cross-check, ``:trackeval-hota`` with TrackEval's own HOTA
  class (the reference path); every configuration's JSON must equal that of the others with the
  same ``classes`` (checked, all sequences).
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from detbench.data.layout import gt_file, seqinfo_file  # noqa: E402
from detbench.data.mot import SeqInfo, write_mot, write_seqinfo  # noqa: E402


def make_sequence(rng: np.random.Generator, frames: int, objects: int) -> tuple[np.ndarray, np.ndarray]:
    start = rng.uniform([0, 0], [1400, 700], size=(objects, 2))
    vel = rng.normal(0, 8, size=(objects, 2))
    size = rng.uniform([40, 40], [200, 200], size=(objects, 2))
    cls = rng.integers(1, 4, size=objects)
    gt, res = [], []
    for f in range(1, frames + 1):
        xy = start + vel * f
        for k in range(objects):
            gt.append((f, k + 1, *xy[k], *size[k], 1, cls[k], 1))
            if rng.random() < 0.05:
                continue
            tid = k + 1 if rng.random() > 0.005 else 1000 + k  # occasional id switch
            jit = rng.normal(0, 3, size=2)
            res.append((f, tid, *(xy[k] + jit), *size[k], 0.9, cls[k], 1))
        for _ in range(rng.poisson(0.02 * objects)):
            res.append((f, 5000 + len(res), *rng.uniform([0, 0], [1400, 700]), 60, 60, 0.3, 1, 1))
    return np.array(gt, dtype=np.float64), np.array(res, dtype=np.float64)


def _cpu() -> float:
    """User + system CPU seconds of this process and its finished children (pool workers)."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def compare(gt_dir: Path, res_dir: Path, tmp: Path, args) -> None:
    """Before / after CPU time on the first ``args.compare`` sequences (same run, one job)."""
    from detbench.evaluate.api import evaluate_folders

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # the test yardstick
    from reference_metrics import evaluate_folders_reference

    names = sorted(p.name for p in gt_dir.iterdir())[:args.compare]
    sub_gt, sub_res = tmp / "cmp_gt", tmp / "cmp_res"
    sub_gt.mkdir(), sub_res.mkdir()
    for n in names:
        (sub_gt / n).symlink_to(gt_dir / n)
        (sub_res / f"{n}.txt").symlink_to(res_dir / f"{n}.txt")
    evaluate_folders(sub_gt, sub_res, classes="per-class", check=True)  # imports, warm-up
    runs = {"reference (TrackEval HOTA, check)": lambda: evaluate_folders_reference(sub_gt, sub_res),
            "evaluate_folders --check": lambda: evaluate_folders(sub_gt, sub_res, check=True),
            "evaluate_folders (default)": lambda: evaluate_folders(sub_gt, sub_res)}
    times: dict[str, list[float]] = {k: [] for k in runs}
    outs = {}
    for _ in range(args.repeats):
        for key, fn in runs.items():
            t0 = time.process_time()
            outs[key] = json.dumps(fn(), sort_keys=True)
            times[key].append(time.process_time() - t0)
    same = len(set(outs.values())) == 1
    figures = ", ".join(f"{k} {float(np.median(v)) * 100 / len(names):.1f} s" for k, v in times.items())
    print(f"per-class, CPU time per 100 sequences, one job, median of {args.repeats}: {figures}; "
          f"identical JSON: {same}")
    if not same:
        raise SystemExit("the optimised path changed the numbers")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sequences", type=int, default=1000)
    ap.add_argument("--frames", type=int, default=40)
    ap.add_argument("--objects", type=int, default=30)
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--configs", default="per-class,per-class:check,agnostic,per-class:trackeval-hota",
                    help="comma-separated CLASSES[:check][:trackeval-hota] runs on the same inputs")
    ap.add_argument("--compare", type=int, default=100, help="sequences in the before/after run (0: skip)")
    ap.add_argument("--repeats", type=int, default=1, help="rounds of every run (medians)")
    args = ap.parse_args()

    from detbench.evaluate.api import evaluate_folders

    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        gt_dir, res_dir = Path(tmp) / "truth", Path(tmp) / "res"
        t0 = time.perf_counter()
        for i in range(args.sequences):
            name = f"seq{i:04d}"
            gt, res = make_sequence(rng, args.frames, args.objects)
            write_mot(gt_file(gt_dir / name), gt)
            write_seqinfo(seqinfo_file(gt_dir / name), SeqInfo(name, 2.0, 1600, 900, args.frames))
            write_mot(res_dir / f"{name}.txt", res)
        t_write = time.perf_counter() - t0
        if args.compare:
            compare(gt_dir, res_dir, Path(tmp), args)
        print(f"{args.sequences} sequences x {args.frames} frames x {args.objects} objects, "
              f"jobs={args.jobs}, {os.cpu_count()} cores; writing inputs: {t_write:.1f} s")
        configs = args.configs.split(",")
        walls: dict[str, list[float]] = {c: [] for c in configs}
        cpus: dict[str, list[float]] = {c: [] for c in configs}
        loads: dict[str, list[float]] = {c: [] for c in configs}
        jsons: dict[str, str] = {}
        for _ in range(args.repeats):
            for config in configs:
                classes, *flags = config.split(":")
                cpu0 = _cpu()
                t0 = time.perf_counter()
                out = evaluate_folders(gt_dir, res_dir, classes=classes, jobs=args.jobs,
                                       check="check" in flags, trackeval_hota="trackeval-hota" in flags)
                walls[config].append(time.perf_counter() - t0)
                cpus[config].append(_cpu() - cpu0)
                loads[config].append(os.getloadavg()[0])
                jsons[config] = json.dumps(out, sort_keys=True)
                same = {c for c in jsons if c.split(":")[0] == classes}
                if len({jsons[c] for c in same}) != 1:
                    raise SystemExit(f"{config}: numbers differ from {sorted(same - {config})}")
        for config in configs:
            o = json.loads(jsons[config])["overall"]
            t_eval, cpu_eval = float(np.median(walls[config])), float(np.median(cpus[config]))
            print(f"{config:26s}: {t_eval:5.1f} s wall (runs {', '.join(f'{w:.1f}' for w in walls[config])}; "
                  f"{1000 * t_eval / args.sequences:.1f} ms per sequence), {cpu_eval:.1f} s CPU "
                  f"(workers included; load average {', '.join(f'{v:.1f}' for v in loads[config])}); "
                  f"HOTA {o['HOTA']:.4f} MOTA {o['MOTA']:.4f} IDF1 {o['IDF1']:.4f} IDSW {o['IDSW']}")
        print("identical JSON within each classes mode: True")

if __name__ == "__main__":
    main()
