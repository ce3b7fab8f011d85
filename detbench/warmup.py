"""What a sweep's workers import before their first task (:meth:`detbench.executors.Executor.warm`).

Each command warms with a function of its own module (``compare.pipeline.warm_worker``,
``tuning.tune.warm_worker``, ``sensitivity.run.warm_worker``): a worker that unpickles it imports
that module, and with it the stages its tasks run; the function then calls :func:`warm_trackers`.
"""
from __future__ import annotations


def warm_trackers(trackers: tuple[str, ...]) -> None:
    """TrackEval's metric classes, and each tracker's libraries through one update on one box
    (boxmot loads torch when a tracker makes its first per-class instance). Never raises: a
    tracker that cannot be built here fails in its own task, with its own error."""
    import numpy as np

    try:
        from detbench.evaluate.trackeval_adapter import metrics
        from detbench.motion.weights import uses_motion_model
        from trackers import tracker_spec

        metrics()
    except Exception:  # noqa: BLE001  (a warm-up only; the real task reports)
        return
    box = np.array([[10.0, 10.0, 60.0, 90.0, 0.9, 0.0]], dtype=np.float32)
    for name in trackers:
        try:
            # a model-driven tracker's weights are chosen by the harness, not here: an untrained
            # model imports the same libraries
            options = {"weights": "random"} if uses_motion_model(name) else None
            trk = tracker_spec(name, options).build(2.0)
            trk.begin_sequence([box])
            trk.update(box, None)
        except Exception:  # noqa: BLE001  (one tracker that cannot be built here does not stop the others)
            continue
