"""Speed of ``detbench synth``: CPU time per rendered 1600x900 image, per keyframe visibility
pass (6 cameras at 1/4 resolution), and the whole demo-size dataset.

    python benchmarks/bench_synth.py [--scenes 12 --keyframes 40]
"""
from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

import detbench.data.synthetic.dataset as ds


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--scenes", type=int, default=12)
    ap.add_argument("--keyframes", type=int, default=40)
    args = ap.parse_args()
    cpu = {"render": [], "visibility": []}

    def timed(name, fn):
        def wrapper(self, *a):
            t = time.process_time()
            out = fn(self, *a)
            cpu[name].append(time.process_time() - t)
            return out
        return wrapper

    ds._SceneWriter.render = timed("render", ds._SceneWriter.render)
    ds._SceneWriter.visibility = timed("visibility", ds._SceneWriter.visibility)
    out = Path(tempfile.mkdtemp()) / "synth"
    t0, c0 = time.perf_counter(), time.process_time()
    ds.write_dataset(out, scenes=args.scenes, keyframes=args.keyframes, cameras=("CAM_FRONT",), seed=0)
    wall, total_cpu = time.perf_counter() - t0, time.process_time() - c0
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    print(f"{args.scenes} scenes x {args.keyframes} keyframes x CAM_FRONT: {len(cpu['render'])} images, "
          f"{wall:.1f} s wall, {total_cpu:.1f} s CPU, {size / 1e6:.1f} MB on disk")
    print(f"render (draw + noise, no JPEG): {1000 * np.mean(cpu['render']):.1f} ms CPU per image "
          f"(median {1000 * np.median(cpu['render']):.1f})")
    print(f"visibility (6 cameras, 1/4 res): {1000 * np.mean(cpu['visibility']):.1f} ms CPU per keyframe")
    shutil.rmtree(out.parent)


if __name__ == "__main__":
    main()
