"""Each boxmot adapter tracks exactly as boxmot's own ``per_class=True`` mode with the adapter's
settings: the same rows every frame (ids 1-based on our side), on real fixture sequences with
false positives of every class (so classes come and go, and instances sit idle)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from detbench.data.layout import gt_file, seqinfo_file
from detbench.data.mot import read_mot, read_seqinfo
from detbench.data.noisy import noisy_detections
from trackers import make_tracker
from trackers.base import Frame

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "nuscenes-mini-real" / "sequences"
ADAPTERS = [("botsort", {"cmc": "none"}, "BotSort"), ("bytetrack", {}, "ByteTrack"), ("ocsort", {}, "OcSort")]


def fixture_detections(seq: str, seed: int, fp_rate: float) -> list[np.ndarray]:
    info = read_seqinfo(seqinfo_file(FIXTURE / seq))
    return noisy_detections(read_mot(gt_file(FIXTURE / seq), kind="gt"), info.length, info.width, info.height,
                            seed=seed, fp_rate=fp_rate)


def in_order(tracks: np.ndarray) -> np.ndarray:
    return tracks[np.lexsort(tracks.T[::-1])]


@pytest.mark.parametrize("seq,fp_rate", [("scene-0103_CAM_FRONT", 1.0), ("scene-0103_CAM_BACK", 20.0)])
@pytest.mark.parametrize("name,options,boxmot_class", ADAPTERS)
def test_adapter_equals_boxmot_per_class(name, options, boxmot_class, seq, fp_rate):
    import boxmot

    ours = make_tracker(name, options, frame_rate=2.0)
    theirs = getattr(boxmot, boxmot_class)(**ours.boxmot_kwargs(), per_class=True)
    rows = 0
    for i, dets in enumerate(fixture_detections(seq, 0, fp_rate)):
        a = ours.update(dets, Frame(index=i, timestamp=i / 2, frame_rate=2.0))
        b = np.asarray(theirs.update(dets), dtype=np.float32).reshape(-1, 8)
        b[:, 4] += 1  # boxmot's ids start at 0, ours at 1
        assert np.array_equal(in_order(a), in_order(b)), f"{seq} frame {i + 1}"
        rows += len(a)
    assert rows > 100  # the sequence really was tracked


def test_idle_instances_are_not_advanced():
    """A class seen once and never again: its instance is dropped from the frame loop once it
    keeps no track, yet ids stay unique and its clock is the frame's when the class returns."""
    ours = make_tracker("bytetrack", {}, frame_rate=2.0)
    car = np.array([[100, 100, 200, 200, 0.9, 0]], dtype=np.float32)
    bus = np.array([[500, 100, 700, 300, 0.9, 2]], dtype=np.float32)
    first = ours.update(np.concatenate([car, bus]), Frame(index=0, timestamp=0.0, frame_rate=2.0))
    for i in range(1, 12):  # the bus vanishes for longer than the 2 s buffer
        ours.update(car, Frame(index=i, timestamp=i / 2, frame_rate=2.0))
    assert not ours._instances[2].lost_stracks and ours._instances[2].frame_count < 12  # idle, not called
    ours.update(np.concatenate([car, bus]), Frame(index=12, timestamp=6.0, frame_rate=2.0))
    assert ours._instances[2].frame_count == 13  # the sequence's clock, as boxmot's per-class mode sets it
    back = ours.update(np.concatenate([car, bus]), Frame(index=13, timestamp=6.5, frame_rate=2.0))
    assert sorted(first[:, 6]) == [0, 2] and sorted(back[:, 6]) == [0, 2]
    assert back[back[:, 6] == 2, 4].item() not in set(first[:, 4])  # a new bus id, unique across classes
