"""MOTChallenge files: ground truth, tracker results, external detections, seqinfo.ini.

Row formats (1-based frames, top-left + size in pixels, class ids 1..7):

- ground truth and results: ``frame,id,x,y,w,h,score,class,visibility``
  (missing visibility -> 1.0). Results may stop after ``score`` or ``h``, or be MOTChallenge's
  10-column ``frame,id,x,y,w,h,score,-1,-1,-1`` (MOT16/17: the last three are world coordinates,
  unused in 2D): a result without a class (no class column, or class -1) has class
  :data:`NO_CLASS` in memory, and a file is class-less or classed throughout.
- in ground truth, column 7 is MOTChallenge's *consider* flag: 0 marks an **ignore row** (a box
  that is neither to be found nor to be counted against a result found on it: filtered by
  ``prepare``'s size / visibility / lidar+radar-points rules, or of a category outside the seven
  classes, which has class id 0); any other value is a considered box. ``read_mot(kind="gt")``
  returns only considered rows unless ``include_ignored=True``; only ``detbench eval`` needs
  the ignore rows (:mod:`detbench.evaluate.ignore`).
- external detections: ``frame,-1,x,y,w,h,score[,class]``, or MOTChallenge's 10-column
  ``frame,-1,x,y,w,h,score,-1,-1,-1``: class -1 or no class column is a class-less file
  (:func:`read_mot_det_file`), never silently a class.

Readers validate every row and raise :class:`InputError` naming the file, the line and the
problem. In memory a MOT table is a float64 array (K, 9) with the columns above.
"""
from __future__ import annotations

import configparser
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from detbench.core.classes import NUM_CLASSES
from detbench.core.errors import InputError
from detbench.core.fileio import atomic_write_text, read_json
from detbench.core.types import as_detections, as_tracks
from detbench.data.layout import is_sequence_dir

FRAME, ID, X, Y, W, H, SCORE, CLASS, VIS = range(9)
CONSIDER = SCORE  # ground truth: the consider flag (0: ignore row)
IGNORE_CLASS = 0  # class id of an ignore row whose category is outside the seven classes
NO_CLASS = -1  # class id of a result or detection without one (MOTChallenge's -1, or no class column)
MOT_COLS = 9
MOT_WORLD_COLS = 10  # MOTChallenge's frame,id,x,y,w,h,score,x,y,z (world coordinates -1 in 2D)


def _parse_rows(path: Path, min_cols: int, max_cols: int) -> list[tuple[int, list[str]]]:
    if not path.is_file():
        raise InputError(f"{path}: file not found")
    rows = []
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            parts = [p.strip() for p in line.split(",")]
            if not (min_cols <= len(parts) <= max_cols):
                raise InputError(f"{path}:{lineno}: expected {min_cols} to {max_cols} comma-separated "
                                 f"values, got {len(parts)}: {line[:80]!r}")
            rows.append((lineno, parts))
    return rows


def _as_int(path: Path, lineno: int, field: str, text: str) -> int:
    try:
        value = float(text)
    except ValueError:
        raise InputError(f"{path}:{lineno}: {field} {text!r} is not a number") from None
    if not np.isfinite(value) or value != int(value):
        raise InputError(f"{path}:{lineno}: {field} {text!r} is not an integer")
    return int(value)


def _as_float(path: Path, lineno: int, field: str, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise InputError(f"{path}:{lineno}: {field} {text!r} is not a number") from None
    if not np.isfinite(value):
        raise InputError(f"{path}:{lineno}: {field} is {text!r}, not a finite number")
    return value


def _class_id(path: Path, lineno: int, p: list[str]) -> int:
    """A result or detection row's class id: 1..7, or :data:`NO_CLASS` (-1, or no class column).
    The world coordinates of a 10-column row must be numbers (MOTChallenge writes -1)."""
    for col in range(8, len(p)):
        _as_float(path, lineno, f"column {col + 1}", p[col])
    cls = _as_int(path, lineno, "class", p[7]) if len(p) > 7 else NO_CLASS
    if cls != NO_CLASS and not 1 <= cls <= NUM_CLASSES:
        raise InputError(f"{path}:{lineno}: class {cls} is outside 1..{NUM_CLASSES} (or -1: no class)")
    return cls


def _same_class_presence(path: Path, lineno: int, classless: bool | None, this: bool) -> bool:
    """A file has a class on every row or on none: a mixture cannot be scored either way."""
    if classless is not None and classless != this:
        raise InputError(f"{path}:{lineno}: {'no class (-1)' if this else 'a class'} here, but "
                         f"{'a class' if this else 'no class (-1)'} on the rows above: give every row a class "
                         f"id 1..{NUM_CLASSES}, or none")
    return this


def class_less(table: np.ndarray) -> bool:
    """True for a results table whose rows have no class (:data:`NO_CLASS`); an empty table has
    nothing to re-label and counts as classed."""
    t = np.asarray(table, dtype=np.float64).reshape(-1, MOT_COLS)
    return bool(len(t)) and bool((t[:, CLASS] == NO_CLASS).all())


def considered(table: np.ndarray) -> np.ndarray:
    """Boolean mask of a ground-truth table's considered rows (consider flag != 0)."""
    return np.asarray(table, dtype=np.float64).reshape(-1, MOT_COLS)[:, CONSIDER] != 0


def read_mot(path: str | Path, *, kind: str = "results", include_ignored: bool = False) -> np.ndarray:
    """Read a ground-truth (``kind='gt'``) or results file into a (K, 9) float64 array.

    Rejects non-integer frames or ids, frames < 1, negative ids, non-positive sizes, non-finite values,
    class ids outside 1..7 (ground-truth ignore rows may also have class 0) and an id repeated
    within one frame (ignore rows included). Ground truth: ignore rows (consider flag 0) are
    validated and then left out unless ``include_ignored``.
    """
    path = Path(path)
    results = kind != "gt"
    rows = _parse_rows(path, 6, MOT_WORLD_COLS if results else MOT_COLS)
    out = np.zeros((len(rows), MOT_COLS), dtype=np.float64)
    seen: set[tuple[int, int]] = set()
    classless = None
    for i, (lineno, p) in enumerate(rows):
        frame = _as_int(path, lineno, "frame", p[0])
        tid = _as_int(path, lineno, "id", p[1])
        if frame < 1:
            raise InputError(f"{path}:{lineno}: frame {frame} is below 1 (MOT frames are 1-based)")
        if tid < 0:
            raise InputError(f"{path}:{lineno}: id {tid} is negative (track ids are >= 0; "
                             f"-1 marks a detections file, not {'ground truth' if kind == 'gt' else 'tracking results'})")
        x, y, w, h = (_as_float(path, lineno, n, t) for n, t in zip("xywh", p[2:6]))
        if w <= 0 or h <= 0:
            raise InputError(f"{path}:{lineno}: box size {w}x{h} is not positive")
        score = _as_float(path, lineno, "score", p[6]) if len(p) > 6 else 1.0
        if results:
            cls = _class_id(path, lineno, p)
            classless = _same_class_presence(path, lineno, classless, cls == NO_CLASS)
        else:
            cls = _as_int(path, lineno, "class", p[7]) if len(p) > 7 else 1
            lowest = IGNORE_CLASS if score == 0 else 1
            if not lowest <= cls <= NUM_CLASSES:
                raise InputError(f"{path}:{lineno}: class {cls} is outside {lowest}..{NUM_CLASSES}")
        vis = _as_float(path, lineno, "visibility", p[8]) if len(p) == MOT_COLS else 1.0
        if (frame, tid) in seen:
            raise InputError(f"{path}:{lineno}: id {tid} appears twice in frame {frame}")
        seen.add((frame, tid))
        out[i] = (frame, tid, x, y, w, h, score, cls, vis)
    if kind == "gt" and not include_ignored:
        out = out[considered(out)]
    return out


def format_mot_rows(table: np.ndarray) -> str:
    lines = []
    for r in np.asarray(table, dtype=np.float64).reshape(-1, MOT_COLS):
        lines.append(f"{int(r[FRAME])},{int(r[ID])},{r[X]:.2f},{r[Y]:.2f},{r[W]:.2f},{r[H]:.2f},"
                     f"{r[SCORE]:.4f},{int(r[CLASS])},{r[VIS]:.2f}")
    return "\n".join(lines) + ("\n" if lines else "")


def write_mot(path: str | Path, table: np.ndarray) -> Path:
    """Write a (K, 9) MOT table atomically, sorted by frame then id."""
    table = np.asarray(table, dtype=np.float64).reshape(-1, MOT_COLS)
    order = np.lexsort((table[:, ID], table[:, FRAME]))
    return atomic_write_text(path, format_mot_rows(table[order]))


def tracks_to_mot(frame: int, tracks: np.ndarray) -> np.ndarray:
    """(M, 8) tracks of one 1-based frame -> (M, 9) MOT rows (class index -> class id)."""
    t = as_tracks(tracks).astype(np.float64)
    out = np.zeros((len(t), MOT_COLS), dtype=np.float64)
    out[:, FRAME] = frame
    out[:, ID] = t[:, 4]
    out[:, X] = t[:, 0]
    out[:, Y] = t[:, 1]
    out[:, W] = t[:, 2] - t[:, 0]
    out[:, H] = t[:, 3] - t[:, 1]
    out[:, SCORE] = t[:, 5]
    out[:, CLASS] = t[:, 6] + 1
    out[:, VIS] = 1.0
    return out


def mot_to_boxes(table: np.ndarray) -> np.ndarray:
    """MOT rows -> (K, 4) xyxy boxes."""
    t = np.asarray(table, dtype=np.float64).reshape(-1, MOT_COLS)
    return np.stack([t[:, X], t[:, Y], t[:, X] + t[:, W], t[:, Y] + t[:, H]], axis=1)


def split_by_frame(table: np.ndarray, num_frames: int) -> list[np.ndarray]:
    """Rows of each frame 1..num_frames (index 0 is frame 1)."""
    t = np.asarray(table, dtype=np.float64).reshape(-1, MOT_COLS)
    frames = t[:, FRAME].astype(int)
    return [t[frames == f] for f in range(1, num_frames + 1)]


# ---------------------------------------------------------------- external detections
@dataclass(frozen=True)
class MotDetections:
    """An external detection file: ``frames`` (N, 6) per frame (index 0 = frame 1); ``has_class``
    False for a class-less file, whose rows all carry class index 0 (trackers are class-aware: one
    class for every box)."""

    frames: list[np.ndarray]
    has_class: bool


def read_mot_det_file(path: str | Path, num_frames: int | None = None) -> MotDetections:
    """Read ``frame,-1,x,y,w,h,score[,class]`` (or MOTChallenge's ``...,score,-1,-1,-1``).

    ``frames`` has ``num_frames`` entries (or as many as the largest frame). Class ids 1..7 become
    indices 0..6; class -1 or no class column makes the file class-less (every row, or none).
    Every row is checked, naming file and line: frames 1..``num_frames``, finite numbers, sizes
    not negative (a zero-size box is dropped by every tracker), scores in [0, 1].
    """
    path = Path(path)
    rows = _parse_rows(path, 7, MOT_WORLD_COLS)
    parsed, classless = [], None
    for lineno, p in rows:
        frame = _as_int(path, lineno, "frame", p[0])
        if frame < 1:
            raise InputError(f"{path}:{lineno}: frame {frame} is below 1 (MOT frames are 1-based)")
        if num_frames is not None and frame > num_frames:
            raise InputError(f"{path}:{lineno}: frame {frame} is beyond the sequence length {num_frames}")
        x, y, w, h = (_as_float(path, lineno, n, t) for n, t in zip("xywh", p[2:6]))
        if w < 0 or h < 0:
            raise InputError(f"{path}:{lineno}: box size {w:g}x{h:g} is negative")
        score = _as_float(path, lineno, "score", p[6])
        if not 0 <= score <= 1:
            raise InputError(f"{path}:{lineno}: score {score:g} is outside 0..1 (trackers threshold scores "
                             f"in [0, 1]: rescale the file's scores)")
        cls = _class_id(path, lineno, p)
        classless = _same_class_presence(path, lineno, classless, cls == NO_CLASS)
        parsed.append((frame, x, y, x + w, y + h, score, 0 if cls == NO_CLASS else cls - 1))
    n = num_frames if num_frames is not None else max((r[0] for r in parsed), default=0)
    per_frame: list[list] = [[] for _ in range(n)]
    for frame, *det in parsed:
        per_frame[frame - 1].append(det)
    frames = [as_detections(np.array(d, dtype=np.float32).reshape(-1, 6)) for d in per_frame]
    return MotDetections(frames, has_class=not classless)


def read_mot_dets(path: str | Path, num_frames: int | None = None) -> list[np.ndarray]:
    """:func:`read_mot_det_file`'s frames, for a file that must have classes (InputError for a
    class-less one: a reader that uses the class would silently see class 1 otherwise)."""
    det = read_mot_det_file(path, num_frames)
    if not det.has_class:
        raise InputError(f"{path}: detections without a class (class -1 or no class column); "
                         f"give class ids 1..{NUM_CLASSES} in column 8")
    return det.frames


def write_mot_dets(path: str | Path, dets_per_frame: list[np.ndarray]) -> Path:
    """Write detections per frame (index 0 = frame 1) as ``frame,-1,x,y,w,h,score,class``."""
    lines = []
    for i, dets in enumerate(dets_per_frame, 1):
        for d in as_detections(dets):
            lines.append(f"{i},-1,{d[0]:.2f},{d[1]:.2f},{d[2] - d[0]:.2f},{d[3] - d[1]:.2f},"
                         f"{d[4]:.4f},{int(d[5]) + 1}")
    return atomic_write_text(path, "\n".join(lines) + ("\n" if lines else ""))


# ---------------------------------------------------------------- sequences
@dataclass(frozen=True)
class SeqInfo:
    """A sequence's ``seqinfo.ini``: one scene seen by one camera."""

    name: str
    frame_rate: float
    width: int
    height: int
    length: int
    im_dir: str = "img1"
    im_ext: str = ".jpg"


def read_seqinfo(path: str | Path) -> SeqInfo:
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: file not found")
    cp = configparser.ConfigParser()
    try:
        cp.read(path, encoding="utf-8")
        s = cp["Sequence"]
        return SeqInfo(name=s.get("name", path.parent.name), frame_rate=float(s["frameRate"]),
                       width=int(s["imWidth"]), height=int(s["imHeight"]), length=int(s["seqLength"]),
                       im_dir=s.get("imDir", "img1"), im_ext=s.get("imExt", ".jpg"))
    except (KeyError, ValueError, configparser.Error) as e:
        raise InputError(f"{path}: malformed seqinfo.ini ({type(e).__name__}: {e})") from None


def write_seqinfo(path: str | Path, info: SeqInfo) -> Path:
    text = ("[Sequence]\n"
            f"name={info.name}\nimDir={info.im_dir}\nframeRate={info.frame_rate:g}\n"
            f"seqLength={info.length}\nimWidth={info.width}\nimHeight={info.height}\nimExt={info.im_ext}\n")
    return atomic_write_text(path, text)


def read_frames_json(path: str | Path) -> list[dict]:
    """``frames.json``: a list (one per frame, in order) of dicts with at least ``timestamp``
    (microseconds) and, where known, ``image`` (path), ``sample_token``, ``sample_data_token``."""
    data = read_json(path)
    frames = data["frames"] if isinstance(data, dict) and "frames" in data else data
    if not isinstance(frames, list):
        raise InputError(f"{path}: expected a list of frames")
    return frames


def list_sequences(root: str | Path) -> list[str]:
    """Sequence names under a MOTChallenge-layout folder (sub-folders with seqinfo.ini or gt/gt.txt)."""
    root = Path(root)
    if not root.is_dir():
        raise InputError(f"{root}: folder not found")
    return sorted(p.name for p in root.iterdir() if is_sequence_dir(p))
