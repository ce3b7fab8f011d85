"""Shared test set-up: seeded, single-threaded torch, artifacts under a temporary runs root."""
from __future__ import annotations

import os
import random
from pathlib import Path

import numpy as np
import pytest

import detbench  # noqa: F401 - before torch/torchvision: keeps triton's exit noise out (detbench/__init__.py)

# Real nuScenes ground truth and images (scene-0103, CC BY-NC-SA 4.0: see its README.md), kept
# inside the repository so every test runs in any clone.
REAL_FIXTURE = Path(__file__).resolve().parent / "fixtures" / "nuscenes-mini-real"


@pytest.fixture(autouse=True)
def _seed_and_isolate(tmp_path, monkeypatch):
    random.seed(0)
    np.random.seed(0)
    monkeypatch.setenv("DETBENCH_RUNS", str(tmp_path / "runs"))
    yield


@pytest.fixture(autouse=True)
def _one_torch_thread():
    """Tiny models run fastest (and reproducibly) on one thread; two OpenMP threads on two busy
    cores were measured 50x slower."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def real_fixture() -> Path:
    assert REAL_FIXTURE.is_dir(), f"real fixture missing at {REAL_FIXTURE}"
    return REAL_FIXTURE


@pytest.fixture(scope="session")
def synth_root(tmp_path_factory) -> Path:
    """A small synthetic nuScenes-format dataset (2 scenes x 6 keyframes, CAM_FRONT), built once."""
    from detbench.data.synthetic import write_dataset

    out = tmp_path_factory.mktemp("synth")
    write_dataset(out, scenes=2, keyframes=6, cameras=("CAM_FRONT",), seed=0)
    return out
