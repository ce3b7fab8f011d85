"""The detection cache: ``runs/detections/<key>/`` with ``meta.json`` + one ``<seq>.npz`` per sequence.

Key: the first 16 hex digits of the sha256 of ``{"format", "checkpoint_sha256",
"data_meta_sha256", "frames_sha256", "images_sha256", "code", "options"}`` (frames: the frame
lists read from frames.json; images: the bytes of every image, :mod:`detbench.core.imageprints`; code:
the detection code and its libraries' versions, :func:`detbench.codekeys.code_key`; options:
split, conf, nms, max_det, frames, cameras, precision), so a changed checkpoint file, dataset,
frame list, image, detection code, library or option gets its own entry.

``<seq>.npz`` (read with ``allow_pickle=False``):

- ``dets``: float32 (K, 6) ``x1, y1, x2, y2, score, class`` (original pixels, class 0..6), all frames
  concatenated in frame order;
- ``offsets``: int64 (F + 1,), frame ``i`` owns ``dets[offsets[i]:offsets[i + 1]]``;
- ``keyframe``: int32 (F,), the 1-based keyframe number of each frame, 0 for a 12 Hz sweep;
- ``timestamp``: int64 (F,), microseconds.

``meta.json`` records, per sequence, the file's sha256, frame and detection counts. A cache is
served only when meta.json parses, every expected sequence file exists and its sha256 matches;
otherwise :func:`check_cache` names the problem and the caller recomputes. The entry is a
:class:`detbench.artifacts.KeyedArtifact` (:func:`artifact`): named by its key, written atomically.
"""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from detbench.artifacts import KeyedArtifact, content_key
from detbench.core.errors import InputError
from detbench.core.fileio import read_json, sha256_file
from detbench.core.types import DET_COLS, as_detections

FORMAT = "detbench-detections-v1"


def cache_key(checkpoint_sha256: str, data_meta_sha256: str, options: dict, frames_sha256: str = "",
              images_sha256: str = "", code: dict | None = None) -> str:
    """Short content hash naming the cache directory."""
    return content_key({"format": FORMAT, "checkpoint_sha256": checkpoint_sha256,
                        "data_meta_sha256": data_meta_sha256, "frames_sha256": frames_sha256,
                        "images_sha256": images_sha256, "code": code, "options": options}, 16)


def artifact(cache_dir: str | Path, expected_sequences: list[str] | None = None) -> KeyedArtifact:
    """The cache entry ``cache_dir`` as a keyed artifact: its name is its key, and it is served
    when :func:`check_cache` finds nothing wrong."""
    cache_dir = Path(cache_dir)
    return KeyedArtifact(cache_dir, cache_dir.name, key_field=None,
                         check=lambda art: check_cache(art.path, expected_sequences))


def pack_sequence(dets_per_frame: list[np.ndarray], keyframe: list[int], timestamp: list[int]) -> bytes:
    """Per-frame detections -> the bytes of one ``<seq>.npz``."""
    dets = [as_detections(d) for d in dets_per_frame]
    offsets = np.zeros(len(dets) + 1, dtype=np.int64)
    offsets[1:] = np.cumsum([len(d) for d in dets])
    allv = np.concatenate(dets) if dets else np.zeros((0, DET_COLS), np.float32)
    buf = io.BytesIO()
    np.savez(buf, dets=allv.astype(np.float32), offsets=offsets,
             keyframe=np.asarray(keyframe, dtype=np.int32), timestamp=np.asarray(timestamp, dtype=np.int64))
    return buf.getvalue()


def load_sequence_file(path: Path) -> dict[str, np.ndarray]:
    """Load and validate one ``<seq>.npz``; InputError naming the file when it is malformed."""
    try:
        with np.load(path, allow_pickle=False) as z:
            data = {k: z[k] for k in ("dets", "offsets", "keyframe", "timestamp")}
    except (OSError, ValueError, KeyError, EOFError) as e:
        raise InputError(f"{path}: unreadable detection cache file ({type(e).__name__}: {e})") from None
    d, off = data["dets"], data["offsets"]
    n = len(data["keyframe"])
    if (d.ndim != 2 or d.shape[1] != DET_COLS or off.shape != (n + 1,) or len(data["timestamp"]) != n
            or off[0] != 0 or off[-1] != len(d) or np.any(np.diff(off) < 0)):
        raise InputError(f"{path}: detection cache file has inconsistent arrays")
    return data


def read_meta(cache_dir: str | Path) -> dict:
    """The cache's meta.json (validated). Parsed once per version of the file in a process (every
    sequence of a split reads it: a split of N sequences would otherwise parse it N times); the
    caller must not change what it returns."""
    path = Path(cache_dir) / "meta.json"
    try:
        st = path.stat()
    except OSError:
        st = None
    stamp = (str(path), st.st_ino, st.st_size, st.st_mtime_ns) if st else None
    if stamp is not None and _META_MEMO.get("stamp") == stamp:
        return _META_MEMO["meta"]
    meta = read_json(path, "detection cache meta.json not found")
    if not isinstance(meta, dict) or meta.get("format") != FORMAT or not isinstance(meta.get("sequences"), dict):
        raise InputError(f"{path}: not a {FORMAT} detection cache meta.json")
    _META_MEMO.update(stamp=stamp, meta=meta)
    return meta


_META_MEMO: dict = {}  # the last meta.json read: its (path, inode, size, mtime) and content


def check_cache(cache_dir: str | Path, expected_sequences: list[str] | None = None) -> list[str]:
    """Problems that make a cache unservable (empty list = intact)."""
    cache_dir = Path(cache_dir)
    if not cache_dir.is_dir():
        return [f"{cache_dir}: not found"]
    try:
        meta = read_meta(cache_dir)
    except InputError as e:
        return [str(e)]
    problems = []
    seqs = meta["sequences"]
    if expected_sequences is not None:
        missing = sorted(set(expected_sequences) - set(seqs))
        if missing:
            problems.append(f"{cache_dir / 'meta.json'}: sequences missing: {', '.join(missing)}")
    for seq, rec in seqs.items():
        path = cache_dir / f"{seq}.npz"
        if not path.is_file():
            problems.append(f"{path}: missing")
        elif sha256_file(path) != rec.get("sha256"):
            problems.append(f"{path}: sha256 does not match meta.json (corrupt or modified)")
    return problems


def write_cache(cache_dir: str | Path, meta: dict, sequences: dict[str, bytes]) -> Path:
    """Write all sequence files and meta.json (with their sha256) into ``cache_dir`` atomically."""
    art = artifact(cache_dir)
    meta = dict(meta, format=FORMAT)
    recs = dict(meta.get("sequences", {}))
    with art.build() as tmp:
        for seq, blob in sequences.items():
            (tmp / f"{seq}.npz").write_bytes(blob)
            recs[seq] = dict(recs.get(seq, {}), file=f"{seq}.npz", sha256=sha256_file(tmp / f"{seq}.npz"))
        meta["sequences"] = recs
        art.write_meta(tmp, meta)
    return art.path


def read_sequence_detections(cache_dir: str | Path, seq: str, frames: str = "keyframes") -> list[np.ndarray]:
    """Detections of one sequence: a list of (N, 6) float32 arrays, index 0 = frame 1.

    ``frames="keyframes"`` (default) returns one array per keyframe (the MOT ground truth's frames);
    ``frames="all"`` every cached frame in time order (12 Hz when the cache was made with
    ``--frames all``). The file's sha256 is checked against meta.json first.
    """
    cache_dir = Path(cache_dir)
    meta = read_meta(cache_dir)
    rec = meta["sequences"].get(seq)
    path = cache_dir / f"{seq}.npz"
    if rec is None:
        raise InputError(f"{cache_dir / 'meta.json'}: no sequence {seq!r} in this cache "
                         f"(has {len(meta['sequences'])}: {', '.join(sorted(meta['sequences'])[:5])}...)")
    if not path.is_file():
        raise InputError(f"{path}: missing from the detection cache (rerun detbench detect)")
    if sha256_file(path) != rec.get("sha256"):
        raise InputError(f"{path}: sha256 does not match meta.json (corrupt; rerun detbench detect)")
    data = load_sequence_file(path)
    off = data["offsets"]
    per_frame = [data["dets"][off[i]:off[i + 1]] for i in range(len(off) - 1)]
    if frames == "all":
        return per_frame
    if frames != "keyframes":
        raise ValueError(f"frames must be 'keyframes' or 'all', got {frames!r}")
    kf = data["keyframe"]
    order = [i for i in np.argsort(kf, kind="stable") if kf[i] > 0]
    if [int(kf[i]) for i in order] != list(range(1, len(order) + 1)):
        raise InputError(f"{path}: keyframe numbers are not 1..{len(order)}")
    return [per_frame[i] for i in order]
