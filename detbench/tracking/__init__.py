"""Tracking runs: a registered tracker over every sequence of a split -> MOT result files.
Entry points: :func:`detbench.tracking.run.track_split`, :func:`detbench.tracking.run.track_cache`."""
