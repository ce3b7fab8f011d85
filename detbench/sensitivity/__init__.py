"""``detbench sensitivity``: how each tracker's metrics respond to detector quality.

Ground-truth boxes are degraded along five axes (:mod:`.axes`) by a seeded generator
(:mod:`.degrade`); every registered tracker tracks the result and TrackEval scores it
(:mod:`.run`); a real detector's own recall, false positives, localisation error, score
separation and class confusion are measured the same way (:mod:`.placement`) and marked on the
curves (:mod:`.plots`); :mod:`.report` writes the tables and explains the zero-degradation point
(:mod:`.zero_point`); :mod:`.bands` holds the scene-level bootstrap bands.
"""
