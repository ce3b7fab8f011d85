"""TrackEval's metric classes that score detbench's per-sequence data dicts, and their combine rules.

The data dicts come from :class:`detbench.evaluate.dataset.DetbenchMOT` (no MOTChallenge
preprocessing), and ``HOTA``, ``CLEAR`` and ``Identity`` score them. ``HOTA`` is
:class:`detbench.evaluate.hota_fast.FastHOTA` by default: TrackEval's class with its per-alpha
loop vectorised, every field identical (tested); ``trackeval_hota=True`` uses TrackEval's class. Combining follows
TrackEval's own rules (``combine_sequences`` / ``combine_classes_det_averaged``: per-alpha and
CLEAR / identity counts are summed, AssA and LocA weighted by HOTA_TP, then ratios derived).
"""
from __future__ import annotations

from functools import lru_cache

METRIC_NAMES = ("HOTA", "CLEAR", "Identity")


@lru_cache(maxsize=8)
def metrics(iou: float = 0.5, trackeval_hota: bool = False) -> dict:
    """The three metric objects, CLEAR and Identity at IoU threshold ``iou``; HOTA is
    TrackEval's own class with ``trackeval_hota``, else the identical :class:`FastHOTA`."""
    from trackeval.metrics import CLEAR, HOTA, Identity

    from detbench.evaluate.hota_fast import FastHOTA

    cfg = {"THRESHOLD": float(iou), "PRINT_CONFIG": False}
    hota = HOTA() if trackeval_hota else FastHOTA()
    return {"HOTA": hota, "CLEAR": CLEAR(cfg), "Identity": Identity(cfg)}


def eval_sequence(data: dict, iou: float = 0.5, trackeval_hota: bool = False) -> dict:
    """{metric name: TrackEval result dict} for one sequence data dict."""
    return {name: m.eval_sequence(data) for name, m in metrics(iou, trackeval_hota).items()}


def combine_sequences(results: list[dict], iou: float = 0.5) -> dict:
    """TrackEval's ``combine_sequences`` over several per-sequence results (same class)."""
    return _combine(results, iou, "combine_sequences")


def combine_classes(results: list[dict], iou: float = 0.5) -> dict:
    """TrackEval's ``combine_classes_det_averaged``: sum counts over classes, then derive."""
    return _combine(results, iou, "combine_classes_det_averaged")


def _combine(results: list[dict], iou: float, method: str) -> dict:
    out = {}
    for name, m in metrics(iou).items():
        per = {str(i): r[name] for i, r in enumerate(results)}
        out[name] = getattr(m, method)(per)
    return out
