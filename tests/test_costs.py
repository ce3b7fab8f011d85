"""Association costs for 2 Hz motion (trackers/costs.py) and the options that use them."""
from __future__ import annotations

import numpy as np
import pytest

from detbench.core.errors import InputError
from trackers import make_tracker
from trackers.base import Frame
from trackers.costs import affinity


def test_affinities_by_hand():
    a = np.array([[0, 0, 10, 10]])
    same, touching, far = [0, 0, 10, 10], [10, 0, 20, 10], [30, 0, 40, 10]
    b = np.array([same, touching, far])
    np.testing.assert_allclose(affinity(a, b, "iou"), [[1, 0, 0]])
    # GIoU: touching -> IoU 0, enclosing 20x10 = union -> GIoU 0 -> 0.5; far: enclosing 40x10, union 200
    # -> GIoU = -(400 - 200) / 400 = -0.5 -> 0.25
    np.testing.assert_allclose(affinity(a, b, "giou"), [[1, 0.5, 0.25]])
    # centre: diagonals 10*sqrt(2); touching d = 10 -> 1 - 1/sqrt(2); far d = 30 -> 0
    np.testing.assert_allclose(affinity(a, b, "centre"), [[1, 1 - 1 / np.sqrt(2), 0]])
    assert affinity(np.zeros((0, 4)), b, "giou").shape == (0, 3)
    # normalised by size: a 10x larger box moved 10x further scores the same
    np.testing.assert_allclose(affinity(a * 10, np.array(touching)[None] * 10, "centre"), affinity(a, b[1:2], "centre"))


def _moving(n=6):
    """One car 100 px wide at x = 0, 40, 120, 200, ...: a 40 px step (IoU 60/140 = 0.43), then 80 px
    steps (IoU 20/180 = 0.11 with the last box; 0.43 with a constant-velocity prediction from the
    40 px step, then exact)."""
    xs = [0.0, 40.0] + [40.0 + 80.0 * k for k in range(1, n - 1)]
    return [np.array([[100 + x, 300, 200 + x, 400, 0.9, 0]], np.float32) for x in xs[:n]]


def _ids(tracker, frames):
    out = []
    for i, d in enumerate(frames):
        t = tracker.update(d, Frame(index=i, timestamp=i / 2, frame_rate=2.0))
        out.append(t[:, 4].astype(int).tolist())
    return out


def test_iou_tracker_constant_velocity_keeps_a_fast_object():
    frames = _moving()
    assert len({i for f in _ids(make_tracker("iou"), frames) for i in f}) > 1   # IoU 0.25 < 0.3: breaks
    ids = _ids(make_tracker("iou", {"motion": "cv"}), frames)
    assert {i for f in ids for i in f} == {1}                                      # predicted box: one id
    # GIoU of an 80 px step: IoU 0.11, enclosing 180 x 100, union 180 x 100 -> 0.11 -> 0.56 >= 0.3
    ids = _ids(make_tracker("iou", {"cost": "giou"}), frames)
    assert {i for f in ids for i in f} == {1}


def test_class_gate_off_lets_a_track_change_class():
    frames = [np.array([[100, 100, 200, 200, 0.9, c]], np.float32) for c in (0, 1, 1)]
    assert _ids(make_tracker("iou"), frames) == [[1], [2], [2]]
    assert _ids(make_tracker("iou", {"class_gate": "false"}), frames) == [[1], [1], [1]]


@pytest.mark.parametrize("name,opts", [("iou", {"cost": "dist"}), ("iou", {"motion": "kalman"}),
                                       ("trackssm", {"cost": "l1", "weights": "random"}),
                                       ("ocsort", {"asso_func": "centroid"})])
def test_bad_cost_names_the_option(name, opts):
    with pytest.raises(InputError, match=list(opts)[0]):
        make_tracker(name, opts)


def test_ocsort_passes_asso_func_to_boxmot():
    trk = make_tracker("ocsort", {"asso_func": "giou"})
    _ids(trk, _moving(n=3))
    assert {inst.asso_func_name for inst in trk.inner._instances.values()} == {"giou"}


def test_trackssm_costs_run():
    for cost in ("giou", "centre"):
        ids = _ids(make_tracker("trackssm", {"weights": "random", "cost": cost}), _moving(n=4))
        assert all(len(f) <= 1 for f in ids)
