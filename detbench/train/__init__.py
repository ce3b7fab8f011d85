"""YOLOX fine-tuning: recipes, the three-phase LR schedule, frozen-trunk models, the loop, checkpoints.

Python entry points: :func:`detbench.train.trainer.train`,
:func:`detbench.train.checkpoint.resolve_detector`, :func:`detbench.train.checkpoint.load_detector`.
"""
