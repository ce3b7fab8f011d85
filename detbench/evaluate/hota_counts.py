"""HOTA recomputed from summed per-alpha counts, so a bootstrap can resample scenes.

TrackEval combines HOTA over sequences (and classes) by summing HOTA_TP, HOTA_FN, HOTA_FP per
alpha threshold and weighting AssA by HOTA_TP; then DetA = TP / (TP + FN + FP),
HOTA = sqrt(DetA * AssA) per alpha, and the reported HOTA is the mean over the 19 alphas.
Per sequence we keep exactly those sums (``HOTA_TP.i``, ``HOTA_FN.i``, ``HOTA_FP.i``,
``AssA_TP.i`` = AssA * HOTA_TP), which is all the recombination needs.
"""
from __future__ import annotations

import numpy as np

N_ALPHA = 19
FIELDS = tuple(f"{name}.{i}" for name in ("HOTA_TP", "HOTA_FN", "HOTA_FP", "AssA_TP") for i in range(N_ALPHA))


def deta_assa_from_counts(c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(B, 4 * 19) summed counts in :data:`FIELDS` order -> DetA and AssA per alpha, (B, 19) each."""
    c = np.asarray(c, dtype=np.float64).reshape(len(c), 4, N_ALPHA)
    tp, fn, fp, ass_tp = c[:, 0], c[:, 1], c[:, 2], c[:, 3]
    det_a = np.divide(tp, tp + fn + fp, out=np.zeros_like(tp), where=(tp + fn + fp) > 0)
    ass_a = np.divide(ass_tp, tp, out=np.zeros_like(tp), where=tp > 0)
    return det_a, ass_a


def hota_from_counts(c: np.ndarray) -> np.ndarray:
    """(B, 4 * 19) summed counts in :data:`FIELDS` order -> (B,) HOTA."""
    det_a, ass_a = deta_assa_from_counts(c)
    return np.sqrt(det_a * ass_a).mean(axis=1)


def deta_from_counts(c: np.ndarray) -> np.ndarray:
    """(B, 4 * 19) summed counts in :data:`FIELDS` order -> (B,) DetA (mean over the alphas)."""
    return deta_assa_from_counts(c)[0].mean(axis=1)


def assa_from_counts(c: np.ndarray) -> np.ndarray:
    """(B, 4 * 19) summed counts in :data:`FIELDS` order -> (B,) AssA (mean over the alphas)."""
    return deta_assa_from_counts(c)[1].mean(axis=1)


def flatten_hota(hota_tp, hota_fn, hota_fp, assa) -> dict[str, float]:
    """Per-alpha arrays of one sequence (summed over classes) -> the flat count fields."""
    out = {}
    arrays = {"HOTA_TP": np.asarray(hota_tp, float), "HOTA_FN": np.asarray(hota_fn, float),
              "HOTA_FP": np.asarray(hota_fp, float), "AssA_TP": np.asarray(assa, float) * np.asarray(hota_tp, float)}
    for name, arr in arrays.items():
        for i in range(N_ALPHA):
            out[f"{name}.{i}"] = float(arr[i])
    return out

