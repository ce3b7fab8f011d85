"""One synthetic scene: a straight urban road, the ego car driving along it, actors and scenery.

Road frame: s along the road (the ego drives towards +s), d to the left; lanes (right-hand
traffic) at d = -1.75 (ego lane), -5.25 (same direction), +1.75, +5.25 (oncoming), parking at
|d| = 8.2, sidewalks 9.4 < |d| < 13, buildings beyond |d| = 14. Every actor follows a polyline in
road coordinates at constant speed after a start delay (static actors have a single point), so
lane traffic keeps its gaps, pedestrians walk, cross the road and turn, some cars turn into side
streets. Positions are exact functions of time: the renderer and the annotations use the same ones.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from detbench.data.synthetic import shapes

EGO_D = -1.75
PARK_D = 8.2
VIEW_BEHIND, VIEW_AHEAD = 60.0, 110.0


@dataclass
class Actor:
    category: str
    size: tuple            # (w, l, h)
    path: np.ndarray       # (k, 2) road-frame waypoints (s, d)
    speed: float = 0.0     # m/s along the path
    t_start: float = 0.0   # seconds before it starts moving
    heading: float = 0.0   # road-relative heading of a static actor
    rider: bool = True
    seed: int = 0          # colours of its parts
    _cum: np.ndarray = field(default=None, repr=False)

    def __post_init__(self):
        seg = np.linalg.norm(np.diff(self.path, axis=0), axis=1) if len(self.path) > 1 else np.zeros(0)
        self._cum = np.concatenate([[0.0], np.cumsum(seg)])

    def state(self, t: float) -> tuple[float, float, float, bool, float]:
        """(s, d, road-relative heading, moving, distance travelled) at time t (seconds)."""
        if len(self.path) == 1 or self.speed == 0:
            return float(self.path[0, 0]), float(self.path[0, 1]), self.heading, False, 0.0
        dist = float(np.clip((t - self.t_start) * self.speed, 0.0, self._cum[-1]))
        i = int(np.clip(np.searchsorted(self._cum, dist, side="right") - 1, 0, len(self.path) - 2))
        a, b = self.path[i], self.path[i + 1]
        u = (dist - self._cum[i]) / max(self._cum[i + 1] - self._cum[i], 1e-9)
        p = a + u * (b - a)
        heading = float(np.arctan2(b[1] - a[1], b[0] - a[0]))
        moving = 0.0 < (t - self.t_start) * self.speed < self._cum[-1]
        return float(p[0]), float(p[1]), heading, moving, dist

    def parts(self, dist: float) -> list:
        rng = np.random.default_rng(self.seed)
        return shapes.parts_for(self.category, self.size, rng, rider=self.rider, phase=dist / 0.35)


@dataclass
class Scene:
    origin: np.ndarray      # global (x, y) of road s = 0, d = 0
    psi: float              # road heading in the global frame
    ego_speed: float       # constant, so traffic in the ego lane keeps its distance
    actors: list[Actor]
    scenery: list[tuple]    # (s, d, road-relative yaw, l, w, h, kind, seed)
    side_streets: list[float]
    sky_top: tuple
    sky_horizon: tuple
    ground: tuple
    asphalt: tuple
    sun: np.ndarray

    def to_global(self, s: float, d: float) -> tuple[float, float]:
        c, n = np.cos(self.psi), np.sin(self.psi)
        return float(self.origin[0] + s * c - d * n), float(self.origin[1] + s * n + d * c)

    def ego_s(self, t: float) -> float:
        return self.ego_speed * t


VEHICLE_MIX = (("vehicle.car", 0.66), ("vehicle.truck", 0.1), ("vehicle.bus.rigid", 0.06), ("vehicle.bus.bendy", 0.02),
               ("truck+trailer", 0.06), ("vehicle.motorcycle", 0.1))
PARKED_MIX = (("vehicle.car", 0.6), ("vehicle.truck", 0.08), ("vehicle.trailer", 0.08), ("vehicle.motorcycle", 0.08),
              ("vehicle.bicycle", 0.06), ("vehicle.construction", 0.04), ("movable_object.barrier", 0.06))
WALK_MIX = (("human.pedestrian.adult", 0.6), ("human.pedestrian.child", 0.1),
            ("human.pedestrian.construction_worker", 0.05), ("human.pedestrian.police_officer", 0.04),
            ("vehicle.bicycle", 0.1), ("human.pedestrian.stroller", 0.02), ("animal", 0.03),
            ("movable_object.trafficcone", 0.03), ("movable_object.pushable_pullable", 0.03))


def _choose(rng, mix):
    names, p = zip(*mix)
    return names[int(rng.choice(len(names), p=np.asarray(p) / sum(p)))]


def _fill_line(rng, lo, hi, mix, gap, forced):
    """Categories and centre positions along one line, front to back gaps in ``gap``; ``forced``
    maps a position to a category placed at the first free slot at or after it."""
    out, s, pending = [], lo + float(rng.uniform(*gap)), sorted(forced.items())
    while s < hi:
        if pending and s >= pending[0][0] - 6:
            cat = pending.pop(0)[1]
        else:
            cat = _choose(rng, mix)
        cats = ["vehicle.truck", "vehicle.trailer"] if cat == "truck+trailer" else [cat]
        for c in cats:
            size = shapes.sample_size(c, rng, rider=True)
            out.append((c, size, s + size[1] / 2))
            s += size[1] + (0.8 if len(cats) > 1 else 0.0)
        s += float(rng.uniform(*gap))
    return out


def make_scene(rng: np.random.Generator, duration: float) -> Scene:
    """A random scene lasting ``duration`` seconds; the guaranteed cast puts one object of each
    tracking class (and a barrier and an animal) in front of the ego camera at the start."""
    ego_v = float(rng.uniform(4.0, 10.0))
    ego_end = ego_v * duration
    seed_of = lambda: int(rng.integers(1 << 31))  # noqa: E731
    actors: list[Actor] = []
    streets = sorted(float(s) for s in rng.uniform(20, ego_end + 80, size=1 + int(ego_end // 120)))
    # traffic lanes: (d, signed speed, forced categories at t = 0)
    lanes = [(EGO_D, ego_v, {16.0: "vehicle.car"}), (-5.25, ego_v + float(rng.uniform(-2, 2)), {22.0: "vehicle.truck"}),
             (1.75, -float(rng.uniform(6, 11)), {45.0: "vehicle.motorcycle"}), (5.25, -float(rng.uniform(6, 11)), {})]
    for d, v, forced in lanes:
        v = max(v, 2.0) if v > 0 else v
        rel = ego_end - v * duration  # how far the ego gains on this lane over the scene
        lo, hi = min(0.0, rel) - VIEW_BEHIND, max(0.0, rel) + VIEW_AHEAD
        for cat, size, s0 in _fill_line(rng, lo, hi, VEHICLE_MIX, (8.0, 40.0), forced):
            if d == EGO_D and -12.0 < s0 < 12.0:
                continue  # the ego occupies this stretch of its lane
            end = s0 + np.sign(v) * (abs(v) * duration + 400)
            path = np.array([[s0, d], [end, d]])
            turn = d in (-5.25, 5.25) and cat == "vehicle.car" and rng.random() < 0.35 and streets
            if turn:  # leave the road into a side street along a 6 m arc
                st = streets[int(rng.integers(len(streets)))]
                if (st - s0) * np.sign(v) > 8:
                    r, side = 6.0, np.sign(d)
                    ang = np.linspace(0, np.pi / 2, 7)
                    arc = np.stack([st - np.sign(v) * r + np.sign(v) * r * np.sin(ang),
                                    d + side * r * (1 - np.cos(ang))], axis=1)
                    path = np.vstack([[[s0, d]], arc, [[st, d + side * 80]]])
            actors.append(Actor(cat, size, path, abs(v), 0.0, 0.0 if v > 0 else np.pi,
                                rider=True, seed=seed_of()))
    # parked vehicles on both sides
    for side, forced in ((-1, {26.0: "vehicle.bus.rigid"}), (1, {32.0: "vehicle.trailer"})):
        for cat, size, s0 in _fill_line(rng, -VIEW_BEHIND, ego_end + VIEW_AHEAD, PARKED_MIX, (2.0, 22.0), forced):
            if any(abs(s0 - st) < 5 + size[1] / 2 for st in streets):
                continue
            heading = 0.0 if side < 0 else float(np.pi * (rng.random() < 0.5))
            actors.append(Actor(cat, size, np.array([[s0, side * PARK_D]]), heading=heading,
                                rider=cat not in ("vehicle.bicycle", "vehicle.motorcycle"), seed=seed_of()))
    # sidewalks: walkers, cyclists, street furniture
    for side, forced in ((-1, {14.0: "human.pedestrian.adult", 20.0: "vehicle.bicycle", 30.0: "movable_object.barrier"}),
                         (1, {28.0: "animal"})):
        for cat, size, s0 in _fill_line(rng, -VIEW_BEHIND, ego_end + VIEW_AHEAD, WALK_MIX, (1.5, 14.0), forced):
            d = side * float(rng.uniform(10.0, 12.6))
            static = cat.startswith("movable_object") or rng.random() < 0.25
            if static:
                heading = float(rng.uniform(-np.pi, np.pi)) if cat.startswith("human") else 0.0
                actors.append(Actor(cat, size, np.array([[s0, d]]), heading=heading,
                                    rider=not (cat == "vehicle.bicycle"), seed=seed_of()))
                continue
            v = float(rng.uniform(3.0, 5.0) if cat == "vehicle.bicycle" else rng.uniform(0.9, 1.6))
            direction = 1.0 if rng.random() < 0.5 else -1.0
            actors.append(Actor(cat, size, np.array([[s0, d], [s0 + direction * 300, d]]), v,
                                float(rng.uniform(0, 1)), rider=True, seed=seed_of()))
    # pedestrians crossing the road and turning onto the far sidewalk, timed to be off the road
    # before the ego reaches the crossing or to start once it has passed
    for _ in range(1 + int(ego_end // 50)):
        sc = float(rng.uniform(25, ego_end + 45))
        side = 1.0 if rng.random() < 0.5 else -1.0
        walk = float(rng.uniform(-6, 6))
        path = np.array([[sc + walk, side * 11.0], [sc, side * 11.0], [sc, -side * 11.0],
                         [sc + float(rng.choice([-1, 1])) * 40, -side * 11.0]])
        cat = _choose(rng, WALK_MIX[:4])
        v = float(rng.uniform(1.0, 1.6))
        t_ego = sc / ego_v
        off_road = (abs(walk) + 1.6 + 18.8) / v
        if sc > ego_end + 10:
            t0 = float(rng.uniform(-off_road, duration))
        elif rng.random() < 0.6:
            t0 = t_ego - 1.0 - off_road - float(rng.uniform(0, 4))
        else:
            t0 = t_ego + 1.0 + float(rng.uniform(0, 4))
        actors.append(Actor(cat, shapes.sample_size(cat, rng), path, v, t0, seed=seed_of()))
    scenery = []
    for side in (-1, 1):
        s = -VIEW_BEHIND - 60
        while s < ego_end + VIEW_AHEAD + 80:
            l, w, h = float(rng.uniform(8, 30)), float(rng.uniform(8, 20)), float(rng.uniform(5, 25))
            if not any(abs(s + l / 2 - st) < l / 2 + 6 for st in streets):
                scenery.append((s + l / 2, side * (14.0 + w / 2 + float(rng.uniform(0, 4))), 0.0, l, w, h, "building",
                                seed_of()))
            s += l + float(rng.uniform(1, 8))
        s = -VIEW_BEHIND
        while s < ego_end + VIEW_AHEAD:
            kind = "tree" if rng.random() < 0.6 else "pole"
            scenery.append((s, side * 13.4, 0.0, 0.3, 0.3, float(rng.uniform(5, 9)), kind, seed_of()))
            s += float(rng.uniform(10, 30))
    sun_az, sun_el = float(rng.uniform(-np.pi, np.pi)), float(rng.uniform(0.3, 1.1))
    sun = np.array([np.cos(sun_el) * np.cos(sun_az), np.cos(sun_el) * np.sin(sun_az), np.sin(sun_el)])
    jitter = lambda base, a: tuple(int(np.clip(c + rng.integers(-a, a + 1), 0, 255)) for c in base)  # noqa: E731
    return Scene(origin=np.array([float(rng.uniform(200, 2000)), float(rng.uniform(200, 2000))]),
                 psi=float(rng.uniform(-np.pi, np.pi)), ego_speed=ego_v, actors=actors,
                 scenery=scenery, side_streets=streets, sky_top=jitter((200, 150, 110), 25),
                 sky_horizon=jitter((235, 215, 200), 15), ground=jitter((80, 110, 100), 15),
                 asphalt=jitter((85, 85, 88), 12), sun=sun)
