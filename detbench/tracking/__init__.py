"""Tracking runs: a registered tracker over every sequence of a split -> MOT result files.
Entry points: :func:`detbench.tracking.track.track` (``detbench track``: source, output folder,
run), :func:`detbench.tracking.sources.select_source`, :func:`detbench.tracking.run.track_split`,
:func:`detbench.tracking.run.track_cache`."""
