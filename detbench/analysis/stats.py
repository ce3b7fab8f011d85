"""The figures of a training report, computed from every logged iteration.

Conventions (stated in the report too):

- Every std is the **population** std (ddof=0); CV = std / mean, in percent.
- An *epoch mean* is the mean of ``total`` over that epoch's logged iterations.
- **Loss series.** When the L1 term joins the total (YOLOX's no-aug phase), ``total`` changes
  meaning; the stability verdict, spikes and checkpoint ranking then use ``total - l1``
  ("total_without_l1"), otherwise ``total``.
- **Stability verdict**: post-warmup CV of the loss series < 5 % = "very stable",
  < 10 % = "stable", else "unstable" (post-warmup = epochs after the phase named ``warmup``).
- **Spike**: an iteration whose loss is more than ``SPIKE_RATIO`` x the median of the
  ``SPIKE_WINDOW`` preceding iterations (needs at least ``SPIKE_MIN_HISTORY`` of them).
- **Recommended checkpoint**: the last complete epoch, unless its epoch mean exceeds the best
  epoch mean by more than the std of the per-epoch means of its phase (then the best epoch).
"""
from __future__ import annotations

import math

import numpy as np

from detbench.analysis.logs import COMPONENTS, RunLog

SPIKE_RATIO = 1.5
SPIKE_WINDOW = 20
SPIKE_MIN_HISTORY = 5
VERY_STABLE_CV, STABLE_CV = 5.0, 10.0
TOP_K = 5


def f(x) -> float | None:
    """A JSON-safe float: None for NaN / missing."""
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


def _mean_std_cv(v: np.ndarray) -> dict:
    if len(v) == 0:
        return {"n": 0, "mean": None, "std": None, "cv_pct": None}
    m, s = float(np.mean(v)), float(np.std(v))
    return {"n": int(len(v)), "mean": m, "std": s, "cv_pct": 100.0 * s / m if m else None}


def phase_of(phases: list[dict], epoch: int) -> str:
    for ph in phases:
        if ph["first_epoch"] <= epoch <= ph["last_epoch"]:
            return ph["name"]
    return "?"


def loss_series(log: RunLog) -> tuple[str, np.ndarray]:
    """("total" | "total_without_l1", values per iteration): see the module docstring."""
    l1 = log.arrays["l1"]
    if np.nansum(np.abs(l1)) > 0:
        return "total_without_l1", log.arrays["total"] - np.nan_to_num(l1)
    return "total", log.arrays["total"]


def epoch_table(log: RunLog, series: np.ndarray) -> list[dict]:
    """One row per logged epoch: iterations, completeness, means, std, components, last LR."""
    a, rows = log.arrays, []
    for ep in np.unique(a["epoch"]):
        m = a["epoch"] == ep
        tot = a["total"][m]
        row = {"epoch": int(ep), "phase": phase_of(log.phases, int(ep)), "iters": int(m.sum()),
               "complete": bool(m.sum() >= log.iters_per_epoch), "mean_total": float(tot.mean()),
               "std_total": float(tot.std()), "mean_series": float(series[m].mean()),
               "mean_total_without_l1": float((tot - np.nan_to_num(a["l1"][m])).mean())}
        for c in COMPONENTS:
            row[c] = f(np.nanmean(a[c][m])) if np.isfinite(a[c][m]).any() else None
        row["lr_last"] = f(a["lr"][m][-1])
        rows.append(row)
    return rows


def _change(first: float, last: float) -> dict:
    ch = last - first
    return {"first_epoch_mean": first, "last_epoch_mean": last, "change": ch,
            "pct_change": 100.0 * ch / first if first else None}


def _phase_block(ph: dict, log: RunLog, epochs: list[dict]) -> dict:
    a = log.arrays
    rows = [r for r in epochs if ph["first_epoch"] <= r["epoch"] <= ph["last_epoch"]]
    out = {k: ph[k] for k in ("name", "first_epoch", "last_epoch", "lr_start", "lr_end", "shape", "augment", "l1")}
    out["epochs_logged"] = len(rows)
    out["reached"] = bool(rows)
    if not rows:
        return out
    m = (a["epoch"] >= ph["first_epoch"]) & (a["epoch"] <= ph["last_epoch"])
    out["lr_logged_first"], out["lr_logged_last"] = f(a["lr"][m][0]), f(a["lr"][m][-1])
    for key, col in (("total", "mean_total"), ("total_without_l1", "mean_total_without_l1")):
        means = np.array([r[col] for r in rows])
        out[key] = _change(float(means[0]), float(means[-1]))
        out[key]["epoch_mean_mean"], out[key]["epoch_mean_std"] = float(means.mean()), float(means.std())
    out["components"] = {c: f(np.nanmean(a[c][m])) if np.isfinite(a[c][m]).any() else None for c in COMPONENTS}
    return out


def spikes(log: RunLog, series: np.ndarray) -> list[dict]:
    """Iterations above SPIKE_RATIO x the median of the SPIKE_WINDOW preceding iterations."""
    out = []
    for i in range(SPIKE_MIN_HISTORY, len(series)):
        med = float(np.median(series[max(0, i - SPIKE_WINDOW):i]))
        if med > 0 and series[i] > SPIKE_RATIO * med:
            out.append({"step": int(log.arrays["step"][i]), "epoch": int(log.arrays["epoch"][i]),
                        "value": float(series[i]), "rolling_median": med, "ratio": float(series[i] / med)})
    return out


def _warmup_last_epoch(log: RunLog) -> int:
    return max((ph["last_epoch"] for ph in log.phases if ph["name"] == "warmup"), default=0)


def _stability(log: RunLog, name: str, series: np.ndarray, spk: list[dict]) -> dict:
    post = log.arrays["epoch"] > _warmup_last_epoch(log)
    verdict_stats = _mean_std_cv(series[post])
    cv = verdict_stats["cv_pct"]
    verdict = (None if cv is None else "very stable" if cv < VERY_STABLE_CV
               else "stable" if cv < STABLE_CV else "unstable")
    return {
        "std_convention": "population (ddof=0)",
        "all": _mean_std_cv(log.arrays["total"]),
        "post_warmup": _mean_std_cv(log.arrays["total"][post]),
        "post_warmup_from_epoch": _warmup_last_epoch(log) + 1,
        "series": name, "series_post_warmup": verdict_stats, "verdict": verdict,
        "rule": (f"post-warmup CV of {name} < {VERY_STABLE_CV:g}% = very stable, "
                 f"< {STABLE_CV:g}% = stable, else unstable"),
        "spike_rule": (f"{name} > {SPIKE_RATIO:g} x median of the {SPIKE_WINDOW} preceding iterations "
                       f"(at least {SPIKE_MIN_HISTORY})"),
        "spikes": spk[:20], "spike_count": len(spk),
        "spike_count_post_warmup": sum(s["epoch"] > _warmup_last_epoch(log) for s in spk),
    }


def _best_and_recommended(log: RunLog, epochs: list[dict], name: str) -> tuple[list[dict], dict | None]:
    complete = [r for r in epochs if r["complete"]]
    ranked = sorted(complete, key=lambda r: (r["mean_series"], r["epoch"]))[:TOP_K]
    best = [{"rank": i + 1, "epoch": r["epoch"], "mean": r["mean_series"], "mean_total": r["mean_total"],
             "phase": r["phase"]} for i, r in enumerate(ranked)]
    if not complete:
        return best, None
    last, top = complete[-1], ranked[0]
    same_phase = np.array([r["mean_series"] for r in complete if r["phase"] == last["phase"]])
    noise = float(same_phase.std())
    gap = last["mean_series"] - top["mean_series"]
    if last["epoch"] == top["epoch"]:
        pick, reason = last, f"the last complete epoch is also the lowest-{name} epoch"
    elif gap <= noise:
        pick, reason = last, (f"last complete epoch (most training, lowest LR): its mean {name} is "
                              f"{gap:.4g} above the best epoch {top['epoch']}, within the epoch-to-epoch "
                              f"std {noise:.4g} of its phase")
    else:
        pick, reason = top, (f"lowest mean {name}; the last complete epoch {last['epoch']} is {gap:.4g} "
                             f"worse, more than the epoch-to-epoch std {noise:.4g} of its phase")
    ckpt = f"epoch_{pick['epoch']}.pth"
    return best, {"epoch": pick["epoch"], "checkpoint": ckpt, "exists": (log.dir / ckpt).is_file(),
                  "mean": pick["mean_series"], "reason": reason, "gap_last_vs_best": gap, "noise_std": noise}


def _duration(log: RunLog, epochs: list[dict]) -> dict:
    a = log.arrays
    t = a["time"]
    end = {int(ep): float(t[a["epoch"] == ep][-1]) for ep in np.unique(a["epoch"])}
    end[0] = 0.0
    per = [end[r["epoch"]] - end[r["epoch"] - 1] for r in epochs if r["complete"] and r["epoch"] - 1 in end]
    per = [p for p in per if math.isfinite(p)]
    ips = a["images_per_s"][np.isfinite(a["images_per_s"])]
    mem = a["memory_mb"][np.isfinite(a["memory_mb"])]
    wall = f(t[-1])
    return {"wall_s": wall, "wall_h": wall / 3600 if wall is not None else None,
            "epoch_s_mean": float(np.mean(per)) if per else None, "epochs_timed": len(per),
            "images_per_s_mean": float(ips.mean()) if len(ips) else None,
            "memory_mb_max": float(mem.max()) if len(mem) else None}


def compute(log: RunLog) -> dict:
    """Every figure of the report as a JSON-ready dict (see the module docstring for the rules)."""
    a = log.arrays
    name, series = loss_series(log)
    epochs = epoch_table(log, series)
    l1_pos = np.nonzero(np.nan_to_num(a["l1"]) > 0)[0]
    recipe_l1 = [ph["first_epoch"] for ph in log.phases if ph.get("l1")]
    tot = a["total"]
    spk = spikes(log, series)
    best, rec = _best_and_recommended(log, epochs, name)
    expected = log.recipe.get("epochs") if isinstance(log.recipe.get("epochs"), int) else None
    return {
        "run": {"name": log.name, "dir": str(log.dir), "iterations": log.n, "iters_per_epoch": log.iters_per_epoch,
                "epochs_logged": len(epochs), "epochs_complete": sum(r["complete"] for r in epochs),
                "epochs_planned": expected,
                "truncated": bool(expected and (len(epochs) < expected or not epochs[-1]["complete"]))},
        "phases": [_phase_block(ph, log, epochs) for ph in log.phases],
        "overall": {"initial_loss": float(tot[0]), "final_loss": float(tot[-1]),
                    **{k: v for k, v in _change(float(tot[0]), float(tot[-1])).items()
                       if k in ("change", "pct_change")},
                    "first_epoch_mean": epochs[0]["mean_total"], "last_epoch_mean": epochs[-1]["mean_total"]},
        "l1": {"joins_epoch_recipe": min(recipe_l1) if recipe_l1 else None,
               "joins_step_logged": int(a["step"][l1_pos[0]]) if len(l1_pos) else None,
               "joins_epoch_logged": int(a["epoch"][l1_pos[0]]) if len(l1_pos) else None},
        "stability": _stability(log, name, series, spk),
        "best_epochs": best,
        "recommended": rec,
        "duration": _duration(log, epochs),
        "epochs": epochs,
        "warnings": list(log.warnings),
    }
