"""Write a sensitivity study (dict from :func:`detbench.sensitivity.study.run_study`) as md, csv, json."""
from __future__ import annotations

from pathlib import Path

from detbench.core.reports import csv_text as csv_table
from detbench.core.reports import plots_section, write_tables
from detbench.evaluate import metric_specs
from detbench.sensitivity import axes as ax
from detbench.sensitivity.bands import METRICS


def _fmt(metric: str, v) -> str:
    """A ratio in percent, a count (IDSW per run: a mean over seeds) with one decimal."""
    if v is None:
        return "—"
    return f"{v:.1f}" if metric_specs.spec(metric).is_count else f"{100 * v:.1f}"


def _cell(metric: str, m: dict | None) -> str:
    if not m:
        return "—"
    r = m[metric]
    return f"{_fmt(metric, r['value'])} [{_fmt(metric, r['low'])}, {_fmt(metric, r['high'])}]"


def _measured(meas: dict) -> str:
    fmt = {"recall": "{:.3f}", "fp": "{:.2f}", "jitter": "{:.3f}", "score": "{:.3f}", "confusion": "{:.3f}"}
    return ", ".join(f"{a} {fmt[a].format(meas[a]) if meas.get(a) is not None else '—'}" for a in ax.AXES)


def monotone_deta(res: dict) -> dict[str, bool]:
    """Per tracker: does DetA fall (strictly) at every step down the recall grid?"""
    if "recall" not in res.get("grids", {}) or res.get("grid2d"):
        return {}
    base = res["base"]["recall"]
    keys = ["base" if v == base else f"recall={v:g}" for v in sorted(res["grids"]["recall"], reverse=True)]
    by = {(r["point"], r["tracker"]): r for r in res["results"]}
    out = {}
    for t in res["trackers"]:
        vals = [(by.get((k, t)) or {}).get("metrics") for k in keys]
        if len(vals) >= 2 and all(vals):
            d = [v["DetA"]["value"] for v in vals]
            out[t] = all(a > b for a, b in zip(d, d[1:]))
    return out


def markdown(res: dict) -> str:
    base = res["base"]
    one_scene = len(res["scenes"]) == 1
    out = [f"# Sensitivity `{res['name']}`", "",
           f"Ground truth `{res['gt']}`: {len(res['sequences'])} sequences, {len(res['scenes'])} scene(s), "
           f"{res['n_gt_boxes']} GT boxes. Trackers {', '.join(res['trackers'])}; seeds "
           f"{', '.join(map(str, res['seeds']))}; {res['units']['total']} tracking runs "
           f"({res['units']['cached']} from the cache), {res['seconds']:.0f} s wall, "
           f"{res['units'].get('cpu_s', 0):.0f} CPU-s in the {res['units']['computed']} computed.", "",
           "Synthetic detections from the ground truth (`detbench/sensitivity/degrade.py`), one axis varied "
           "at a time around the base point "
           f"recall {base['recall']:g}, fp {base['fp']:g}/frame, jitter {base['jitter']:g}, score AUC "
           f"{base['score']:g}, confusion {base['confusion']:g}. Metrics: TrackEval HOTA/CLEAR per class, counts "
           "summed over classes, sequences and seeds (ratios in %, IDSW per run of the split). Brackets: 95 % "
           + ("band over seeds (the split has one scene, so the scene-level bootstrap has nothing to resample)."
              if one_scene else "scene x seed bootstrap band (scenes resampled as clusters)."), ""]
    if res.get("cleanup"):
        out += ["Series `<tracker>+cleanup`: the same tracker with the detection clean-up "
                "(`trackers/cleanup.py`) " + ", ".join(f"`{k}={v}`" for k, v in res["cleanup"].items())
                + "; the plain series run without it.", ""]
    for n in res["notes"]:
        out.append(f"- {n}")
    if res["notes"]:
        out.append("")
    mono = monotone_deta(res)
    if mono:
        out += ["DetA as recall falls (other axes at the base point): " + "; ".join(
            f"{t} {'falls monotonically' if ok else 'does NOT fall monotonically'}" for t, ok in mono.items()) + ".", ""]
    zero_cols = metric_specs.shown("sensitivity_zero")
    out += ["## Zero-degradation point", "",
            "Every GT box, exact, score 1, nothing else: whatever a tracker loses here is its own rule.", "",
            "| tracker | " + " | ".join(zero_cols) + " | predicted init FN (2 Hz) |",
            "|---|" + "---:|" * (len(zero_cols) + 1)]
    for z in res["zero_point"]:
        m = z["measured"]
        if not m:
            out.append(f"| {z['tracker']} | failed |" + "|" * len(zero_cols))
            continue
        out.append(f"| {z['tracker']} | "   # counts as measured (one run: integers)
                   + " | ".join(str(m[k]) if metric_specs.spec(k).is_count else _fmt(k, m[k]) for k in zero_cols)
                   + f" | {z['predicted'].get('init_fn_2hz', '—')} |")
    out.append("")
    for z in res["zero_point"]:
        out.append(f"- **{z['tracker']}**: {z['text']}")
    out += ["", "## Results", ""]
    by = {(r["point"], r["tracker"]): r for r in res["results"]}
    out += ["| point | measured | tracker | " + " | ".join(METRICS) + " |", "|---|---|---|" + "---:|" * len(METRICS)]
    for p in res["points"]:
        for t in res["trackers"]:
            r = by[(p["key"], t)]
            out.append(f"| {p['key']} | {_measured(p['measured'])} | {t} | "
                       + " | ".join(_cell(m, r.get("metrics")) for m in METRICS) + " |")
    failed = [r for r in res["results"] if r.get("metrics") is None]
    if failed:
        out += ["", "Gaps (—): " + "; ".join(f"{r['point']}/{r['tracker']}: {r.get('error')}" for r in failed)]
    if res["detectors"]:
        out += ["", "## Real detectors on the axes", "",
                f"Measured against the same ground truth (score >= {res['tau']:g}, IoU 0.5, class-agnostic matching).",
                "", "| detector | " + " | ".join(ax.AXES) + " |", "|---|" + "---:|" * len(ax.AXES)]
        for d in res["detectors"]:
            out.append(f"| {d['name']} | " + " | ".join("—" if d["measured"].get(a) is None else f"{d['measured'][a]:.3f}"
                                                     for a in ax.AXES) + " |")
    class_cols = metric_specs.shown("sensitivity_class_md")
    out += ["", "## Per class (base point, mean over seeds)", "",
            "| tracker | class | " + " | ".join(class_cols) + " |", "|---|---|" + "---:|" * len(class_cols)]
    for t in res["trackers"]:
        r = by.get(("base", t))
        for c, m in (r.get("per_class") or {}).items() if r else ():
            out.append(f"| {t} | {c} | " + " | ".join(_fmt(k, m[k]) for k in class_cols) + " |")
    out += ["", "How to read: `measured` is where the point's detections sit when measured like a real detector "
            "(recall and FP/frame at score >= %g and IoU 0.5; jitter = RMS of the normalised centre and log-size "
            "errors of matched boxes; score = ROC AUC of matched vs unmatched scores; confusion = matched boxes "
            "with a wrong class). The per-class and per-seed tables are in `sensitivity.json`." % res["tau"]]
    out += plots_section(res)
    return "\n".join(out) + "\n"


def csv_text(res: dict) -> str:
    pts = {p["key"]: p for p in res["points"]}
    rows = []
    for r in res["results"]:
        p = pts[r["point"]]
        req = [p["spec"][a] if p["spec"][a] is not None else "ideal" for a in ax.AXES]
        meas = [p["measured"].get(a) if p["measured"].get(a) is not None else "" for a in ax.AXES]
        vals = []
        for m in METRICS:
            mm = (r.get("metrics") or {}).get(m)
            vals += [mm["value"], mm["low"], mm["high"]] if mm else ["", "", ""]
        rows.append([r["point"], r["tracker"], *req, *meas, *vals])
    return csv_table(["point", "tracker", *[f"requested_{a}" for a in ax.AXES], *[f"measured_{a}" for a in ax.AXES],
                      *[f"{m}{s}" for m in METRICS for s in ("", "_low", "_high")]], rows)


def write_all(res: dict, out_dir: Path) -> list[Path]:
    """sensitivity.md, .csv and .json in ``out_dir`` (:func:`detbench.core.reports.write_tables`)."""
    return write_tables(out_dir, "sensitivity", markdown(res), csv_text(res), res)
