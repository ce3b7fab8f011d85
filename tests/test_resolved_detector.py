"""A detector is resolved once, at the command boundary (:mod:`detbench.detect.resolved`): the
walk from ``compare`` to the detection caches resolves each name once and computes each cache
key once, and the entry points take their options as a few frozen values."""
from __future__ import annotations

import inspect
import json
from collections import Counter

import pytest
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


@pytest.fixture
def counted_calls(monkeypatch) -> Counter:
    """Counts of name resolutions (``detector_ref``, wherever it is imported) and detection key
    computations (``api._key``) while a test runs."""
    from detbench import runs
    from detbench.detect import api, resolved, shards

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
    return calls


def test_compare_resolves_each_detector_once_and_keys_each_cache_once(world, counted_calls):
    """``compare --tune`` with 2 detectors: 2 name resolutions (not one per floor: checks, tuning
    settings, tunings, detections) and 4 key computations (2 detectors x the tune and val splits),
    though it tunes both pairs, looks their tunings up twice and makes 4 detection caches."""
    data, results = world
    assert main(compare_argv(data, results, "--tune")) == 0
    assert counted_calls == {"detector_ref": 2, "key": 4}


def test_track_resolves_its_detector_once_at_the_command(world, counted_calls, tmp_path):
    data, _ = world
    argv = ["track", "--tracker", "iou", "--detector", "epoch1", "--run", "r1", "--data", str(data), "--jobs", "1"]
    assert main(argv) == 0
    assert counted_calls == {"detector_ref": 1, "key": 1}
    meta = json.loads((tmp_path / "runs" / "tracks" / "r1-epoch1" / "iou" / "meta.json").read_text())
    assert (meta["detector"], meta["run"], meta["epoch"], meta["split"]) == ("epoch1", "r1", 1, "val")


def test_track_says_which_source_before_resolving_the_detector(world, capsys):
    """``--detector`` with ``--dets``: the "not both" line, though the name names no checkpoint."""
    data, _ = world
    seqs = data / "sequences" / "val"
    assert main(["track", "--tracker", "iou", "--detector", "nosuch", "--run", "r1", "--dets", str(seqs),
                 "--sequences", str(seqs)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "give either --detector or --dets/--sequences, not both" in err[0]


def test_sensitivity_resolves_a_named_detector_once_and_places_it(world, counted_calls, tmp_path):
    """A detector name on ``sensitivity --data``: resolved once when the study is built, its cache
    made once, and placed on the curves under the name as given."""
    data, results = world
    argv = ["sensitivity", "--data", str(data), "--split", "val", "--trackers", "iou", "--axes", "fp",
            "--values", "fp=0", "--seeds", "1", "--detector", "epoch1", "--run", "r1", "--resamples", "10",
            "--results-dir", str(results), "--name", "s"]
    assert main(argv) == 0
    assert counted_calls == {"detector_ref": 1, "key": 1}
    doc = json.loads((results / "sensitivity" / "s" / "sensitivity.json").read_text())
    [placed] = doc["detectors"]
    assert placed["name"] == placed["source"] == "epoch1" and set(placed["measured"]) >= {"recall", "fp"}


def test_ensure_all_on_ray_takes_the_resolved_values(world, counted_calls, local_ray):
    """On a Ray executor the caches are computed by tasks from the values' own references and keys:
    2 resolutions and 2 keys for 2 detectors, and the entries are the ones the in-process path serves."""
    from detbench.detect.resolved import ensure_all, resolve_detectors
    from detbench.ray_executor import RayExecutor

    data, _ = world
    with RayExecutor() as ex:
        detectors = resolve_detectors(["epoch1", "epoch2"], data, "val", run="r1", executor=ex)
        found = ensure_all(list(detectors), ex)
    assert counted_calls == {"detector_ref": 2, "key": 2}
    assert [r.cache_dir.name for r in found] == [d.detections.key for d in detectors]
    assert [r.ref for r in found] == [d.ref for d in detectors] and not any(r.cache_hit for r in found)
    here = ensure_all(list(resolve_detectors(["epoch1", "epoch2"], data, "val", run="r1")))
    assert [(r.cache_dir, r.cache_hit) for r in here] == [(r.cache_dir, True) for r in found]
