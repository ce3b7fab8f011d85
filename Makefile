# The two commands: `make demo` (the whole pipeline on synthetic data) and `make test`.
# Every target sets itself up on a fresh machine: uv is found as `uv` or `python3 -m uv`
# (installed with pip when neither works), then `uv sync --frozen` builds .venv from uv.lock.
SHELL := /bin/bash
PYTEST_ARGS ?=
DEMO_ARGS ?=

UV = $(shell if uv --version >/dev/null 2>&1; then echo uv; \
	elif python3 -m uv --version >/dev/null 2>&1; then echo "python3 -m uv"; fi)

.PHONY: setup lint test demo base-weights bench clean

setup:
	@if [ -z "$(UV)" ]; then echo "installing uv with pip"; python3 -m pip install -q uv; fi
	@$(MAKE) --no-print-directory _sync

# --compile-bytecode: every process (the command, each pool worker, each Ray worker) imports torch,
# boxmot, scipy from .pyc instead of compiling them again where Python may not write its cache
# (PYTHONDONTWRITEBYTECODE, read-only installs): half of each process's start (benchmarks/README.md,
# "Scale"); once per install (~40 s), a later sync with nothing new checks in ~1 s
_sync:
	$(UV) sync --frozen --quiet --extra ray --compile-bytecode

# ruff (configured in pyproject.toml, installed by setup from the dev group) before any test
lint: setup
	$(UV) run --frozen --no-sync ruff check

test: lint
	$(UV) run --frozen --no-sync python -m pytest $(PYTEST_ARGS)

# the demo writes everything under runs/demo/<time>-seed<N>-*/ and, here, replaces results/demo/ at the end
demo: setup
	$(UV) run --frozen --no-sync detbench demo --out results/demo $(DEMO_ARGS)

# retrains the demo's pretrained base (weights/demo_base/, committed): 8 + 12 epochs, ~30 min of training on
# 2 CPU cores at ~11 images/s (measured: 1864 s + 1113 s at loads 10-15 and 3-7), plus ~3 min of data
base-weights: setup
	$(UV) run --frozen --no-sync python -m detbench.commands.base_weights

bench: setup
	$(UV) run --frozen --no-sync python benchmarks/run_all.py

clean:
	rm -rf runs .pytest_cache
