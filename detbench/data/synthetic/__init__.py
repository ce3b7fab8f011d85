"""Synthetic nuScenes-format dataset: tables the devkit loads unchanged, plus rendered images.

``write_dataset(out, scenes=2, keyframes=6, cameras=("CAM_FRONT",), sweeps=False, seed=0,
version="v1.0-synth") -> Path`` is the entry point (``detbench synth`` on the command line).
"""
from detbench.data.synthetic.dataset import split_names, write_dataset
from detbench.data.synthetic.rig import CAMERAS

__all__ = ["write_dataset", "split_names", "CAMERAS"]
