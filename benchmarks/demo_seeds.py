"""The demo's result over several training seeds, next to each run's scene-level interval.

    python benchmarks/demo_seeds.py --seeds 0,1,2            # runs `detbench demo --seed N` for each
    python benchmarks/demo_seeds.py --from runs/demo/A --seeds 1,2   # run A + two more seeds on A's data
    python benchmarks/demo_seeds.py --from runs/demo/A runs/demo/B runs/demo/C --seeds ''   # summarise

The interval in each comparison covers which validation scenes were sampled (a paired bootstrap over
scenes, one trained detector); the spread over seeds covers training variance (another head
initialisation and batch order, the same data). Writes ``results/demo_seeds/seeds.{md,json}``.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from detbench.compare import changes  # noqa: E402


def summary_dir(inv: Path) -> Path:
    return inv / "demo" if (inv / "demo" / "demo_summary.json").is_file() else inv / "results"  # older runs


def summarise(inv: Path) -> dict:
    res = summary_dir(inv)
    summary = json.loads((res / "demo_summary.json").read_text())
    comp = json.loads((res / "comparison.json").read_text())
    ap = json.loads((res / "detector_ap.json").read_text())["detectors"]
    early, final = comp["detectors"][0], comp["detectors"][-1]
    row = {"seed": summary["config"]["seed"], "runs": str(inv), "wall_s": summary["timings_s"]["total"],
           "AP50": {early: ap[early]["AP50"], final: ap[final]["AP50"]}, "DetA_final": {}, "changes": {}}
    for pair in comp["pairs"]:
        if pair["detector"] == final and pair["status"] == "ok":
            row["DetA_final"][pair["tracker"]] = pair["overall"]["DetA"]
    for d in changes.deltas(comp):   # HOTA in percentage points, IDSW in counts (older runs' fractions converted)
        for metric in ("HOTA", "IDSW"):
            m = d["metrics"][metric]
            row["changes"][f"{d['tracker']} {metric}"] = {
                "metric": metric, "excludes_zero": m["excludes_zero"],
                "verdict": bool(m.get("verdict")), "p_value": m.get("p_value"),   # runs before the test: no p_value
                **{changes.field(metric, k): changes.get(m, k) for k in ("delta", "low", "high")}}
    return row


def markdown(rows: list[dict]) -> str:
    keys = list(rows[0]["changes"])
    lines = ["| seed | AP50 early | AP50 final | DetA final | " + " | ".join(f"{k} change [95 % CI]" for k in keys)
             + " | wall |", "|---" * (5 + len(keys)) + "|"]
    for r in rows:
        (e, ae), (f, af) = r["AP50"].items()
        deta = ", ".join(f"{t} {100 * v:.1f}" for t, v in r["DetA_final"].items())
        cells = []
        for k in keys:
            c = r["changes"][k]
            delta, low, high = (changes.get(c, f) for f in ("delta", "low", "high"))
            cells.append(f"{delta:+.2f} [{low:+.2f}, {high:+.2f}]" + (" *" if c.get("verdict", c["excludes_zero"]) else ""))
        lines.append(f"| {r['seed']} | {ae:.3f} | {af:.3f} | {deta} | " + " | ".join(cells) + f" | {r['wall_s']:.0f} s |")
    deltas = {k: [changes.get(r["changes"][k], "delta") for r in rows] for k in keys}
    signs = {k: {(v > 0) - (v < 0) for v in vs} for k, vs in deltas.items()}
    lines += ["", "`*`: a verdict (the paired permutation test over scenes gives p < 0.05; in runs made before "
              "that test, the 95 % scene-level interval excludes zero). Same sign over all seeds: "
              + (", ".join(k for k, s in signs.items() if len(s) == 1 and 0 not in s) or "none") + "."]
    return "\n".join(lines) + "\n"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", default="0,1,2", help="seeds to run ('' with --from: only summarise)")
    p.add_argument("--from", dest="done", nargs="*", type=Path, default=None, help="finished demo run folders")
    p.add_argument("--out", type=Path, default=ROOT / "results" / "demo_seeds")
    args = p.parse_args()
    invs = list(args.done or [])
    seeds = [int(s) for s in args.seeds.split(",") if s.strip()] if args.seeds else []
    if seeds:
        from detbench.demo import DemoConfig, run_demo

        # the same data for every seed: rendered once (or taken from the first finished run)
        synth = json.loads((summary_dir(invs[0]) / "demo_summary.json").read_text())["synth"] if invs else ""
        for seed in seeds:
            t0 = time.perf_counter()
            summary = run_demo(None, DemoConfig(seed=seed, synth_from=synth))
            synth = summary["synth"]
            invs.append(Path(summary["runs"]))
            print(f"seed {seed}: {time.perf_counter() - t0:.0f} s -> {invs[-1]}")
    rows = [summarise(inv) for inv in invs]
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "seeds.json").write_text(json.dumps(rows, indent=2) + "\n")
    (args.out / "seeds.md").write_text(markdown(rows))
    print(markdown(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
