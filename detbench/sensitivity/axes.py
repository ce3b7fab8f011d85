"""The degradation axes, their default grids, the base point and the study's point list.

A :class:`Degradation` is one point of the study: how far the synthetic detections are from the
ground truth. Five axes, each with a CLI name:

``recall``     fraction of GT boxes kept (misses are single boxes and short runs of frames)
``fp``         false positives per frame (at random places and as duplicates near objects)
``jitter``     localisation noise: std of centre and log-size errors, as a fraction of box size
``score``      score separation: the ROC AUC of true-box scores against false-box scores
``confusion``  fraction of kept boxes given a wrong class

One axis varies at a time, the others stay at the base point (:data:`DEFAULT_BASE`); a 2-D
grid (``--grid recall,fp``) varies two axes over the product of their grids. The
zero-degradation point (:data:`PERFECT`: every GT box, exact, score 1, nothing else) is always
part of a study.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, replace

from detbench.core.errors import InputError

AXES = ("recall", "fp", "jitter", "score", "confusion")
LABELS = {
    "recall": "recall (fraction of GT boxes detected)",
    "fp": "false positives per frame",
    "jitter": "localisation error (% of box size)",
    "score": "score separation (ROC AUC true vs false boxes)",
    "confusion": "class confusion (fraction of boxes with a wrong class)",
}
# the zero-degradation value of each axis
IDEAL = {"recall": 1.0, "fp": 0.0, "jitter": 0.0, "score": 1.0, "confusion": 0.0}
BOUNDS = {"recall": (0.0, 1.0), "fp": (0.0, 50.0), "jitter": (0.0, 1.0), "score": (0.5, 1.0),
          "confusion": (0.0, 1.0)}
# sized so that the default study (23 point x seed units x 5 trackers) fits 5 minutes on 2 cores
DEFAULT_GRIDS = {
    "recall": (1.0, 0.9, 0.7, 0.5),
    "fp": (0.0, 1.0, 4.0),
    "jitter": (0.0, 0.05, 0.15),
    "score": (1.0, 0.9, 0.7),
    "confusion": (0.0, 0.15),
}
DEFAULT_BASE = {"recall": 0.9, "fp": 1.0, "jitter": 0.05, "score": 0.9, "confusion": 0.0}


@dataclass(frozen=True)
class Degradation:
    """One point. Shape parameters (``run_share`` ...) are fixed for a study, not axes.

    ``score=None`` means ideal scores: true boxes score 1.0, false boxes 0.0 (the perfect point).
    """

    recall: float = 1.0
    fp: float = 0.0
    jitter: float = 0.0
    score: float | None = None
    confusion: float = 0.0
    run_share: float = 0.5       # fraction of misses that come in runs of 2..max_run frames
    max_run: int = 4
    dup_share: float = 0.5       # fraction of false positives that duplicate a nearby object
    tp_logit: float = 3.0        # true-box scores: sigmoid(N(tp_logit, 1)); false: N(tp_logit - d, 1)

    def value(self, axis: str) -> float:
        v = getattr(self, axis)
        return IDEAL[axis] if v is None else float(v)

    def to_dict(self) -> dict:
        return asdict(self)

    def label(self) -> str:
        s = "ideal" if self.score is None else f"{self.score:g}"
        return (f"recall={self.recall:g} fp={self.fp:g} jitter={self.jitter:g} score={s} "
                f"confusion={self.confusion:g}")


PERFECT = Degradation()


def check_value(axis: str, value: float, where: str) -> float:
    lo, hi = BOUNDS[axis]
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise InputError(f"{where}: {axis} value {value!r} is not a number") from None
    if not lo <= v <= hi:
        raise InputError(f"{where}: {axis}={v:g} is outside [{lo:g}, {hi:g}]")
    return v


def parse_axes(text: str | None, flag: str = "--axes") -> tuple[str, ...]:
    if not text:
        return AXES
    names = tuple(a.strip() for a in text.split(",") if a.strip())
    bad = [a for a in names if a not in AXES]
    if bad or not names:
        raise InputError(f"{flag} {text!r}: unknown axis {', '.join(bad) or '(none)'}; axes: {', '.join(AXES)}")
    if len(set(names)) != len(names):
        raise InputError(f"{flag} {text!r}: an axis is named twice")
    return names


def parse_assignments(pairs, flag: str) -> dict[str, object]:
    """``["recall=0.9", "fp=0,1,2"]`` -> ``{"recall": "0.9", "fp": "0,1,2"}`` (axes checked)."""
    out = {}
    for item in pairs or ():
        for part in ([item] if flag == "--values" else item.split(";")):
            if "=" not in part:
                raise InputError(f"{flag} {part!r}: expected AXIS=VALUE")
            k, v = (s.strip() for s in part.split("=", 1))
            if k not in AXES:
                raise InputError(f"{flag} {part!r}: unknown axis {k!r}; axes: {', '.join(AXES)}")
            out[k] = v
    return out


def make_base(overrides: dict[str, str] | None = None, **shape) -> Degradation:
    vals = dict(DEFAULT_BASE)
    for k, v in (overrides or {}).items():
        vals[k] = check_value(k, v, "--base")
    return Degradation(**vals, **shape)


def make_grids(overrides: dict[str, str] | None = None) -> dict[str, tuple[float, ...]]:
    grids = dict(DEFAULT_GRIDS)
    for k, text in (overrides or {}).items():
        vals = tuple(check_value(k, v, "--values") for v in str(text).split(",") if v.strip())
        if not vals:
            raise InputError(f"--values {k}={text!r}: no values")
        grids[k] = vals
    return grids


@dataclass(frozen=True)
class Point:
    """A study point: its degradation and where it sits (``axis``/``value``; 2-D: two of each)."""

    key: str                     # "perfect", "base", "recall=0.7", "recall=0.7,fp=3"
    spec: Degradation
    axes: tuple[str, ...]        # () for perfect/base
    values: tuple[float, ...]


def study_points(base: Degradation, axes: tuple[str, ...], grids: dict[str, tuple[float, ...]],
                 grid2d: tuple[str, str] | None = None) -> list[Point]:
    """Perfect, base, then each axis's grid (points equal to the base are the base point)."""
    points = [Point("perfect", PERFECT, (), ()), Point("base", base, (), ())]
    seen = {PERFECT: "perfect", base: "base"}
    if grid2d:
        a, b = grid2d
        for va in grids[a]:
            for vb in grids[b]:
                spec = replace(base, **{a: va, b: vb})
                key = f"{a}={va:g},{b}={vb:g}"
                if spec not in seen:
                    seen[spec] = key
                    points.append(Point(key, spec, (a, b), (va, vb)))
        return points
    for axis in axes:
        for v in grids[axis]:
            spec = replace(base, **{axis: v})
            if spec not in seen:
                seen[spec] = f"{axis}={v:g}"
                points.append(Point(seen[spec], spec, (axis,), (v,)))
    return points


def axis_members(points: list[Point], base: Degradation, axis: str, grid: tuple[float, ...]) -> list[tuple[float, str]]:
    """(value, point key) along ``axis`` in grid order, the base point included where it lies."""
    by_spec = {p.spec: p.key for p in points}
    return [(v, by_spec[replace(base, **{axis: v})]) for v in grid if replace(base, **{axis: v}) in by_spec]
