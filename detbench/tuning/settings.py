"""Which options each (detector, tracker) pair of a comparison runs with: its own tuning, or defaults.

A tuning belongs to one (tracker, detector checkpoint, dataset, tune split) (see
:mod:`detbench.tuning.tunings`), so no detector is compared with a setting tuned for another.
"""
from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from detbench.core.errors import InputError
from detbench.data.layout import PreparedDataset
from detbench.data.splits import check_tune_split
from detbench.detect.resolved import ResolvedDetector
from detbench.tuning.tune import tracker_grid, tunable_trackers, tune_many, tune_target


def pair_settings(detectors: tuple[ResolvedDetector, ...], trackers: list[str], tracker_options: dict | None,
                  mode: str = "tuned", tune_split: str = "tune", progress=None,
                  executor=None) -> tuple[dict[tuple[str, str], dict], Counter]:
    """The options every (detector, tracker) pair runs with, decided before any tracking.

    ``detectors``: resolved on the reporting split (:mod:`detbench.detect.resolved`); their
    tunings come from the same detectors on ``tune_split``. ``mode="tuned"``: the setting
    ``detbench tune`` chose for exactly this pair (tracker, the detector's checkpoint bytes,
    dataset, ``tune_split``, the fixed options; see :mod:`detbench.tuning.tunings`); a missing one
    is an InputError naming each missing ``detbench tune`` command. ``"tune"``: run the missing
    tunings first. ``"none"``: the tracker's defaults. ``tracker_options`` ({tracker: {key:
    value}}) are fixed for every pair; one that the grid searches overrides the tuned value, and
    the pair records it. Returns ``{(det, trk): {"options", "tuning"}}`` and how many stored
    tunings were used (``{"tunings": n}``).
    """

    if mode not in ("tuned", "tune", "none"):
        raise ValueError(f"mode must be 'tuned', 'tune' or 'none', got {mode!r}")
    data_dir, split = detectors[0].data_dir, detectors[0].split
    if mode != "none":
        check_tune_split(data_dir, tune_split, split, "--tune-split")
    if mode != "none" and not PreparedDataset(data_dir).has_split(tune_split):
        raise InputError(f"{data_dir}: no split {tune_split!r} to take tunings from (prepare it, or compare "
                         f"with --no-tuned)")
    out, missing, pairs, todo, reused = {}, [], {}, [], Counter()
    for resolved in detectors:
        det, on_tune = resolved.name, resolved.on(tune_split)
        for trk in trackers:
            user = dict((tracker_options or {}).get(trk, {}))
            if mode == "none":
                out[det, trk] = {"options": user, "tuning": {"mode": "untuned"}}
                continue
            try:
                grid = tracker_grid(trk)
            except InputError:
                raise InputError(f"tracker {trk!r} has no tuning grid (grids: {', '.join(tunable_trackers())}); "
                                 f"compare it with --no-tuned") from None
            fixed = {k: v for k, v in user.items() if k not in grid}
            target = tune_target(trk, on_tune, base_options=fixed)
            pairs[det, trk] = (grid, fixed, {k: v for k, v in user.items() if k in grid}, on_tune, target)
            if target["existing"] is not None:
                reused["tunings"] += 1
            elif mode == "tune":
                if progress:
                    progress(f"tuning {det} x {trk} on {tune_split}")
                todo.append(dict(tracker=trk, source=on_tune, report_split=split, base_options=fixed))
    if todo:   # every missing tuning's grid points at once: the executor keeps all its workers busy
        tune_many(todo, executor=executor)
    for (det, trk), (grid, fixed, override, on_tune, target) in pairs.items():
        if target["existing"] is None and mode == "tune":
            target = tune_target(trk, on_tune, base_options=fixed)
        if target["existing"] is None:
            missing.append((det, trk, target["command"]))
            continue
        best = json.loads(Path(target["existing"]).read_text(encoding="utf-8"))["best"]
        out[det, trk] = {"options": {**best["options"], **override},
                         "tuning": {"mode": "tuned", "file": str(target["existing"]), "key": target["key"],
                                    "split": tune_split, "tuned": {k: best["options"][k] for k in grid},
                                    "tune_HOTA": best["HOTA"], "overridden": override}}
    if missing:
        raise InputError(f"compare --tuned: no tuning for {', '.join(f'{d} x {t}' for d, t, _ in missing)} "
                         f"on split {tune_split!r}; run " + "; ".join(f"`{c}`" for _, _, c in missing)
                         + " (or compare --tune to run them, --no-tuned for the untuned defaults)")
    return out, reused
