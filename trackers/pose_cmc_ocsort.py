"""``cmc=pose`` for boxmot's OC-SORT: everything a ``KalmanBoxTracker`` still reads, carried
into the current camera (see :mod:`trackers.pose_cmc` for the idea).

Which pieces of OC-SORT's state are carried and why: docs/tracker-internals.md, "Pose
compensation for OC-SORT".
"""
from __future__ import annotations

import numpy as np

from trackers.pose_cmc import XYSR, MoveBoxes, take


def _last_real(history) -> int | None:
    for i in range(len(history) - 1, -1, -1):
        if history[i] is not None:
            return i
    return None


def _readable_ages(track) -> list[int]:
    """The keys of ``track.observations`` OC-SORT can still read (module docstring)."""
    obs = track.observations
    if not obs:
        return []
    newest = max(obs)
    first = track.age + 1 - track.delta_t
    return [a for a in obs if a >= first or a == newest]


def move_ocsort_tracks(instances: dict, move: MoveBoxes) -> None:
    """Carry every OC-SORT track of ``instances`` ({class: boxmot OcSort}) with ``move``."""
    states, state_classes = [], []        # (holder, key of x, key of P): kf.__dict__ or attr_saved
    boxes, box_classes, writers = [], [], []
    directions = []                       # (track, row of its live state)

    def add_box(box, cls, write):
        boxes.append(np.asarray(box, dtype=np.float64)[:4])
        box_classes.append(cls)
        writers.append(write)

    for cls, inst in instances.items():
        for trk in inst.active_tracks:
            kf = trk.kf
            if trk.velocity is not None:
                directions.append((trk, len(states)))
            states.append(kf.__dict__)
            state_classes.append(cls)
            if not kf.observed and kf.attr_saved is not None:
                states.append(kf.attr_saved)
                state_classes.append(cls)
            if trk.last_observation[-1] >= 0:
                add_box(trk.last_observation, cls, _set_attr_box(trk, "last_observation"))
            for age in _readable_ages(trk):
                add_box(trk.observations[age], cls, _set_item_box(trk.observations, age))
            i = _last_real(kf.history_obs)
            if i is not None:
                z = np.asarray(kf.history_obs[i], dtype=np.float64).reshape(1, -1)
                add_box(XYSR.to_boxes(z)[0], cls, _set_measurement(kf.history_obs, i))
    if not states:
        return
    x = np.stack([np.asarray(h["x"], dtype=np.float64).reshape(-1) for h in states])
    p = np.stack([np.asarray(h["P"], dtype=np.float64) for h in states])
    all_boxes = np.concatenate([XYSR.to_boxes(x), np.reshape(boxes, (-1, 4))])
    motion = move(all_boxes, np.asarray(state_classes + box_classes))
    n = len(states)
    state_motion = take(motion, slice(0, n))
    new_x, new_p = XYSR.move(x, p, state_motion)
    for holder, xi, pi in zip(states, new_x, new_p):
        holder["x"] = xi.reshape(holder["x"].shape).astype(holder["x"].dtype, copy=False)
        holder["P"] = pi.astype(holder["P"].dtype, copy=False)
    for k, write in enumerate(writers):
        write(motion.boxes[n + k])
    for trk, row in directions:
        _turn_direction(trk, state_motion.jacobian[row])


def _turn_direction(trk, jacobian: np.ndarray) -> None:
    """OC-SORT's ``velocity`` is a unit (dy, dx); map (dx, dy) by the Jacobian and renormalise."""
    v = np.asarray(trk.velocity, dtype=np.float64)
    turned = jacobian @ v[::-1]
    norm = float(np.hypot(*turned))
    if np.isfinite(norm) and norm > 1e-12:
        trk.velocity = turned[::-1] / norm


def _with_box(old, box: np.ndarray) -> np.ndarray:
    """``old`` (xyxy + extra columns) with its box replaced, same dtype, a new array."""
    new = np.array(old, copy=True)
    new[:4] = box
    return new


def _set_attr_box(obj, name):
    return lambda box: setattr(obj, name, _with_box(getattr(obj, name), box))


def _set_item_box(mapping, key):
    def write(box):
        mapping[key] = _with_box(mapping[key], box)
    return write


def _set_measurement(history, index):
    def write(box):
        old = history[index]
        history[index] = XYSR.from_boxes(box[None]).reshape(np.shape(old)).astype(old.dtype, copy=False)
    return write
