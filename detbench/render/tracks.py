"""Render a sequence's tracks over its images: boxes coloured by id, ID switches marked.

Frames without an image on disk are drawn on a grey canvas of the sequence's size, so a
sequence can always be looked at (the real fixture ships images for only two keyframes).
:func:`show_tracks` is ``detbench show-tracks``: it finds the results, the sequence and its images.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from detbench.compare.attribution import find_switches
from detbench.core import paths
from detbench.core.errors import InputError
from detbench.core.fileio import ensure_writable
from detbench.data import layout, mot


def id_colour(track_id: int) -> tuple[int, int, int]:
    """A stable, well-spread BGR colour per id (golden-ratio hue walk)."""
    import colorsys

    h = (int(track_id) * 0.61803398875) % 1.0
    r, g, b = colorsys.hsv_to_rgb(h, 0.85, 1.0)
    return int(b * 255), int(g * 255), int(r * 255)


def render_tracks(seq_dir: Path, results: Path, out_dir: Path, image_root: Path | None = None,
                  scale: float = 0.5, gif: bool = True, max_frames: int | None = None) -> dict:
    """Draw ``results`` (MOT file) over the frames of ``seq_dir``; write PNGs and an animated GIF.

    Returns ``{"frames": [png paths], "gif": path or None, "switches": n}``.
    """
    import cv2
    from PIL import Image

    info = mot.read_seqinfo(layout.seqinfo_file(seq_dir))
    frames_json = layout.frames_file(seq_dir)
    frames = mot.read_frames_json(frames_json) if frames_json.is_file() else [{} for _ in range(info.length)]
    res = mot.read_mot(results)
    gt_file = layout.gt_file(seq_dir)
    switches = []
    if gt_file.is_file():
        from detbench.evaluate.ignore import apply_ignore_rows

        # switches as eval sees them: without the results that ignore rows take (all are drawn)
        per_class = not mot.class_less(res)  # class-less results are scored class-agnostically
        gt, kept = apply_ignore_rows(mot.read_mot(gt_file, kind="gt", include_ignored=True), res, per_class)
        switches = find_switches(gt, kept, info.length, info.width, info.height, per_class=per_class)
    switch_at = {}
    for s in switches:
        switch_at.setdefault(s.frame, []).append(s)
    per_frame = mot.split_by_frame(res, info.length)
    out_dir.mkdir(parents=True, exist_ok=True)
    pngs, pil_frames = [], []
    n = info.length if max_frames is None else min(info.length, max_frames)
    for f in range(n):
        img = _load(frames[f].get("image") if f < len(frames) else None, image_root, info)
        for row in per_frame[f]:
            x1, y1, x2, y2 = (int(round(v)) for v in mot.mot_to_boxes(row[None])[0])
            colour = id_colour(int(row[mot.ID]))
            cv2.rectangle(img, (x1, y1), (x2, y2), colour, 3)
            cv2.putText(img, f"{int(row[mot.ID])}", (x1, max(15, y1 - 6)), cv2.FONT_HERSHEY_SIMPLEX, 0.9, colour, 2)
        for s in switch_at.get(f + 1, []):
            row = res[(res[:, mot.FRAME] == f + 1) & (res[:, mot.ID] == s.track_id)]
            if len(row):
                x1, y1, x2, y2 = (int(round(v)) for v in mot.mot_to_boxes(row[:1])[0])
                cv2.rectangle(img, (x1 - 6, y1 - 6), (x2 + 6, y2 + 6), (0, 0, 255), 5)
                cv2.putText(img, f"IDSW {s.prev_track_id}->{s.track_id} ({s.cause})", (x1, y2 + 28),
                            cv2.FONT_HERSHEY_SIMPLEX, 0.8, (0, 0, 255), 2)
        cv2.rectangle(img, (0, 0), (img.shape[1], 56), (0, 0, 0), -1)
        cv2.putText(img, f"{info.name}  frame {f + 1}/{info.length}  switches so far: "
                         f"{sum(1 for s in switches if s.frame <= f + 1)}", (20, 40),
                    cv2.FONT_HERSHEY_SIMPLEX, 1.1, (255, 255, 255), 3)
        if scale != 1.0:
            img = cv2.resize(img, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        path = out_dir / f"{f + 1:06d}.png"
        cv2.imwrite(str(path), img)
        pngs.append(path)
        if gif:
            pil_frames.append(Image.fromarray(cv2.cvtColor(img, cv2.COLOR_BGR2RGB)).quantize(colors=128))
    gif_path = None
    if gif and pil_frames:
        gif_path = out_dir / f"{info.name}.gif"
        pil_frames[0].save(gif_path, save_all=True, append_images=pil_frames[1:],
                           duration=int(1000 / max(info.frame_rate, 0.1)), loop=0)
    return {"frames": pngs, "gif": gif_path, "switches": len(switches)}


def _load(image: str | None, image_root: Path | None, info: mot.SeqInfo) -> np.ndarray:
    import cv2

    if image and image_root is not None and (Path(image_root) / image).is_file():
        img = cv2.imread(str(Path(image_root) / image), cv2.IMREAD_COLOR)
        if img is not None:
            return img
    return np.full((info.height, info.width, 3), 60, dtype=np.uint8)


def show_tracks(data_dir: str | Path, seq: str, split: str = "val", tracks_dir: str | Path | None = None,
                detector: str | None = None, tracker: str | None = None, out: str | Path | None = None,
                scale: float = 0.5, max_frames: int | None = None, run: str | None = None) -> dict:
    """Render sequence ``seq`` of ``split`` of the prepared dataset ``data_dir`` with the tracks of
    ``tracks_dir`` (``<seq>.txt``; default: where ``detbench track`` writes ``detector`` of ``run``
    (default the latest) with ``tracker``, ``runs/tracks/<run>-epoch<N>/<tracker>/``; both needed then),
    images from the dataset's ``dataroot``, into ``out`` (default ``<tracks_dir>/render/<seq>/``).

    Returns :func:`render_tracks`'s dict plus ``"out_dir"``; InputError before drawing anything
    when the results file or the sequence is missing.
    """

    if tracks_dir is None:
        if not (detector and tracker):
            raise InputError("give --tracks DIR, or --detector and --tracker")
        from detbench.runs import detector_ref

        tracks_dir = paths.tracks_dir(detector_ref(detector, run).label(), tracker)
    tracks_dir, data_dir = Path(tracks_dir), Path(data_dir)
    results = tracks_dir / f"{seq}.txt"
    if not results.is_file():
        raise InputError(f"{results}: no tracking results for sequence {seq!r}")
    data = layout.PreparedDataset(data_dir)
    seq_dir = data.seq_dir(split, seq)
    if not seq_dir.is_dir():
        raise InputError(f"{seq_dir}: sequence not found in split {split!r}")
    meta = data.meta if data.exists() else {}
    image_root = Path(meta["dataroot"]) if "dataroot" in meta else None
    out_dir = Path(out) if out else tracks_dir / "render" / seq

    ensure_writable(out_dir, "track images", inputs={"--tracks": tracks_dir, "--data": data_dir, "images": image_root},
                    inside_ok=("--tracks",))  # beside the results it draws, never over them
    r = render_tracks(seq_dir, results, out_dir, image_root=image_root, scale=scale, max_frames=max_frames)
    return {**r, "out_dir": out_dir}
