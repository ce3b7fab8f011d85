"""The ``ground`` tracker: Kalman filters on the ground plane in global coordinates, with each
frame's camera pose (:mod:`trackers.ground.tracker`); :mod:`trackers.ground.kalman` is the
batched filter, :mod:`trackers.ground.measure` the image <-> ground measurements."""
