"""How compare writes a change between two detectors: its unit, interval, verdict and answer.

The one place that formats a change, for ``comparison.md``, ``.json``, the console and the plots
alike. One unit per quantity everywhere:

- a ratio metric (HOTA, MOTA, IDF1, DetA, AssA, ...): its values in **%** (JSON fields ``*_pct``),
  its change and interval in **percentage points** (``pp``, JSON fields ``*_pp``);
- a count (IDSW, FP, FN, ...): counts, values and change alike (JSON fields without a suffix).

The verdict is decided upstream (:mod:`detbench.compare.bootstrap` via
:func:`detbench.compare.pipeline.bootstrap_deltas`: a metric's dict has ``verdict`` None when there
is none); this module only reads it (:func:`direction`) and words it.
"""
from __future__ import annotations

from dataclasses import dataclass

from detbench.evaluate import metric_specs

ONE_SCENE = "one scene: no interval"
NO_VERDICT = "—"
# the value fields of a bootstrap dict (BootstrapResult.to_dict), as fractions or counts
VALUE_FIELDS = ("value_a", "value_b")
CHANGE_FIELDS = ("delta", "low", "high")


@dataclass(frozen=True)
class Unit:
    scale: float          # from a summary's value (fraction or count) to this unit
    value: str            # unit of a value ("%" or "count")
    change: str           # unit of a change and its interval ("pp" or "count")
    value_suffix: str     # JSON field suffix of a value
    change_suffix: str    # JSON field suffix of a change
    digits: int
    shown: str            # after a change in a sentence ("+6.87 pp", "+20")


RATIO = Unit(100.0, "%", "pp", "_pct", "_pp", 2, " pp")
COUNT = Unit(1.0, "count", "count", "", "", 0, "")


def unit(metric: str) -> Unit:
    return COUNT if metric_specs.spec(metric).is_count else RATIO


def field(metric: str, name: str) -> str:
    """The JSON field name of ``name`` (``value_a``, ``delta``, ``low``, ...) for ``metric``: ``delta_pp``."""
    u = unit(metric)
    return name + (u.value_suffix if name in VALUE_FIELDS else u.change_suffix)


def column(metric: str) -> str:
    """A table column of ``metric``'s values with its unit: ``HOTA_pct``, ``IDSW`` (comparison.csv)."""
    return metric + unit(metric).value_suffix


def record(metric: str, r: dict, name_a: str, name_b: str) -> dict:
    """A bootstrap dict (fractions or counts, ``verdict`` decided upstream) in this module's units:
    ``value_a_pct``, ``delta_pp``, ``low_pp``, ... (counts keep their names), ``unit``,
    ``change_unit``, ``direction`` and the ``verdict`` sentence in the same units. Every other field
    is kept; a record already converted is returned as it is."""
    if "change_unit" in r:
        return r
    u = unit(metric)
    out = {k: v for k, v in r.items() if k not in VALUE_FIELDS + CHANGE_FIELDS}
    for name in VALUE_FIELDS + CHANGE_FIELDS:
        out[field(metric, name)] = None if r.get(name) is None else u.scale * r[name]
    out.update(unit=u.value, change_unit=u.change, direction=direction(r))
    rec = dict(out, metric=metric)
    out["verdict"] = (None if out["direction"] is None else
                      f"{name_b} {out['direction']} than {name_a} on {metric}: {change_text(rec)} "
                      f"({p_text(rec)}; 95% CI {interval_text(rec)})"
                      + ("" if r.get("excludes_zero", True) else "; the interval includes 0, the test decides"))
    return out


def p_text(rec: dict) -> str:
    """``p = 0.004``: the permutation test's p-value (:mod:`detbench.compare.permutation`), or ``no test``
    (one scene; results made before the test)."""
    p = rec.get("p_value")
    return "no test" if p is None else f"p = {p:.2g}"


def get(rec: dict, name: str) -> float | None:
    """``name`` (``value_a``, ``delta``, ``low``, ...) of a converted record, in its unit."""
    return rec.get(field(rec["metric"], name))


def direction(r: dict) -> str | None:
    """"better" or "worse" where the comparison gave a verdict, else None (the sign of the change
    read against the metric's better direction)."""
    if "direction" in r:      # already converted
        return r["direction"]
    if r.get("verdict") is None:
        return None
    return "better" if (r["delta"] > 0) == bool(r["higher_is_better"]) else "worse"


def value_text(rec: dict, name: str) -> str:
    v = get(rec, name)
    return "—" if v is None else f"{v:.{unit(rec['metric']).digits}f}"


def change_text(rec: dict, with_unit: bool = True) -> str:
    u = unit(rec["metric"])
    return f"{get(rec, 'delta'):+.{u.digits}f}" + (u.shown if with_unit else "")


def interval_text(rec: dict) -> str:
    """``[+4.47, +9.92]`` (in the change's unit), or :data:`ONE_SCENE`."""
    low, high = get(rec, "low"), get(rec, "high")
    if low is None or high is None:
        return ONE_SCENE
    d = unit(rec["metric"]).digits
    return f"[{low:+.{d}f}, {high:+.{d}f}]"


def verdict_cell(rec: dict, name_b: str) -> str:
    """The verdict column: ``epoch20 better (p = 0.004)``, ``— (p = 0.12)``, or :data:`NO_VERDICT`
    alone where there is no test (one scene: the interval column says why)."""
    p = "" if rec.get("p_value") is None else f" ({p_text(rec)})"
    return (NO_VERDICT if rec.get("direction") is None else f"{name_b} {rec['direction']}") + p


def units_note(metrics) -> str:
    """What the change table's numbers are in, for its header: ``HOTA, MOTA in % (changes in
    percentage points, pp); IDSW in counts``."""
    ratios = [m for m in metrics if not metric_specs.spec(m).is_count]
    counts = [m for m in metrics if metric_specs.spec(m).is_count]
    parts = ([", ".join(ratios) + " in % (changes and intervals in percentage points, pp)"] if ratios else []) + \
            ([", ".join(counts) + " in counts"] if counts else [])
    return "; ".join(parts)


def answer(tracker: str, recs: dict, name_a: str, name_b: str) -> str:
    """One sentence per tracker: ``botsort, epoch1 -> epoch20: IDSW worse (+20 [+6, +34]), HOTA better
    (+6.87 pp [+4.47, +9.92]); no verdict on MOTA (+4.30 pp [-1.17, +8.21], p = 0.12).`` (a verdict is
    the permutation test's p < 0.05; the p-value of a metric without one says why)"""
    head = f"{tracker}, {name_a} -> {name_b}: "
    if recs and all(get(r, "low") is None for r in recs.values()):
        return head + f"{ONE_SCENE}, so no verdict (" + ", ".join(
            f"{m} {change_text(r)}" for m, r in recs.items()) + ")."
    decided = [f"{m} {r['direction']} ({change_text(r)} {interval_text(r)})" for m, r in recs.items()
               if r.get("direction")]
    open_ = [f"{m} ({change_text(r)} {interval_text(r)}, {p_text(r)})" for m, r in recs.items()
             if not r.get("direction")]
    parts = ([", ".join(decided)] if decided else []) + (["no verdict on " + ", ".join(open_)] if open_ else [])
    return head + "; ".join(parts) + "."


def deltas(result: dict) -> list[dict]:
    """``result["deltas"]`` with every metric's dict converted (:func:`record`); ``from``/``to`` filled in."""
    dets = result.get("detectors") or ["a", "b"]
    out = []
    for d in result.get("deltas") or []:
        a, b = d.get("from", dets[0]), d.get("to", dets[-1])
        out.append(dict(d, **{"from": a, "to": b},
                        metrics={m: record(m, r, a, b) for m, r in d["metrics"].items()}))
    return out


def answers(result: dict) -> list[str]:
    """:func:`answer` for every tracker with a change."""
    return [answer(d["tracker"], d["metrics"], d["from"], d["to"]) for d in deltas(result)]
