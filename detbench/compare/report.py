"""Write a comparison (dict, see :func:`detbench.compare.pipeline.run_comparison`) as md, csv, json."""
from __future__ import annotations

from pathlib import Path

from detbench.compare import changes
from detbench.compare.attribution import CAUSES
from detbench.compare.bootstrap import scene_of
from detbench.core.classes import CLASSES
from detbench.core.reports import csv_text as csv_table
from detbench.core.reports import plots_section, write_tables
from detbench.evaluate import metric_specs


def row_metrics() -> tuple[str, ...]:
    """The columns of every pair's row (the ``compare`` table of :mod:`detbench.evaluate.metric_specs`)."""
    return metric_specs.shown("compare")


def _fmt(metric: str, value) -> str:
    return "—" if value is None else metric_specs.spec(metric).display(value)


def markdown(result: dict) -> str:
    cols = row_metrics()
    out = [f"# Comparison `{result['name']}`", "",
           f"Split `{result['split']}` of `{result['data']}`, {result['n_sequences']} sequences of "
           f"{result.get('n_scenes', result['n_sequences'])} scenes; "
           f"detectors {', '.join(result['detectors'])}; trackers {', '.join(result['trackers'])}. "
           "Metrics: TrackEval HOTA/CLEAR/Identity, per-class matching, counts summed over classes "
           "(ratios in %).", ""]
    said = changes.answers(result)
    if said:
        out += [f"## Answer: `{result['detectors'][0]}` -> `{result['detectors'][-1]}`", "",
                *[f"- {s}" for s in said], ""]
    out += ["## Every (detector, tracker) pair", "",
            "| detector | tracker | " + " | ".join(cols) + " |",
            "|---|---|" + "---:|" * len(cols)]
    for p in result["pairs"]:
        if p["status"] != "ok":
            out.append(f"| {p['detector']} | {p['tracker']} | " + " | ".join(["—"] * len(cols))
                       + " |")
            continue
        cells = [_fmt(m, p["overall"].get(m)) for m in cols]
        out.append(f"| {p['detector']} | {p['tracker']} | " + " | ".join(cells) + " |")
    failed = [p for p in result["pairs"] if p["status"] != "ok"]
    if failed:
        out += ["", "**Gaps** (—): " + "; ".join(f"{p['detector']}/{p['tracker']}: {p.get('error', 'failed')}"
                                             for p in failed)]
    out += options_section(result)
    out += ["", "## IDSW per class", "", "| detector | tracker | " + " | ".join(CLASSES) + " |",
            "|---|---|" + "---:|" * len(CLASSES)]
    for p in result["pairs"]:
        if p["status"] == "ok":
            out.append(f"| {p['detector']} | {p['tracker']} | "
                       + " | ".join(str(p["per_class_idsw"].get(c, 0)) for c in CLASSES) + " |")
    deltas = changes.deltas(result)
    if deltas:
        b = result["bootstrap"]
        a_name, b_name = result["detectors"][0], result["detectors"][-1]
        metrics = list(dict.fromkeys(m for d in deltas for m in d["metrics"]))
        out += ["", f"## Change from `{a_name}` to `{b_name}`", "",
                "95 % paired bootstrap intervals over scenes: whole scenes (all their camera sequences) "
                f"are resampled, the same for both detectors ({b['n_resamples']} resamples, seed {b['seed']}, "
                "expanded percentile interval). A verdict only where the paired permutation test over the same "
                "scenes (the two detectors' counts swapped within scenes) gives p < 0.05; the test decides "
                "where it and the interval disagree. "
                f"`scenes (seqs)`: what each interval and test rest on. Units: {changes.units_note(metrics)}.", "",
                f"| tracker | metric | {a_name} | {b_name} | change | 95 % CI | scenes (seqs) | verdict |",
                "|---|---|---:|---:|---:|---|---:|---|"]
        for d in deltas:
            for metric, r in d["metrics"].items():
                out.append(f"| {d['tracker']} | {metric} | {changes.value_text(r, 'value_a')} | "
                           f"{changes.value_text(r, 'value_b')} | {changes.change_text(r, with_unit=False)} | "
                           f"{changes.interval_text(r)} | {r['n_scenes']} ({r['n_sequences']}) | "
                           f"{changes.verdict_cell(r, d['to'])} |")
    out += ["", "## Why the identities switched", "",
            "The switches TrackEval's CLEAR counts in the IDSW column (its own matching, per class); "
            "`compare` checked that they add up to the IDSW column per class and overall for every pair.", "",
            "| detector | tracker | " + " | ".join(CAUSES) + " | total |", "|---|---|" + "---:|" * (len(CAUSES) + 1)]
    for p in result["pairs"]:
        if p["status"] == "ok":
            att = p["attribution"]
            out.append(f"| {p['detector']} | {p['tracker']} | " + " | ".join(str(att.get(c, 0)) for c in CAUSES)
                       + f" | {sum(att.values())} |")
    out += ["", "Rules (first that holds):", ""] + [f"- {r}" for r in result["attribution_rules"]]
    out += plots_section(result)
    return "\n".join(out) + "\n"


def options_section(result: dict) -> list[str]:
    """Which options each pair ran with, and where they came from (its own tuning or defaults)."""
    tuning = result.get("tuning") or {}
    how = (f"each pair runs with the setting `detbench tune` chose for that tracker on that detector's "
           f"checkpoint (split `{tuning.get('split')}`)" if tuning.get("mode") == "tuned"
           else "every pair runs with its tracker's untuned defaults (`--no-tuned`)")
    out = ["", "## Options per pair", "", f"Options given to each tracker: {how}; every other option is "
           "the tracker's default (the full parameters are in comparison.json, `pairs[].params`).", "",
           "| detector | tracker | source | options |", "|---|---|---|---|"]
    for p in result["pairs"]:
        t = p.get("tuning") or {}
        source = {"tuned": f"tuned (HOTA {100 * t['tune_HOTA']:.2f} on `{t['split']}`)" if "tune_HOTA" in t
                  else "tuned"}.get(t.get("mode"), "defaults")
        if t.get("overridden"):
            source += "; overridden: " + ", ".join(sorted(t["overridden"]))
        opts = ", ".join(f"{k}={v}" for k, v in sorted((p.get("options") or {}).items())) or "—"
        out.append(f"| {p['detector']} | {p['tracker']} | {source} | {opts} |")
    return out


def csv_text(result: dict) -> str:
    cols = row_metrics()
    rows = []
    for p in result["pairs"]:
        ov = p.get("overall") or {}
        seqs = p.get("per_sequence") or {}
        rows.append([p["detector"], p["tracker"], p["status"], *[_csv_value(m, ov.get(m)) for m in cols],
                     *[(p.get("per_class_idsw") or {}).get(c, "") for c in CLASSES],
                     len({scene_of(s) for s in seqs}) if seqs else "", len(seqs) if seqs else ""])
    return csv_table(["detector", "tracker", "status", *[changes.column(m) for m in cols],
                      *[f"IDSW_{c}" for c in CLASSES], "n_scenes", "n_sequences"], rows)


def _csv_value(metric: str, value) -> str | float:
    """A pair's figure in the unit of the md table (ratios in %, rounded to 1e-4; counts as they are)."""
    if value is None:
        return ""
    u = changes.unit(metric)
    return value if u is changes.COUNT else round(u.scale * value, 4)


UNITS = {"pairs": "overall, per_class, per_sequence: eval's summaries (as metrics.json and `detbench eval "
                  "--json`): ratios (HOTA, MOTA, IDF1, ...) as fractions in [0, 1], counts as integers",
         "deltas": "fields ending _pct: a ratio metric's value in %; _pp: its change and interval in percentage "
                   "points; no suffix: counts (`unit`, `change_unit` say which)"}


def json_record(result: dict) -> dict:
    """What comparison.json holds: ``result`` with its changes in the units of every table
    (:mod:`detbench.compare.changes`) and ``units`` saying what each part is in."""
    return dict(result, units=UNITS, deltas=changes.deltas(result))


def write_all(result: dict, out_dir: Path) -> list[Path]:
    """comparison.md, .csv and .json in ``out_dir`` (:func:`detbench.core.reports.write_tables`)."""
    return write_tables(out_dir, "comparison", markdown(result), csv_text(result), json_record(result))
