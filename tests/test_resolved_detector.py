"""A detector is resolved once, at the command boundary (:mod:`detbench.detect.resolved`): the
walk from ``compare`` to the detection caches resolves each name once and computes each cache
key once, and the entry points take their options as a few frozen values."""
from __future__ import annotations

import inspect
from collections import Counter

from test_tune_per_pair import compare_argv, world  # noqa: F401

from detbench.cli import main


def test_run_comparison_and_tune_take_at_most_eight_parameters():
    from detbench.compare.pipeline import run_comparison
    from detbench.tuning.tune import tune

    for func in (run_comparison, tune):
        assert len(inspect.signature(func).parameters) <= 8, func.__qualname__


def test_a_resolved_detector_names_the_cache_the_detection_key_names(world):
    from detbench.detect.api import detection_key
    from detbench.detect.resolved import resolve

    data, _ = world
    epoch1 = resolve("epoch1", data, "val", run="r1")
    assert epoch1.ref.epoch == 1 and epoch1.ref.run == "r1" and epoch1.checkpoint.name == "epoch_1.pth"
    assert epoch1.detection_key() == detection_key("epoch1", data, "val", run="r1")
    on_tune = epoch1.on("tune")
    assert on_tune.detection_key() == detection_key("epoch1", data, "tune", run="r1")
    assert on_tune.detections.key != epoch1.detections.key     # the split is in the key


def test_compare_resolves_each_detector_once_and_keys_each_cache_once(world, monkeypatch):
    """``compare --tune`` with 2 detectors: 2 name resolutions (not one per floor: checks, tuning
    settings, tunings, detections) and 4 key computations (2 detectors x the tune and val splits),
    though it tunes both pairs, looks their tunings up twice and makes 4 detection caches."""
    from detbench import runs
    from detbench.detect import api, resolved, shards

    data, results = world
    calls = Counter()

    def counted(name, real):
        def wrapper(*args, **kwargs):
            calls[name] += 1
            return real(*args, **kwargs)
        return wrapper

    ref = counted("detector_ref", runs.detector_ref)
    for module in (runs, api, shards, resolved):
        monkeypatch.setattr(module, "detector_ref", ref)
    monkeypatch.setattr(api, "_key", counted("key", api._key))
    assert main(compare_argv(data, results, "--tune")) == 0
    assert calls == {"detector_ref": 2, "key": 4}
