#!/usr/bin/env bash
# GPU check (training and detection speed on one GPU): each part is capped (timeouts add up to 6 minutes on one H200):
#  1) model-only head-only YOLOX-L 800x1440 batch 32 step (synthetic tensors, bf16, channels_last),
#     batched SimOTA loss and YOLOX's per-image loss side by side;
#  2) end to end: `detbench train` on rendered 1600x900 JPEGs through the real loader
#     (mosaic/HSV/flip, 14 workers), median images/s of the logged steps;
#  3) end to end: `detbench detect` (JPEG decode, letterbox, NMS, cache) images/s, then
#     model-only detection (benchmarks/gpu_detect.py).
# Not yet run: no GPU was lent to the session that wrote it; the next GPU check measures it.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python}
[ -x .venv/bin/python ] && PY=.venv/bin/python
DEVICE=${DEVICE:-cuda}
WORK=${WORK:-$(mktemp -d)}
export DETBENCH_RUNS="$WORK/runs"
export DETBENCH_ALLOW_TRITON=1   # torch.compile on CUDA needs triton (detbench/__init__.py keeps it out otherwise)
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader || true
echo "== 1) model-only training step (25 boxes/image), batched vs YOLOX loss"
for loss in batched yolox; do
  timeout 55 "$PY" benchmarks/bench_train.py --mode throughput --model l --size 800,1440 --batch 32 \
    --warmup 3 --iters 15 --device "$DEVICE" --threads 4 --boxes 25 --loss "$loss"
done
echo "== 2) end-to-end train (real images through the loader)"
timeout 35 "$PY" -m detbench.cli synth "$WORK/synth" --scenes 8 --keyframes 40 --seed 3 >/dev/null
timeout 30 "$PY" -m detbench.cli prepare --dataroot "$WORK/synth" --version v1.0-synth --min-visibility 2 \
  --name gpu >/dev/null
timeout 95 "$PY" -m detbench.cli train --data "$DETBENCH_RUNS/data/gpu" --recipe stable_v3 --epochs 3 \
  --device "$DEVICE" --name gpu --set num_workers=14 >/dev/null
"$PY" - "$DETBENCH_RUNS/train/gpu/log.jsonl" <<'EOF'
import json, statistics, sys
rows = [json.loads(line) for line in open(sys.argv[1])]
steady = [r["images_per_s"] for r in rows if r["iter"] > 1]  # each epoch's first step waits for workers
print(f"train end to end: {len(rows)} steps, median {statistics.median(steady):.1f} img/s over steps "
      f"after each epoch's first (min {min(steady):.1f}, max {max(steady):.1f}), "
      f"peak {max(r['memory_mb'] for r in rows) / 1024:.1f} GiB")
EOF
echo "== 3) end-to-end detect, then model-only detection"
"$PY" - "$DEVICE" "$DETBENCH_RUNS/data/gpu" "$PY" <<'EOF'
import json, subprocess, sys, time
device, data, py = sys.argv[1:4]
n = len(json.load(open(f"{data}/coco/train.json"))["images"])
t = time.perf_counter()
subprocess.run([py, "-m", "detbench.cli", "detect", "--detector", "epoch3", "--run", "gpu", "--data", data,
                "--split", "train", "--batch-size", "32", "--device", device], check=True, timeout=45,
               stdout=subprocess.DEVNULL)
t = time.perf_counter() - t
print(f"detect end to end: {n} images in {t:.1f} s (process start and model load included), {n / t:.1f} img/s")
EOF
timeout 45 "$PY" benchmarks/gpu_detect.py --batches 1,64 --iters 10
