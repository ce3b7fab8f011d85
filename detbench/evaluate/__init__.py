"""Tracking metrics: TrackEval's HOTA / CLEAR / Identity on detbench MOT files, cross-checked by
motmetrics. Entry point: :func:`detbench.evaluate.api.evaluate_folders`."""
