"""What each category looks like: a list of parts inside its 3D box (item frame).

Item frame = the annotation box frame of the devkit's ``Box``: origin at the box centre,
x forward along the length l, y left along the width w, z up along the height h. Every part
stays inside the box, and the parts reach the box's faces, so the projected annotation box fits
what is drawn. Parts are boxes (``kind="box"``: centre, size (l, w, h)) or wheels in the x-z
plane (``"disk"`` filled, ``"ring"`` outlined: centre, size (radius, tyre width, 0)).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Typical nuScenes sizes (w, l, h) in metres and their spread; sampled per instance.
SIZES: dict[str, tuple[tuple[float, float, float], tuple[float, float, float]]] = {
    "vehicle.car": ((1.95, 4.6, 1.68), (0.10, 0.35, 0.12)),
    "vehicle.truck": ((2.5, 7.2, 3.0), (0.15, 1.2, 0.3)),
    "vehicle.bus.rigid": ((2.95, 11.2, 3.4), (0.08, 0.8, 0.15)),
    "vehicle.bus.bendy": ((2.95, 17.5, 3.3), (0.08, 0.6, 0.1)),
    "vehicle.trailer": ((2.6, 10.0, 3.8), (0.1, 1.5, 0.2)),
    "vehicle.construction": ((2.8, 6.5, 3.2), (0.2, 0.8, 0.3)),
    "human.pedestrian.adult": ((0.67, 0.72, 1.76), (0.06, 0.08, 0.08)),
    "human.pedestrian.child": ((0.52, 0.55, 1.22), (0.05, 0.05, 0.1)),
    "human.pedestrian.construction_worker": ((0.7, 0.75, 1.78), (0.05, 0.06, 0.06)),
    "human.pedestrian.police_officer": ((0.7, 0.72, 1.8), (0.05, 0.05, 0.05)),
    "human.pedestrian.stroller": ((0.6, 0.95, 1.05), (0.04, 0.05, 0.05)),
    "vehicle.motorcycle": ((0.8, 2.1, 1.5), (0.06, 0.12, 0.06)),
    "vehicle.bicycle": ((0.6, 1.75, 1.7), (0.04, 0.08, 0.06)),
    "movable_object.barrier": ((0.5, 2.2, 1.0), (0.05, 0.2, 0.05)),
    "movable_object.trafficcone": ((0.42, 0.42, 0.78), (0.03, 0.03, 0.05)),
    "movable_object.pushable_pullable": ((0.65, 0.65, 1.05), (0.05, 0.05, 0.05)),
    "animal": ((0.35, 0.9, 0.62), (0.04, 0.1, 0.06)),
}

DARK = (30, 30, 32)
SKIN = ((150, 180, 225), (90, 125, 170), (60, 85, 120))  # BGR
VEHICLE_COLOURS = ((40, 40, 200), (200, 200, 205), (30, 30, 30), (160, 90, 30), (80, 150, 70),
                   (180, 180, 180), (50, 170, 220), (120, 60, 120), (20, 60, 110))
CLOTHES = ((40, 40, 160), (150, 70, 30), (40, 40, 40), (60, 140, 60), (160, 160, 170), (30, 100, 180),
           (120, 40, 110))


@dataclass(frozen=True)
class Part:
    kind: str                # "box" | "disk" | "ring"
    center: tuple            # (x, y, z) in the item frame
    size: tuple              # box: (l, w, h); wheel: (radius, tyre width, 0)
    colour: tuple            # BGR 0..255


def sample_size(category: str, rng: np.random.Generator, rider: bool = True) -> tuple[float, float, float]:
    """(w, l, h) for a new instance; cycles without a rider are lower."""
    mean, sd = SIZES[category]
    w, l, h = (max(0.2, m + s * float(np.clip(rng.standard_normal(), -2, 2))) for m, s in zip(mean, sd))
    if category in ("vehicle.motorcycle", "vehicle.bicycle") and not rider:
        h = h * 0.68
    return round(w, 3), round(l, 3), round(h, 3)


def _box(x0, x1, y0, y1, z0, z1, colour) -> Part:
    return Part("box", ((x0 + x1) / 2, (y0 + y1) / 2, (z0 + z1) / 2), (x1 - x0, y1 - y0, z1 - z0), tuple(colour))


def _pick(rng, options):
    return options[int(rng.integers(len(options)))]


def _wheels(xs, w, b, r, tyre=0.22, kind="disk"):
    return [Part(kind, (x, side * (w / 2 - tyre / 2), b + r), (r, tyre, 0.0), DARK) for x in xs for side in (1, -1)]


def _person(l, w, h, b, shirt, legs_colour, head_colour, rng, stride=0.0, x=0.0, top=None):
    """Legs, torso, arms and head, filling a (l, w, h) box whose bottom is at z = b."""
    leg_h = 0.47 * h
    parts = []
    for side, dx in ((1, stride), (-1, -stride)):
        lx = x + dx * l * 0.3
        parts.append(_box(lx - 0.1 * l, lx + 0.1 * l + 0.05, side * 0.02, side * 0.02 + side * 0.3 * w, b, b + leg_h,
                          legs_colour))
    tz0, tz1 = b + leg_h, b + 0.84 * h
    parts.append(_box(x - 0.3 * l, x + 0.3 * l, -0.36 * w, 0.36 * w, tz0, tz1, shirt))
    for side in (1, -1):  # swinging arms reach the box's sides and ends
        sw = side * (stride if stride else 0.6) * 0.5
        parts.append(_box(x + min(0, sw) * 0.8 * l - 0.1 * l, x + max(0, sw) * 0.8 * l + 0.1 * l,
                          min(side * 0.36 * w, side * 0.5 * w), max(side * 0.36 * w, side * 0.5 * w),
                          tz0 + 0.05 * h, tz1 - 0.02 * h, shirt))
    parts.append(_box(x - 0.13 * l, x + 0.13 * l, -0.17 * w, 0.17 * w, tz1, b + h, head_colour))
    if top is not None:  # helmet or cap
        parts.append(_box(x - 0.15 * l, x + 0.15 * l, -0.19 * w, 0.19 * w, b + 0.95 * h, b + h, top))
    return parts


def parts_for(category: str, size, rng: np.random.Generator, rider: bool = True, phase: float = 0.0) -> list[Part]:
    """The parts of one instance. ``phase`` (radians) animates the legs of walking people."""
    w, l, h = size
    hl, hw, hh = l / 2, w / 2, h / 2
    b = -hh
    stride = 0.5 * np.sin(phase)
    if category == "vehicle.car":
        r = min(0.34, 0.21 * h)
        body = _pick(rng, VEHICLE_COLOURS)
        glass = (95, 75, 60)
        return (_wheels((-0.31 * l, 0.31 * l), w, b, r)
                + [_box(-hl, hl, -hw + 0.04, hw - 0.04, b + 0.55 * r, b + 0.56 * h, body),
                   _box(-0.3 * l, 0.18 * l, -hw + 0.15, hw - 0.15, b + 0.56 * h, hh, glass),
                   _box(-0.27 * l, 0.15 * l, -hw + 0.2, hw - 0.2, hh - 0.06, hh, body)])
    if category in ("vehicle.truck", "vehicle.construction"):
        r = 0.5
        cab = (30, 190, 235) if category == "vehicle.construction" else _pick(rng, VEHICLE_COLOURS)
        cargo = (30, 170, 220) if category == "vehicle.construction" else _pick(rng, ((225, 225, 225), (170, 170, 175),
                                                                                       (60, 110, 160), (140, 60, 40)))
        cab_l = min(2.3, 0.35 * l)
        parts = _wheels((-0.38 * l, -0.22 * l, hl - cab_l / 2), w, b, r)
        parts += [_box(hl - cab_l, hl, -hw, hw, b + 0.6 * r, hh - 0.35, cab),
                  _box(hl - 0.04, hl, -hw + 0.15, hw - 0.15, hh - 1.25, hh - 0.55, (90, 70, 55)),
                  _box(-hl, hl - cab_l - 0.1, -hw, hw, b + 1.0, hh, cargo)]
        if category == "vehicle.construction":  # a boom on top
            parts.append(_box(-0.2 * l, 0.3 * l, -0.15, 0.15, hh - 0.4, hh, (20, 20, 20)))
        return parts
    if category in ("vehicle.bus.rigid", "vehicle.bus.bendy"):
        r = 0.5
        body = _pick(rng, ((30, 200, 240), (40, 40, 190), (170, 100, 30), (230, 230, 230)))
        glass = (70, 55, 45)
        parts = _wheels((-0.3 * l, 0.3 * l) if category.endswith("rigid") else (-0.38 * l, 0.0, 0.38 * l), w, b, r)
        parts.append(_box(-hl, hl, -hw + 0.02, hw - 0.02, b + 0.55 * r, hh, body))
        for side in (1, -1):  # window rows, thin panels on both sides
            y0 = side * (hw - 0.02)
            parts.append(_box(-hl + 0.4, hl - 0.6, min(y0, y0 + side * 0.02), max(y0, y0 + side * 0.02),
                              b + 0.5 * h, b + 0.85 * h, glass))
        parts.append(_box(hl - 0.02, hl, -hw + 0.1, hw - 0.1, b + 0.4 * h, b + 0.88 * h, glass))
        parts.append(_box(-hl, -hl + 0.02, -hw + 0.25, hw - 0.25, b + 0.55 * h, b + 0.85 * h, glass))
        if category.endswith("bendy"):
            parts.append(_box(-0.03 * l, 0.03 * l, -hw, hw, b + 0.3, hh, (40, 40, 40)))
        return parts
    if category == "vehicle.trailer":
        r = 0.5
        body = _pick(rng, ((200, 200, 200), (150, 150, 150), (120, 70, 40), (60, 60, 150)))
        stripe = _pick(rng, ((30, 30, 200), (30, 150, 230), (40, 40, 40)))
        parts = _wheels((-0.42 * l, -0.3 * l), w, b, r)
        parts += [_box(0.3 * l, 0.3 * l + 0.25, -hw + 0.3, hw - 0.3, b, b + 1.15, (50, 50, 50)),  # landing legs
                  _box(-hl, hl, -hw, hw, b + 1.15, hh, body)]
        for side in (1, -1):
            y0 = side * hw
            parts.append(_box(-hl + 0.2, hl - 0.2, min(y0, y0 - side * 0.02), max(y0, y0 - side * 0.02),
                              b + 1.5, b + 1.8, stripe))
        return parts
    if category == "vehicle.motorcycle" or category == "vehicle.bicycle":
        bike = category == "vehicle.bicycle"
        r = 0.34 if bike else 0.32
        frame = _pick(rng, ((30, 30, 30), (40, 40, 180), (170, 120, 40), (200, 200, 200)))
        parts = [Part("ring" if bike else "disk", (x, 0.0, b + r), (r, 0.06 if bike else 0.14, 0.0), DARK)
                 for x in (-hl + r, hl - r)]
        if bike:
            parts += [_box(-hl + r, hl - r, -0.03, 0.03, b + 0.62, b + 0.68, frame),
                      _box(-0.1 * l, -0.05 * l, -0.03, 0.03, b + r, b + 0.8, frame),
                      _box(0.25 * l, 0.3 * l, -hw, hw, b + 0.82, b + 0.87, frame),
                      _box(-0.45 * l, -0.3 * l, -hw, hw, b + 0.7, b + 0.76, frame)]  # rack with panniers
        else:
            parts += [_box(-0.3 * l, 0.3 * l, -0.2, 0.2, b + 0.8 * r, b + 0.8, frame),
                      _box(0.26 * l, 0.3 * l, -hw, hw, b + 0.85, b + 0.92, (40, 40, 40)),
                      _box(-0.45 * l, -0.28 * l, -hw, hw, b + 0.3, b + 0.45, (60, 60, 60))]  # pegs, exhaust
        if rider:
            top = (200, 200, 200) if not bike else None
            body = _person(0.7, 0.6 * w, h, b, _pick(rng, CLOTHES), (60, 50, 40), _pick(rng, SKIN) if bike else (30, 30, 30),
                           rng, x=-0.12 * l, top=top)
            parts += [p for p in body[2:]] + [_box(-0.2 * l, 0.0, -0.3 * w, 0.3 * w, b + 0.5, b + 0.47 * h, (60, 50, 40))]
        return parts
    if category.startswith("human.pedestrian") and category != "human.pedestrian.stroller":
        shirt, top = _pick(rng, CLOTHES), None
        if category.endswith("construction_worker"):
            shirt, top = (20, 140, 250), (20, 220, 250)
        elif category.endswith("police_officer"):
            shirt, top = (90, 40, 20), (240, 240, 240)
        return _person(l, w, h, b, shirt, _pick(rng, ((90, 60, 40), (40, 40, 40), (130, 130, 130))),
                       _pick(rng, SKIN), rng, stride=stride, top=top)
    if category == "human.pedestrian.stroller":
        c = _pick(rng, CLOTHES)
        return ([Part("disk", (x, s * (hw - 0.03), b + 0.12), (0.12, 0.04, 0.0), DARK) for x in (-0.3 * l, 0.3 * l)
                 for s in (1, -1)] + [_box(-hl, 0.3 * l, -hw, hw, b + 0.3, b + 0.8, c),
                                      _box(-hl, -0.3 * l, -hw, hw, b + 0.8, hh, c)])
    if category == "movable_object.barrier":
        parts = [_box(-hl, hl, -hw, hw, b, b + 0.2 * h, (60, 60, 60))]
        n = 5
        for i in range(n):
            x0 = -hl + i * l / n
            parts.append(_box(x0, x0 + l / n, -hw * 0.4, hw * 0.4, b + 0.2 * h, hh,
                              (40, 40, 210) if i % 2 == 0 else (235, 235, 235)))
        return parts
    if category == "movable_object.trafficcone":
        return [_box(-hl, hl, -hw, hw, b, b + 0.08, (20, 20, 20)),
                _box(-0.3 * l, 0.3 * l, -0.3 * w, 0.3 * w, b + 0.08, b + 0.45 * h, (20, 110, 250)),
                _box(-0.22 * l, 0.22 * l, -0.22 * w, 0.22 * w, b + 0.45 * h, b + 0.6 * h, (240, 240, 240)),
                _box(-0.15 * l, 0.15 * l, -0.15 * w, 0.15 * w, b + 0.6 * h, hh, (20, 110, 250))]
    if category == "movable_object.pushable_pullable":
        c = _pick(rng, ((40, 120, 40), (80, 80, 80), (40, 60, 130)))
        return [_box(-hl, hl, -hw, hw, b + 0.05, hh - 0.06, c), _box(-hl, hl, -hw, hw, hh - 0.06, hh, (30, 30, 30))]
    if category == "animal":
        fur = _pick(rng, ((40, 70, 110), (30, 30, 30), (150, 170, 190)))
        return ([_box(x - 0.05, x + 0.05, y - 0.05, y + 0.05, b, b + 0.45 * h, fur)
                 for x in (-0.3 * l, 0.25 * l) for y in (-0.25 * w, 0.25 * w)]
                + [_box(-hl + 0.1, 0.3 * l, -hw, hw, b + 0.4 * h, b + 0.8 * h, fur),
                   _box(0.3 * l, hl, -0.3 * w, 0.3 * w, b + 0.6 * h, hh, fur)])
    raise ValueError(f"no shape for category {category!r}")


# Unlabelled scenery (never annotated): buildings, trees, poles.
def building_parts(l, w, h, rng) -> list[Part]:
    wall = tuple(int(v) for v in rng.integers(70, 200, 3))
    parts = [_box(-l / 2, l / 2, -w / 2, w / 2, -h / 2, h / 2, wall)]
    return parts


def tree_parts(h, rng) -> list[Part]:
    green = (int(rng.integers(30, 70)), int(rng.integers(90, 150)), int(rng.integers(30, 80)))
    c = 1.2 + 0.6 * float(rng.random())
    return [_box(-0.15, 0.15, -0.15, 0.15, -h / 2, -h / 2 + 0.45 * h, (40, 60, 90)),
            _box(-c, c, -c, c, -h / 2 + 0.4 * h, h / 2, green)]


def pole_parts(h) -> list[Part]:
    return [_box(-0.1, 0.1, -0.1, 0.1, -h / 2, h / 2, (110, 110, 115)),
            _box(-0.3, 0.3, -0.3, 0.3, h / 2 - 1.0, h / 2 - 0.3, (40, 40, 40))]
