"""On the real fixture: DetA falls as recall falls, for every registered tracker (seeded)."""
from __future__ import annotations

import shutil
from dataclasses import replace

import pytest

from detbench.sensitivity.axes import PERFECT
from detbench.sensitivity.run import load_split, run_units, tracker_options

RECALLS = (1.0, 0.75, 0.5)


@pytest.mark.slow  # every tracker x 3 points on two real cameras (TrackSSM's forward dominates)
def test_deta_falls_with_recall_for_every_tracker(real_fixture, tmp_path):
    from trackers import TRACKERS

    seqs = tmp_path / "seqs"
    for cam in ("CAM_FRONT", "CAM_BACK"):  # the two busiest cameras: 1,352 of the fixture's 2,369 boxes
        shutil.copytree(real_fixture / "sequences" / f"scene-0103_{cam}", seqs / f"scene-0103_{cam}")
    split = load_split(seqs)
    trackers = sorted(TRACKERS)
    options, extra, _ = tracker_options(trackers, {})
    units = [(f"recall={r}", replace(PERFECT, recall=r), 0, t) for r in RECALLS for t in trackers]
    results, stats = run_units(split, units, options, extra, tmp_path / "cache", jobs=2)
    assert not stats["failed"] and stats["computed"] == len(units)
    for t in trackers:
        deta = [results[(f"recall={r}", 0, t)]["overall"]["DetA"] for r in RECALLS]
        assert deta[0] > deta[1] > deta[2], (t, deta)
    # the cache: the same units again are all served from it, with identical results
    again, stats2 = run_units(split, units, options, extra, tmp_path / "cache", jobs=1)
    assert stats2["cached"] == len(units) and again == results
