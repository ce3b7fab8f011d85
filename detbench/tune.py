"""``detbench tune``: a small grid over a tracker's main thresholds on the tuning split.

Every tracker gets the same care: the same grid size, the same objective (HOTA, ties broken by
fewer ID switches), on a split that is never the reporting split. The choice is saved to
``runs/tune/<tracker>.json``; ``detbench compare`` uses it unless ``--no-tuned``.
"""
from __future__ import annotations

import itertools
from pathlib import Path

from detbench import paths
from detbench.errors import InputError
from detbench.fileio import atomic_write_json

# tracker -> {option: values}; about 9 combinations each
GRIDS: dict[str, dict[str, list]] = {
    # detection-score thresholds reach down to 0.15 for weak detectors (a minutes-trained CPU model
    # scores its true positives around 0.05-0.25); the new-track threshold moves with them, since
    # above the scores it would block every track
    "botsort": {"track_high_thresh": [0.15, 0.3, 0.5], "new_track_thresh": [0.2, 0.4, 0.6]},
    "bytetrack": {"track_thresh": [0.15, 0.3, 0.45], "match_thresh": [0.7, 0.8, 0.9]},
    "ocsort": {"det_thresh": [0.15, 0.3, 0.5], "iou_threshold": [0.2, 0.3, 0.5]},
    "iou": {"min_score": [0.1, 0.3, 0.5], "iou_threshold": [0.2, 0.3, 0.5]},
    "trackssm": {"high_thresh": [0.15, 0.3, 0.5], "new_track_thresh": [0.2, 0.4, 0.6]},
    "trackssm-gated": {"high_thresh": [0.15, 0.3, 0.5], "new_track_thresh": [0.2, 0.4, 0.6]},
}


def grid_points(tracker: str, grid: dict[str, list] | None = None) -> list[dict]:
    grid = grid or GRIDS.get(tracker)
    if not grid:
        raise InputError(f"no tuning grid for tracker {tracker!r}; grids exist for {', '.join(sorted(GRIDS))}")
    keys = sorted(grid)
    return [dict(zip(keys, values)) for values in itertools.product(*(grid[k] for k in keys))]


def tune_jobs(jobs, gt_dir: Path, tracker: str, work_dir: Path, grid: dict | None = None,
              base_options: dict | None = None, progress=None) -> dict:
    """Track ``jobs`` with every grid point, score against ``gt_dir``; return the table and the best."""
    from detbench.compare.pipeline import evaluate_cached
    from detbench.fileio import sha256_json
    from detbench.tracking.run import track_split

    rows = []
    for point in grid_points(tracker, grid):
        options = {**(base_options or {}), **point}
        out = work_dir / sha256_json(options)[:12]
        track_split(jobs, tracker, out, options)
        overall = evaluate_cached(gt_dir, out)["overall"]
        rows.append({"options": options, "HOTA": overall["HOTA"], "IDSW": overall["IDSW"],
                     "MOTA": overall["MOTA"], "IDF1": overall["IDF1"]})
        if progress:
            progress(options, overall)
    best = max(rows, key=lambda r: (round(r["HOTA"], 6), -r["IDSW"]))
    return {"tracker": tracker, "objective": "max HOTA, then min IDSW", "grid": grid or GRIDS[tracker],
            "rows": rows, "best": best}


def tune(tracker: str, detector: str | None, data_dir: str | Path, split: str = "tune", report_split: str = "val",
         run: str | None = None, device: str = "cpu", grid: dict | None = None, progress=None,
         dets_dir: str | Path | None = None, base_options: dict | None = None) -> Path:
    """Tune ``tracker`` on ``split`` with ``detector``'s detections (or external MOT det files in
    ``dets_dir``); never reads ``report_split``."""
    from detbench.tracking.sources import from_cache, from_external

    if split == report_split:
        raise InputError(f"--split {split!r} is the reporting split: tune on a split the tables never report")
    data_dir = Path(data_dir)
    gt_dir = data_dir / "sequences" / split
    if not gt_dir.is_dir():
        raise InputError(f"{data_dir}: no split {split!r} to tune on (prepare it with --splits ...,{split})")
    if dets_dir is not None:
        jobs = from_external(dets_dir, gt_dir)
    else:
        from detbench.detect.api import ensure_detections

        if not detector:
            raise InputError("tune needs --detector (or external detections)")
        jobs = from_cache(ensure_detections(detector, data_dir, split, run=run, device=device), data_dir, split)
    result = tune_jobs(jobs, gt_dir, tracker, paths.runs_root() / "tune" / "work" / tracker, grid,
                       base_options=base_options, progress=progress)
    result.update({"detector": detector, "run": run, "data": str(data_dir), "split": split,
                   "report_split": report_split})
    return atomic_write_json(paths.runs_root() / "tune" / f"{tracker}.json", result)
