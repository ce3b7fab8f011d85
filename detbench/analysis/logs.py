"""Read a training run directory (``runs/train/<run>/``) robustly.

Input contract (``docs/contracts.md`` section 2): ``recipe.json`` (the resolved recipe plus
``phases`` and ``iters_per_epoch``), ``run.json``, and ``log.jsonl`` with one JSON object per
training iteration: ``epoch`` (1-based), ``iter``, ``step`` (1-based global), ``lr``, ``total``,
``iou``, ``conf``, ``cls``, ``l1``, ``num_fg``, ``images_per_s``, ``memory_mb``, ``time``
(seconds since start), ``phase``.

A killed run leaves a truncated last line; a bad line is skipped with a warning naming
``file:line`` and the rest is analysed. A missing run, a missing or empty ``log.jsonl``, or a log
with no valid iteration raise :class:`~detbench.core.errors.InputError`.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from detbench.core import paths
from detbench.core.errors import InputError

REQUIRED = ("epoch", "step", "total")
NUMERIC = ("iter", "lr", "iou", "conf", "cls", "l1", "num_fg", "images_per_s", "memory_mb", "time")
COMPONENTS = ("iou", "conf", "cls", "l1")


@dataclass
class RunLog:
    """One run: its recipe, phases and per-iteration arrays (NaN where a field was not logged)."""

    name: str
    dir: Path
    recipe: dict
    run_info: dict
    phases: list[dict]
    iters_per_epoch: int
    arrays: dict[str, np.ndarray]  # epoch, step, total and NUMERIC fields, one entry per iteration
    phase_names: list[str]  # the logged ``phase`` per iteration ("" when absent)
    warnings: list[str] = field(default_factory=list)

    @property
    def n(self) -> int:
        return len(self.arrays["total"])


def resolve_run_dir(run: str | Path) -> Path:
    """A path to a run directory, or a run name under ``<runs>/train/``."""
    p = Path(run)
    if p.is_dir():
        return p
    named = paths.train_dir(str(run))
    if named.is_dir():
        return named
    raise InputError(f"{run}: no such training run (not a directory, and not found under {paths.train_root()})")


def _read_json(path: Path, warnings: list[str]) -> dict:
    if not path.is_file():
        warnings.append(f"{path}: missing")
        return {}
    try:
        obj = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        warnings.append(f"{path}: not valid JSON ({e.msg if hasattr(e, 'msg') else e}); ignored")
        return {}
    if not isinstance(obj, dict):
        warnings.append(f"{path}: not a JSON object; ignored")
        return {}
    return obj


def _number(v) -> float | None:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return None
    return float(v)


def read_log(path: Path, warnings: list[str]) -> tuple[dict[str, np.ndarray], list[str]]:
    """Parse ``log.jsonl``; skip (and warn about) lines that are not a valid iteration record."""
    if not path.is_file():
        raise InputError(f"{path}: missing (is this a `detbench train` run directory?)")
    rows: list[dict] = []
    last_step = -math.inf
    with open(path, "rb") as f:
        for lineno, raw in enumerate(f, start=1):
            line = raw.decode("utf-8", errors="replace").strip()
            if not line:
                continue
            where = f"{path}:{lineno}"
            try:
                obj = json.loads(line)
            except json.JSONDecodeError:
                warnings.append(f"{where}: not valid JSON (truncated line of a killed run?); skipped")
                continue
            if not isinstance(obj, dict):
                warnings.append(f"{where}: not a JSON object; skipped")
                continue
            vals = {k: _number(obj.get(k)) for k in REQUIRED}
            bad = [k for k, v in vals.items() if v is None or not math.isfinite(v)]
            if bad:
                warnings.append(f"{where}: missing or non-numeric {', '.join(bad)}; skipped")
                continue
            if vals["step"] <= last_step:
                warnings.append(f"{where}: step {vals['step']:g} does not follow step {last_step:g}; skipped")
                continue
            last_step = vals["step"]
            for k in NUMERIC:
                v = _number(obj.get(k))
                vals[k] = v if v is not None else math.nan
            vals["phase"] = str(obj.get("phase", ""))
            rows.append(vals)
    if not rows:
        bad = [w for w in warnings if w.startswith(f"{path}:")]
        detail = f"; {len(bad)} bad line(s), first: {bad[0]}" if bad else " (empty log)"
        raise InputError(f"{path}: no training iterations logged{detail}")
    arrays = {k: np.array([r[k] for r in rows], dtype=float) for k in REQUIRED + NUMERIC}
    arrays["epoch"] = arrays["epoch"].astype(int)
    arrays["step"] = arrays["step"].astype(int)
    return arrays, [r["phase"] for r in rows]


def _phases_from_log(arrays: dict[str, np.ndarray], names: list[str]) -> list[dict]:
    """Fallback when the recipe has no ``phases``: consecutive runs of the logged phase name."""
    phases: list[dict] = []
    for i, name in enumerate(names):
        ep = int(arrays["epoch"][i])
        if phases and phases[-1]["name"] == name:
            phases[-1]["last_epoch"] = ep
        else:
            phases.append({"name": name or "all", "first_epoch": ep, "last_epoch": ep,
                           "lr_start": None, "lr_end": None, "shape": None, "augment": None, "l1": None})
    return phases


def _valid_phases(raw, where: Path, warnings: list[str]) -> list[dict] | None:
    if not isinstance(raw, list) or not raw:
        return None
    out = []
    for i, ph in enumerate(raw):
        if not isinstance(ph, dict) or not all(isinstance(ph.get(k), int) for k in ("first_epoch", "last_epoch")):
            warnings.append(f"{where}: phases[{i}] lacks integer first_epoch/last_epoch; phases taken from the log")
            return None
        out.append({"name": str(ph.get("name", f"phase{i + 1}")), "first_epoch": ph["first_epoch"],
                    "last_epoch": ph["last_epoch"], "lr_start": _number(ph.get("lr_start")),
                    "lr_end": _number(ph.get("lr_end")), "shape": ph.get("shape"),
                    "augment": ph.get("augment"), "l1": ph.get("l1")})
    return out


def load_run(run: str | Path) -> RunLog:
    """Load a run directory (path or name under ``runs/train``) into a :class:`RunLog`."""
    d = resolve_run_dir(run)
    warnings: list[str] = []
    recipe = _read_json(d / "recipe.json", warnings)
    run_info = _read_json(d / "run.json", warnings)
    arrays, names = read_log(d / "log.jsonl", warnings)
    phases = _valid_phases(recipe.get("phases"), d / "recipe.json", warnings) or _phases_from_log(arrays, names)
    ipe = recipe.get("iters_per_epoch")
    if not isinstance(ipe, int) or ipe <= 0:
        it = arrays["iter"]
        ipe = int(np.nanmax(it)) if np.isfinite(it).any() else int(np.bincount(arrays["epoch"]).max())
        warnings.append(f"{d / 'recipe.json'}: no iters_per_epoch; using {ipe} from the log")
    return RunLog(name=d.resolve().name, dir=d, recipe=recipe, run_info=run_info, phases=phases, iters_per_epoch=ipe,
                  arrays=arrays, phase_names=names, warnings=warnings)
