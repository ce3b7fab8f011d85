"""Tuning: a tracker's grid searched per (tracker, detections, dataset, tune split) (:mod:`tune`),
the stored choices and their keys (:mod:`tunings`), and which options each compared pair runs
with (:mod:`settings`)."""
