"""A batch of constant-velocity Kalman filters on the ground plane, vectorised over tracks.

State per track: ``[x, y, vx, vy]`` in the global frame (metres, metres per second); the
measurement is a ground point ``[x, y]`` with its own 2x2 covariance ``R`` per detection (the
detection's pixel noise mapped onto the ground, :mod:`trackers.ground.measure`). Time steps are
real seconds. Process noise is white acceleration with standard deviation ``accel`` (m/s^2) held
constant over a step (the discrete piecewise-constant model):
``Q = accel^2 [[dt^4/4 I, dt^3/2 I], [dt^3/2 I, dt^2 I]]``.

Everything works on ``(T, 4)`` states and ``(T, 4, 4)`` covariances; 2x2 inverses are written
out in closed form (faster than ``numpy.linalg`` on tiny matrices).
"""
from __future__ import annotations

import numpy as np


def new_states(xy: np.ndarray, pos_cov: np.ndarray, speed_sigma: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """States for new tracks at ground points ``xy`` (N, 2), standing still: position covariance
    ``pos_cov`` (N, 2, 2) (the measurement's), velocity ``speed_sigma`` (N,) m/s per axis."""
    n = len(xy)
    x = np.zeros((n, 4))
    x[:, :2] = xy
    p = np.zeros((n, 4, 4))
    p[:, :2, :2] = pos_cov
    p[:, 2, 2] = p[:, 3, 3] = np.asarray(speed_sigma, dtype=np.float64) ** 2
    return x, p


def predict(x: np.ndarray, p: np.ndarray, dt: float, accel: float) -> tuple[np.ndarray, np.ndarray]:
    """States and covariances ``dt`` seconds later (constant velocity, white acceleration)."""
    if not len(x):
        return x, p
    f = np.eye(4)
    f[0, 2] = f[1, 3] = dt
    x = x @ f.T
    q = np.zeros((4, 4))
    a2 = accel * accel
    q[[0, 1], [0, 1]] = a2 * dt ** 4 / 4
    q[[0, 1, 2, 3], [2, 3, 0, 1]] = a2 * dt ** 3 / 2
    q[[2, 3], [2, 3]] = a2 * dt ** 2
    return x, f @ p @ f.T + q


def inv2(m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Inverses and determinants of (..., 2, 2) matrices (closed form)."""
    a, b, c, d = m[..., 0, 0], m[..., 0, 1], m[..., 1, 0], m[..., 1, 1]
    det = a * d - b * c
    inv = np.stack([np.stack([d, -b], -1), np.stack([-c, a], -1)], -2) / det[..., None, None]
    return inv, det


def mahalanobis(x: np.ndarray, p: np.ndarray, z: np.ndarray, r: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For every (track, measurement) pair: the squared Mahalanobis distance ``d2`` (T, D) of
    measurement ``z[j]`` (D, 2) from track ``i``'s predicted position, with innovation
    covariance ``S = P_i[:2, :2] + R_j`` (``r`` (D, 2, 2)), and ``log det S`` (T, D)."""
    s = p[:, None, :2, :2] + r[None]
    e = z[None, :, :] - x[:, None, :2]
    a, b, c, d = s[..., 0, 0], s[..., 0, 1], s[..., 1, 0], s[..., 1, 1]
    det = a * d - b * c
    with np.errstate(invalid="ignore", divide="ignore"):
        d2 = (d * e[..., 0] ** 2 - (b + c) * e[..., 0] * e[..., 1] + a * e[..., 1] ** 2) / det
        logdet = np.log(det)
    return d2, logdet


def update(x: np.ndarray, p: np.ndarray, z: np.ndarray, r: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Kalman updates of ``K`` tracks (``x`` (K, 4), ``p`` (K, 4, 4)) with their measurements
    ``z`` (K, 2), ``r`` (K, 2, 2); Joseph form, so covariances stay symmetric."""
    if not len(x):
        return x, p
    s_inv, _ = inv2(p[:, :2, :2] + r)
    gain = p[:, :, :2] @ s_inv                          # (K, 4, 2) = P H^T S^-1
    x = x + (gain @ (z - x[:, :2])[:, :, None])[:, :, 0]
    i_kh = np.broadcast_to(np.eye(4), p.shape).copy()
    i_kh[:, :, :2] -= gain                             # I - K H, H = [I 0]
    p = i_kh @ p @ i_kh.transpose(0, 2, 1) + gain @ r @ gain.transpose(0, 2, 1)
    return x, p
