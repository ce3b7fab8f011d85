"""Association costs and the optional assignment of :mod:`trackers.ground.tracker`.

:func:`ground_costs` scores every (track, detection) pair on the ground by the negative log
likelihood of the detection's contact under the track's prediction, ``d2 + log det S``
(Mahalanobis distance with ``S = P + R`` plus the log-determinant, so a track whose prediction is
vague pays for it); :func:`assign` is the minimum-cost assignment in which leaving a track and a
detection unmatched costs ``limit`` (lapjv's ``cost_limit``): a pair is taken only when it is
cheaper than that, never forced because the matrix has room for it.
"""
from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment

from trackers.ground import kalman

#: the cost of a pair that may not be taken
UNMATCHED = 1e9


def ground_costs(x: np.ndarray, p: np.ndarray, z: np.ndarray, r: np.ndarray) -> np.ndarray:
    """(T, D) negative log likelihoods ``d2 + log det S`` of contacts ``z`` (D, 2) with
    covariances ``r`` (D, 2, 2) under the predictions of tracks ``x`` (T, 4), ``p`` (T, 4, 4)."""
    d2, logdet = kalman.mahalanobis(x, p, z, r)
    return d2 + logdet


def assign(cost: np.ndarray, allowed: np.ndarray, limit: float) -> tuple[np.ndarray, np.ndarray]:
    """(rows, cols) of the minimum-cost assignment over the ``allowed`` pairs of ``cost`` (T, D)
    where leaving a row and a column unmatched costs ``limit``: only pairs with cost < ``limit``
    can be taken. Solved by scipy on the matrix extended with one dummy column per row and one
    dummy row per column (each dummy costs ``limit / 2``)."""
    ok = allowed & (cost < limit)
    # rows and columns without a takeable pair stay unmatched whatever the others do
    r_use, c_use = np.flatnonzero(ok.any(axis=1)), np.flatnonzero(ok.any(axis=0))
    t, d = len(r_use), len(c_use)
    if not t:
        return r_use, c_use
    ok = ok[r_use][:, c_use]
    big = np.full((t + d, d + t), UNMATCHED)
    big[:t, :d] = np.where(ok, cost[r_use][:, c_use], UNMATCHED)
    big[np.arange(t), d + np.arange(t)] = limit / 2
    big[t + np.arange(d), np.arange(d)] = limit / 2
    big[t:, d:] = 0.0
    rows, cols = linear_sum_assignment(big)
    take = (rows < t) & (cols < d)
    rows, cols = rows[take], cols[take]
    keep = ok[rows, cols]
    return r_use[rows[keep]], c_use[cols[keep]]
