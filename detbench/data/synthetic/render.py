"""Painter's-algorithm renderer for items made of parts (see ``shapes``), seen from a camera.

Everything goes through one path: item frame -> world -> camera, keep only the part of each
polygon with z >= NEAR (Sutherland-Hodgman against the near plane, so no point with z <= 0 is
ever projected), project with the intrinsic matrix, fill with cv2 at 1/16 px precision.
Items are drawn far to near (distance of the item centre from the camera), parts within an item
likewise, and only faces that face the camera. The same polygons fill an id buffer to measure
how much of each labelled item is visible (``visible_pixels``).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from detbench.data.synthetic.shapes import Part

NEAR = 0.1            # metres; nothing nearer than this to the image plane is projected
SHIFT = 4             # cv2 fixed-point bits
_LIM = float(1 << 26)  # keeps clipped-but-huge coordinates inside cv2's int32 range
# unit cube corners (x, y, z) and its faces, each counter-clockwise seen from outside
_CUBE = np.array([[sx, sy, sz] for sx in (-.5, .5) for sy in (-.5, .5) for sz in (-.5, .5)])
_FACES = np.array([[4, 6, 7, 5], [0, 1, 3, 2], [2, 3, 7, 6], [0, 4, 5, 1], [1, 5, 7, 3], [0, 2, 6, 4]])
_NORMALS = np.array([[1, 0, 0], [-1, 0, 0], [0, 1, 0], [0, -1, 0], [0, 0, 1], [0, 0, -1]], dtype=float)
_CIRCLE = np.stack([np.cos(np.linspace(0, 2 * np.pi, 16, endpoint=False)), np.zeros(16),
                    np.sin(np.linspace(0, 2 * np.pi, 16, endpoint=False))], axis=1)


@dataclass
class Item:
    """A solid in the world: box centre (x, y, z), yaw about +z, parts in its own frame."""
    center: np.ndarray
    yaw: float
    parts: list[Part]
    label: int = -1          # >= 0: an annotated object (index into the sample's annotations)
    radius: float = 1.0      # bounding sphere, for culling
    layer: int = 1           # 0: drawn before everything of layer 1 (buildings behind the sidewalk)
    _cache: dict = field(default_factory=dict, repr=False)

    def rotation(self) -> np.ndarray:
        c, s = np.cos(self.yaw), np.sin(self.yaw)
        return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def clip_near(poly: np.ndarray, near: float = NEAR) -> np.ndarray | None:
    """The part of a planar polygon (k, 3) in camera coordinates with z >= near, or None."""
    inside = poly[:, 2] >= near
    if inside.all():
        return poly
    if not inside.any():
        return None
    out = []
    n = len(poly)
    for i in range(n):
        a, b = poly[i], poly[(i + 1) % n]
        if inside[i]:
            out.append(a)
        if inside[i] != inside[(i + 1) % n]:
            t = (near - a[2]) / (b[2] - a[2])
            out.append(a + t * (b - a))
    return np.array(out) if len(out) >= 3 else None


def project(points: np.ndarray, K: np.ndarray) -> np.ndarray:
    """(k, 3) camera points with z > 0 -> (k, 2) pixels."""
    if np.any(points[:, 2] <= 0):
        raise ValueError("refusing to project a point at or behind the camera plane")
    uv = points[:, :2] / points[:, 2:3]
    return np.clip(uv * K[[0, 1], [0, 1]] + K[:2, 2], -_LIM, _LIM)


def _fixed(uv: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(np.round(uv * (1 << SHIFT)), dtype=np.int32)


class Camera:
    """A pinhole camera: 4x4 world -> camera transform, intrinsics, image size."""

    def __init__(self, world_to_cam: np.ndarray, K: np.ndarray, width: int, height: int):
        self.T = np.asarray(world_to_cam, dtype=float)
        self.K = np.asarray(K, dtype=float)
        self.width, self.height = width, height
        self.position = np.linalg.inv(self.T)[:3, 3]
        # half-angles of the view cone (plus margin) for culling
        self._tx = max(self.K[0, 2], width - self.K[0, 2]) / self.K[0, 0] * 1.1
        self._ty = max(self.K[1, 2], height - self.K[1, 2]) / self.K[1, 1] * 1.1

    def scaled(self, factor: float) -> "Camera":
        K = self.K.copy()
        K[:2] *= factor
        return Camera(self.T, K, int(round(self.width * factor)), int(round(self.height * factor)))

    def to_cam(self, pts: np.ndarray) -> np.ndarray:
        return pts @ self.T[:3, :3].T + self.T[:3, 3]

    def may_see(self, center_cam: np.ndarray, radius: float) -> bool:
        x, y, z = center_cam
        if z + radius < NEAR:
            return False
        zz = max(z, 0.0) + radius
        return abs(x) - radius <= self._tx * zz + radius and abs(y) - radius <= self._ty * zz + radius


def _arrays(item: Item):
    """Part arrays of an item (built once): box centres/sizes/colours, wheel centres/radii/..."""
    if "arr" not in item._cache:
        parts = item.parts
        item._cache["arr"] = (np.array([p.center for p in parts], float).reshape(-1, 3),
                              np.array([p.size for p in parts], float).reshape(-1, 3),
                              np.array([p.colour for p in parts], float).reshape(-1, 3),
                              [p.kind for p in parts])
    return item._cache["arr"]


def item_polygons(item: Item, cam: Camera, shade: np.ndarray, center_cam: np.ndarray | None = None):
    """(kind, fixed-point pixel polygon (k, 2) int32, BGR colour, thickness) far to near; [] if unseen."""
    if center_cam is None:
        center_cam = cam.to_cam(item.center[None])[0]
    if not cam.may_see(center_cam, item.radius):
        return []
    Rc = cam.T[:3, :3] @ item.rotation()                       # item -> camera rotation
    normals_cam = _NORMALS @ Rc.T
    centres_l, sizes, colours, kinds = _arrays(item)
    centres = centres_l @ Rc.T + center_cam
    faces = ((_CUBE[None] * sizes[:, None, :]) @ Rc.T + centres[:, None, :])[:, _FACES]     # (P, 6, 4, 3)
    facing = np.einsum("fj,pfj->pf", normals_cam, faces.mean(axis=2)) < 0
    in_front = (faces[..., 2] >= NEAR).all(axis=-1)
    fK = cam.K[[0, 1], [0, 1]]
    with np.errstate(divide="ignore", invalid="ignore"):
        uv = _fixed(np.clip(faces[..., :2] / np.maximum(faces[..., 2:3], NEAR) * fK + cam.K[:2, 2], -_LIM, _LIM))
    out = []
    for i in np.argsort(-np.linalg.norm(centres, axis=1), kind="stable"):
        kind = kinds[i]
        if kind == "box":
            for f in np.nonzero(facing[i])[0]:
                if in_front[i, f]:
                    out.append(("fill", uv[i, f], colours[i] * shade[f], 0))
                else:
                    poly = clip_near(faces[i, f])
                    if poly is not None:
                        out.append(("fill", _fixed(project(poly, cam.K)), colours[i] * shade[f], 0))
            continue
        r, tyre = sizes[i, 0], sizes[i, 1]
        ring = (_CIRCLE * r) @ Rc.T + centres[i]
        if kind == "ring":
            if np.all(ring[:, 2] >= NEAR):
                px = cam.K[0, 0] * tyre / max(float(centres[i][2]), NEAR)
                out.append(("ring", _fixed(project(ring, cam.K)), colours[i] * shade[2], max(1, int(round(px)))))
        else:
            poly = clip_near(ring)
            if poly is not None:
                out.append(("fill", _fixed(project(poly, cam.K)), colours[i] * shade[2], 0))
    return out


def shading(item: Item, sun: np.ndarray) -> np.ndarray:
    """Brightness of the six item-frame faces under a directional sun (ambient + diffuse)."""
    n_world = _NORMALS @ item.rotation().T
    return 0.55 + 0.5 * np.clip(n_world @ sun, 0, None)


def draw_items(img: np.ndarray, items: list[Item], cam: Camera, sun: np.ndarray) -> None:
    """Paint items onto ``img`` (H, W, 3 uint8) far to near, layer 0 first."""
    for item, cc in _sorted(items, cam):
        for kind, uv, colour, thick in item_polygons(item, cam, shading(item, sun), cc):
            col = tuple(int(c) for c in np.clip(colour, 0, 255))
            if kind == "fill":
                cv2.fillPoly(img, [uv], col, lineType=cv2.LINE_8, shift=SHIFT)
            else:
                cv2.polylines(img, [uv], True, col, thickness=thick, lineType=cv2.LINE_8, shift=SHIFT)


def _sorted(items: list[Item], cam: Camera) -> list[tuple[Item, np.ndarray]]:
    """Items the camera may see, with their camera-frame centres, in drawing order."""
    if not items:
        return []
    cc = cam.to_cam(np.array([it.center for it in items]))
    d = np.linalg.norm(cc, axis=1)
    keep = [i for i in range(len(items)) if cam.may_see(cc[i], items[i].radius)]
    return [(items[i], cc[i]) for i in sorted(keep, key=lambda i: (items[i].layer, -d[i]))]


def visible_pixels(items: list[Item], cam: Camera, n_labels: int) -> tuple[np.ndarray, np.ndarray]:
    """Per label: (pixels visible after occlusion, pixels it would cover alone), at ``cam``'s size."""
    ids = np.zeros((cam.height, cam.width), np.int32)       # 0 = nothing, 1 = scenery, 2 + label
    alone = np.zeros(n_labels, np.int64)
    ones = np.ones(6)
    scratch = np.zeros((cam.height, cam.width), np.uint8)
    for item, cc in _sorted(items, cam):
        polys = item_polygons(item, cam, ones, cc)
        if not polys:
            continue
        fills = [uv for k, uv, _, _ in polys if k == "fill"]
        rings = [(uv, t) for k, uv, _, t in polys if k == "ring"]
        targets = [(ids, 1 if item.label < 0 else item.label + 2)]
        if item.label >= 0:
            scratch[:] = 0
            targets.append((scratch, 1))
        for buf, value in targets:
            if fills:
                cv2.fillPoly(buf, fills, value, shift=SHIFT)
            for pts, thick in rings:
                cv2.polylines(buf, [pts], True, value, thickness=thick, shift=SHIFT)
        if item.label >= 0:
            alone[item.label] += int(cv2.countNonZero(scratch))
    counts = np.bincount(ids.ravel(), minlength=n_labels + 2)[2:2 + n_labels]
    return counts.astype(np.int64), alone


def draw_flat(img: np.ndarray, polys_world: list[tuple[np.ndarray, tuple]], cam: Camera) -> None:
    """Fill flat world polygons (ground, road, markings) in the given order, clipped at the near plane."""
    for poly, colour in polys_world:
        p = clip_near(cam.to_cam(poly))
        if p is not None:
            cv2.fillPoly(img, [_fixed(project(p, cam.K))], colour, shift=SHIFT)


def sky(height: int, width: int, top, horizon) -> np.ndarray:
    t = np.linspace(0.0, 1.0, height)[:, None]
    col = (1 - t) * np.asarray(top, float) + t * np.asarray(horizon, float)
    return np.ascontiguousarray(np.broadcast_to(col[:, None, :], (height, width, 3)).astype(np.uint8))


def noise_field(rng: np.random.Generator, height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Low-frequency blotches plus Gaussian grain, split into (+, -) uint8 layers for cv2.add/subtract."""
    small = rng.normal(0, 1, (height // 40 + 2, width // 40 + 2, 4)).astype(np.float32)
    small = 8.0 * small[..., :1] + 3.0 * small[..., 1:]          # mostly brightness, a little colour
    blot = cv2.resize(small, (width, height), interpolation=cv2.INTER_CUBIC)
    field_ = blot + rng.normal(0, 5, (height, width, 3)).astype(np.float32)
    field_ = np.clip(np.round(field_), -60, 60).astype(np.int16)
    return np.clip(field_, 0, None).astype(np.uint8), np.clip(-field_, 0, None).astype(np.uint8)


@dataclass(frozen=True)
class Style:
    """How a whole dataset looks: sky, light level and colour, contrast, sensor grain.

    ``default`` is the look every detbench dataset had before styles existed (the base weights' data;
    byte-identical output). Another style stands for other cameras and light (as COCO's photos differ
    from nuScenes' cameras): the same scenes and objects, a different appearance.
    """
    name: str
    sky: tuple | None = None            # (top, horizon) BGR, replacing each scene's sky
    gain: tuple = (1.0, 1.0, 1.0)       # per-channel BGR light level and colour
    gamma: float = 1.0                  # > 1 darkens the mid-tones
    lift: float = 0.0                   # haze: added to every channel (0..255)
    grain: float = 1.0                  # sensor-noise amplitude, times the default's (low light: more)

    def tone(self, img: np.ndarray) -> np.ndarray:
        """The style's tone curve applied to a rendered uint8 BGR image (unchanged for ``default``)."""
        if self.gain == (1.0, 1.0, 1.0) and self.gamma == 1.0 and self.lift == 0.0:
            return img
        x = (np.arange(256, dtype=np.float64) / 255.0) ** self.gamma
        lut = np.stack([np.clip(np.round(255.0 * x * g + self.lift), 0, 255) for g in self.gain], axis=1)
        return cv2.LUT(img, lut.astype(np.uint8)[:, None, :])


STYLES = {
    "default": Style("default"),
    # dusk: a dim warm sky, everything darker and lower in contrast, 1.6x the sensor grain
    "dusk": Style("dusk", sky=((70, 38, 40), (95, 150, 235)), gain=(0.62, 0.68, 0.9), gamma=1.22, lift=11.0,
                  grain=1.6),
}
