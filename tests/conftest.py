"""Shared test set-up: seeded, single-threaded torch, artifacts under a temporary runs root."""
from __future__ import annotations

import os
import random
from pathlib import Path

import numpy as np
import pytest

SHARED = Path(__file__).resolve().parent.parent.parent / "shared"
REAL_FIXTURE = SHARED / "fixtures" / "nuscenes-mini-real"


@pytest.fixture(autouse=True)
def _seed_and_isolate(tmp_path, monkeypatch):
    random.seed(0)
    np.random.seed(0)
    monkeypatch.setenv("DETBENCH_RUNS", str(tmp_path / "runs"))
    yield


@pytest.fixture(scope="session", autouse=True)
def _torch_threads():
    try:
        import torch
        torch.set_num_threads(1)  # 2 threads on 2 busy cores was 50x slower than 1
        torch.manual_seed(0)
    except ImportError:
        pass


@pytest.fixture
def real_fixture() -> Path:
    if not REAL_FIXTURE.is_dir():
        pytest.skip(f"real fixture not found at {REAL_FIXTURE}")
    return REAL_FIXTURE


@pytest.fixture(scope="session")
def synth_root(tmp_path_factory) -> Path:
    """A small synthetic nuScenes-format dataset (2 scenes x 6 keyframes, CAM_FRONT), built once."""
    from detbench.data.synthetic import write_dataset

    out = tmp_path_factory.mktemp("synth")
    write_dataset(out, scenes=2, keyframes=6, cameras=("CAM_FRONT",), seed=0)
    return out
