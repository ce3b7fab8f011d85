"""``cmc=pose`` for boxmot's OC-SORT: everything a ``KalmanBoxTracker`` still reads, carried
into the current camera (see :mod:`trackers.pose_cmc` for the idea).

Which pieces of OC-SORT's state are carried and why: docs/tracker-internals.md, "Pose
compensation for OC-SORT".
"""
from __future__ import annotations

import math

import numpy as np

from trackers.pose_cmc import XYSR, MoveBoxes, take, with_noise


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
    """Carry every OC-SORT track of ``instances`` ({class: boxmot OcSort}) with ``move``.

    An observation box equal to one already asked for (the last observation is a copy of the
    newest observation) is moved once: the motion is a function of the box and its class."""
    states, state_classes = [], []        # kf.__dict__ or attr_saved: their "x" and "P"
    boxes, box_classes, row_of = [], [], {}
    writes = []    # (container, key, row of the moved box, the old value, whether it is a measurement z)
    directions = []                       # (track, row of its live state)

    def ask(box: list, cls) -> int:
        key = (cls, *box)
        row = row_of.get(key)
        if row is None:
            row = row_of[key] = len(boxes)
            boxes.append(box)
            box_classes.append(cls)
        return row

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
            last = trk.last_observation
            if last[-1] >= 0:
                writes.append((trk.__dict__, "last_observation", ask(last[:4].tolist(), cls), last, False))
            obs = trk.observations
            for age in _readable_ages(trk):
                writes.append((obs, age, ask(obs[age][:4].tolist(), cls), obs[age], False))
            i = _last_real(kf.history_obs)
            if i is not None:
                z = kf.history_obs[i]
                writes.append((kf.history_obs, i, ask(XYSR.to_box(z.ravel().tolist()), cls), z, True))
    if not states:
        return
    n = len(states)
    means = np.array([h["x"] for h in states], dtype=np.float64).reshape(n, XYSR.dim).tolist()
    p = np.array([h["P"] for h in states], dtype=np.float64)
    motion = move([XYSR.to_box(m) for m in means] + boxes, state_classes + box_classes)
    state_motion = take(motion, slice(0, n))
    new_x, new_p = XYSR.move(means, p, state_motion)
    new_p = with_noise(new_p, state_motion, move)
    for holder, xi, pi in zip(states, new_x, new_p):
        old_x, old_p = holder["x"], holder["P"]
        holder["x"] = xi.reshape(old_x.shape).astype(old_x.dtype, copy=False)
        holder["P"] = pi.astype(old_p.dtype, copy=False)
    moved = motion.boxes
    for container, key, row, old, measurement in writes:   # new arrays, the old ones' dtype and shape
        box = moved[n + row]
        if measurement:
            container[key] = np.array(XYSR.from_box(box), dtype=old.dtype).reshape(old.shape)
        else:  # xyxy + extra columns
            container[key] = np.array(box + old[4:].tolist(), dtype=old.dtype)
    for trk, row in directions:
        _turn_direction(trk, state_motion.jacobian[row])


def _turn_direction(trk, jacobian: tuple) -> None:
    """OC-SORT's ``velocity`` is a unit (dy, dx); map (dx, dy) by the Jacobian and renormalise."""
    j00, j01, j10, j11 = jacobian
    dy, dx = trk.velocity.ravel().tolist()
    tx, ty = j00 * dx + j01 * dy, j10 * dx + j11 * dy
    norm = math.hypot(tx, ty)
    if math.isfinite(norm) and norm > 1e-12:
        trk.velocity = np.array([ty / norm, tx / norm])
