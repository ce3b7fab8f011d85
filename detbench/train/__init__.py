"""YOLOX fine-tuning: recipes, the three-phase LR schedule, frozen-trunk models, the loop, checkpoints.

Python entry points: :func:`detbench.train.trainer.train`,
:func:`detbench.runs.resolve_detector` (re-exported by :mod:`detbench.train.checkpoint`), :func:`detbench.train.checkpoint.load_detector`.
"""
