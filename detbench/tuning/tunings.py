"""Where tuning results live, and the key that decides which comparison may use one.

A tuning result belongs to one (tracker, detections, dataset, tune split): it is stored as
``runs/tune/<tracker>/<detector>__<dataset>__<split>__<key16>.json``. The readable part of the
name is for people; only the key decides a lookup (:func:`find`), and the file must hold the same
full key. The key hashes everything the chosen setting depends on:

- the detections: the detection cache key of the tune split (checkpoint bytes, dataset meta.json,
  frame lists, detection options), or the bytes of each external detection file;
- the tune split's ground truth (each ``gt.txt`` and ``seqinfo.ini``) and the dataset's meta.json;
- the tracker, its fixed options resolved to full parameters minus the grid's keys, with every
  option that names a file replaced by that file's sha256 (:func:`trackers.base.input_files`:
  TrackSSM weights given by path or "latest", ReID weights);
- the grid and the objective;
- the code that tracks, scores and chooses (the tracker's own, not the other trackers') and its
  libraries' versions (:func:`tuning_code`).

So a setting tuned on one checkpoint is never used for another, and replacing weights or ground
truth in place makes the stored tuning missing rather than stale.
"""
from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

from detbench import codekeys
from detbench.core import paths
from detbench.core.errors import InputError
from detbench.core.fileio import sha256_file, sha256_json
from detbench.data.layout import PreparedDataset, gt_hashes
from detbench.tracking.run import tracker_files
from trackers import tracker_class, tracker_spec

FORMAT = "detbench-tuning-v2"
OBJECTIVE = "max HOTA, then min IDSW"


def tune_root(tracker: str) -> Path:
    return paths.runs_root() / "tune" / tracker


def fixed_params(tracker: str, base_options: dict | None, grid: dict) -> tuple[dict, dict]:
    """(the tracker's parameters outside the grid, with file options left out, {label: sha256} of
    the files the tracker reads). A fixed option the grid searches is an InputError."""

    searched = sorted(set(base_options or {}) & set(grid))
    if searched:
        raise InputError(f"tracker {tracker!r}: option(s) {', '.join(searched)} are searched by the tuning grid "
                         f"and cannot be fixed")
    spec = tracker_spec(tracker, base_options)
    files = tracker_files(spec)
    by_file = {label.split("/")[0] for label in files}
    params = {k: v for k, v in spec.resolved.items() if k not in grid and k not in by_file}
    return params, files


def tuning_code(tracker: str) -> dict:
    """The code of a tuning (tracking with ``tracker``'s class, scoring, choosing) and its
    libraries' versions (:func:`detbench.codekeys.code_key`)."""

    return codekeys.code_key(*codekeys.TUNE, codekeys.tracker_entry(tracker_class(tracker)))


def tuning_key(tracker: str, detections: dict, data_dir: Path, split: str, base_options: dict | None,
               grid: dict) -> tuple[str, dict]:
    """-> (sha256 key, the inputs it hashes); ``detections``: ``{"key": detection cache key}`` or
    ``{"external": {seq: sha256}}``."""
    data = PreparedDataset(data_dir)
    params, files = fixed_params(tracker, base_options, grid)
    meta = data.meta_file
    inputs = {"format": FORMAT, "tracker": tracker, "detections": detections,
              "data_meta_sha256": sha256_file(meta) if meta.is_file() else None, "split": split,
              "gt": gt_hashes(data.gt_dir(split)), "fixed_params": params, "files": files,
              "grid": grid, "objective": OBJECTIVE, "code": tuning_code(tracker)}
    return sha256_json(inputs), inputs


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-") or "x"


def detector_label(detector: str | None, run: str | None) -> str:
    if not detector:
        return "external"
    name = Path(detector).stem if detector.endswith(".pth") else detector
    return _slug(f"{Path(run).name}-{name}" if run else name)


def storage_path(tracker: str, key: str, detector: str | None, run: str | None, data_dir: Path, split: str) -> Path:
    label = f"{detector_label(detector, run)}__{_slug(Path(data_dir).name)}__{_slug(split)}__{key[:16]}"
    return tune_root(tracker) / f"{label}.json"


def find(tracker: str, key: str) -> Path | None:
    """The stored tuning with exactly this key, if any."""
    for path in sorted(tune_root(tracker).glob(f"*__{key[:16]}.json")):
        try:
            if json.loads(path.read_text(encoding="utf-8")).get("key") == key:
                return path
        except (OSError, json.JSONDecodeError):
            continue
    return None


def tune_command(tracker: str, detector: str, data_dir: Path, split: str, run: str | None, device: str,
                 base_options: dict | None) -> str:
    """The exact ``detbench tune`` command that writes the tuning :func:`tuning_key` names."""
    argv = ["detbench", "tune", "--tracker", tracker, "--detector", detector]
    if run:
        argv += ["--run", run]
    argv += ["--data", str(data_dir), "--split", split, "--device", device]
    for k, v in sorted((base_options or {}).items()):
        argv += ["--tracker-opt", f"{k}={v}"]
    return shlex.join(argv)
