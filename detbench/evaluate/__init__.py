"""Tracking metrics: TrackEval's HOTA / CLEAR / Identity on detbench MOT files (one TrackEval
dataset class, :class:`detbench.evaluate.dataset.DetbenchMOT`), cross-checked by motmetrics.
Entry point: :func:`detbench.evaluate.api.evaluate_folders`."""
