#!/usr/bin/env bash
# GPU check: head-only YOLOX-L at 800x1440, batch 32, bf16 + channels_last, fixed iterations on
# synthetic tensors (real model and SimOTA loss, no image decoding). Prints images/s and peak memory;
# then YOLOX-L detection throughput at 800x1440 in bf16 (benchmarks/gpu_detect.py).
# Expected to finish well under 8 minutes on one H100 (model build + 5 warm-up + 30 timed steps).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python}
[ -x .venv/bin/python ] && PY=.venv/bin/python
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader || true
# 1) training throughput (at most 4 min), 2) detection throughput of YOLOX-L, bf16 (at most 3 min)
timeout 240 "$PY" benchmarks/bench_train.py --mode throughput --model l --size 800,1440 --batch 32 \
  --warmup 5 --iters 30 --device "${DEVICE:-cuda}" --threads 4
timeout 180 "$PY" benchmarks/gpu_detect.py --batches 1,8,16 --iters 20
