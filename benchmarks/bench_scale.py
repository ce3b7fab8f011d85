"""Scale: `tune` + `compare` on a nuScenes-val-sized workload, this machine's process pool vs a local Ray.

    python benchmarks/bench_scale.py                          # 10, 50, 150 scenes x 6 cameras
    python benchmarks/bench_scale.py --sizes 10 --grid full   # the 81-point grid (slow)
    python benchmarks/bench_scale.py --sizes 1,10 --grid default   # the fixed cost (1 scene) and the slope
    python benchmarks/bench_scale.py --sizes 150 --grid default --repeats 3   # Ray vs the pool: medians

The workload (benchmarks/scale_workload.py): ``val`` and ``tune`` splits of S scenes x 6 cameras
(copies of the real fixture's scene-0103, 40 keyframes each, no images), two stand-in checkpoints
(``epoch1``, ``epoch2``) with cached ground-truth-derived detections. The work, per size and
executor, is one ``run_comparison`` with ``--tune`` (what ``detbench compare --tune`` runs):
trackers ``iou`` and ``bytetrack``, each (checkpoint, tracker) pair tuned on ``tune`` (4 tunings),
then the 4 pairs tracked, scored and attributed on ``val``. ``--grid small`` (default) tunes 3
points (the lost-track buffer's 3 values, every other option at its default); ``default`` 1 point
(every option at its default: what a large size can afford on a shared machine); ``full`` the 81.
The grids change the work per sequence, not its kind: compare sizes by the seconds per
*sequence run* (one sequence tracked and scored once).

Each (size, executor) runs in a fresh process (the *driver*), so its peak resident memory is the
driver's own; the executor is started before the clock (Ray's start-up is reported apart; the
workers' own start is inside the time, for both). ``local``: ``--jobs`` pool workers; ``ray``: a
local Ray instance of ``--jobs`` CPUs. Printed, one line each: wall seconds, seconds per val
sequence, seconds per sequence run, driver peak memory and CPU seconds, and the trackers' own
seconds per sequence (from the tracks' meta.json): the per-job costs benchmarks/README.md's
cluster estimate is made from. Both executors must write the same
comparison (checked). With two sizes or more, each executor's wall time is fitted as a fixed
cost plus a cost per sequence (the fixed cost is what makes small sizes dearer per sequence).
Re-run on a quiet machine with the same command; report ``uptime``'s load.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

TRACKERS = ("iou", "bytetrack")
DETECTORS = ("epoch1", "epoch2")
RAY_DAEMONS = ("gcs_server", "raylet")   # a local Ray's processes that are not workers (with its agents)
RAY_DAEMON_SCRIPTS = ("dashboard", "log_monitor.py", "monitor.py")


def small_grid(tracker: str, grid: dict, one: bool = False) -> dict:
    """The tracker's lost-track buffer over its 3 values of ``grid`` (its full grid), every other
    option at its default (``one``: the buffer at its default too)."""
    from dataclasses import asdict

    from trackers import tracker_class, tracker_spec

    spec = tracker_spec(tracker)
    defaults = {**asdict(spec.params), **asdict(spec.cleanup)}
    buffer = tracker_class(tracker).Params.BUFFER_OPTION
    return {k: (v if k == buffer and not one else [defaults[k]]) for k, v in grid.items()}


def run_one(runs: Path, data: Path, executor: str, jobs: int, grid: str, out: Path) -> dict:
    """The driver: one compare --tune with ``executor``; returns the measurements."""
    import resource

    os.environ["DETBENCH_RUNS"] = str(runs)
    from scale_workload import RUN

    from detbench.compare.options import ComparisonOptions, RunContext
    from detbench.compare.pipeline import run_comparison
    from detbench.detect.resolved import resolve_detectors
    from detbench.executor_choice import make_executor
    from detbench.tuning import tune as tune_mod

    if grid in ("small", "default"):
        full = tune_mod.tracker_grid
        tune_mod.tracker_grid = lambda tracker: small_grid(tracker, full(tracker), grid == "default")
    ex = make_executor(executor, jobs)
    t0 = time.perf_counter()
    if executor == "ray":
        ex.connect()
    startup = time.perf_counter() - t0
    cpu0 = time.process_time()
    before = helper_cpu()
    t0 = time.perf_counter()
    with ex:
        result = run_comparison(resolve_detectors(list(DETECTORS), data, "val", RUN, executor=ex), list(TRACKERS),
                                ComparisonOptions(name="scale", n_resamples=200, tune_missing=True),
                                RunContext(results_root=out, executor=ex))
        wall = time.perf_counter() - t0
        driver_cpu = time.process_time() - cpu0
        helpers = {k: round(v - before.get(k, 0.0), 2) for k, v in helper_cpu().items()}  # before they exit
    n_seq = result["n_sequences"]
    points = sum(len(json.loads(p.read_text())["rows"]) for p in (runs / "tune").rglob("*.json")
                 if p.parent.name in TRACKERS)
    track_s = {t: 0.0 for t in TRACKERS}
    runs_of = {t: 0 for t in TRACKERS}
    for meta in list((runs / "tune" / "work").rglob("meta.json")) + list((runs / "compare").rglob("meta.json")):
        m = json.loads(meta.read_text())
        if m.get("tracker") in track_s:
            track_s[m["tracker"]] += sum(s.get("seconds", 0.0) for s in m["sequences"].values())
            runs_of[m["tracker"]] += len(m["sequences"])
    seq_runs = sum(runs_of.values())
    return {"executor": executor, "jobs": jobs, "sequences": n_seq, "points": points, "sequence_runs": seq_runs,
            "split_runs": points + len(DETECTORS) * len(TRACKERS),
            "startup_s": round(startup, 2), "wall_s": round(wall, 2), "s_per_sequence": round(wall / n_seq, 4),
            "driver_peak_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            "s_per_sequence_run": round(wall / max(1, seq_runs), 4), "driver_cpu_s": round(driver_cpu, 2),
            "workers_cpu_s": helpers["workers"], "ray_daemons_cpu_s": helpers["ray_daemons"],
            "track_s_per_run": {t: round(track_s[t] / max(1, runs_of[t]), 5) for t in TRACKERS}}


def helper_cpu() -> dict:
    """CPU seconds so far of the driver's descendant processes by role: ``workers`` (pool workers
    and their forkserver; Ray's worker processes) and ``ray_daemons`` (raylet, GCS, dashboard,
    agents, log monitor: every other process of a local Ray instance)."""
    import psutil

    out = {"workers": 0.0, "ray_daemons": 0.0}
    for p in psutil.Process().children(recursive=True):
        try:
            cmd, cpu = " ".join(p.cmdline()), p.cpu_times()
        except psutil.Error:
            continue
        daemon = (Path(cmd.split(" ")[0]).name in RAY_DAEMONS or "Agent" in cmd
                  or any(f"{os.sep}{d}" in cmd for d in RAY_DAEMON_SCRIPTS))
        out["ray_daemons" if daemon else "workers"] += cpu.user + cpu.system
    return out


def load() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="10,50,150", help="Scenes per split (x 6 cameras).")
    ap.add_argument("--executors", default="local,ray")
    ap.add_argument("--jobs", type=int, default=len(os.sched_getaffinity(0)), help="Workers (default: every core).")
    ap.add_argument("--grid", choices=("small", "default", "full"), default="small",
                    help="3 points per tuning (small), 1 (default options) or the 81 (full).")
    ap.add_argument("--repeats", type=int, default=1,
                    help="Runs of each executor per size, alternating; the table shows medians.")
    ap.add_argument("--out", type=Path, default=ROOT / "runs" / "bench-scale")
    ap.add_argument("--one", nargs=3, metavar=("RUNS", "DATA", "EXECUTOR"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.one:   # the driver of one measurement, in its own process
        runs, data, executor = args.one
        print(json.dumps(run_one(Path(runs), Path(data), executor, args.jobs, args.grid, Path(runs) / "results")))
        return 0
    from scale_workload import build_workload

    print(f"load before: {load()}")
    rows = []
    for size in [int(s) for s in args.sizes.split(",")]:
        base = args.out / f"{size}"
        shutil.rmtree(base, ignore_errors=True)
        os.environ["DETBENCH_RUNS"] = str(base / "workload-runs")
        t0 = time.perf_counter()
        data = build_workload(base / "data", size)
        print(f"{size} scenes: workload built in {time.perf_counter() - t0:.0f} s", flush=True)
        for repeat in range(args.repeats):   # the executors alternate, so a change of load falls on both
            comparisons = {}
            for executor in args.executors.split(","):
                runs = base / executor
                shutil.rmtree(runs, ignore_errors=True)
                shutil.copytree(base / "workload-runs", runs)
                cmd = [sys.executable, __file__, "--one", str(runs), str(data), executor, "--jobs", str(args.jobs),
                       "--grid", args.grid]
                out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
                row = json.loads(out.splitlines()[-1])
                row["scenes"], row["grid"], row["repeat"] = size, args.grid, repeat + 1
                rows.append(row)
                comparisons[executor] = {  # the same bytes, but for the runs folder's path each names
                    f: (runs / "results" / "scale" / f).read_bytes().replace(str(runs).encode(), b"<runs>")
                    for f in ("comparison.json", "comparison.csv", "comparison.md")}
                print(json.dumps(row), flush=True)
            same = all(c == next(iter(comparisons.values())) for c in comparisons.values())
            print(f"{size} scenes: the executors wrote the same comparison (runs folder's path aside): {same}")
    print(f"load after: {load()}")
    rows = medians(rows)
    print(f"\n{'medians of ' + str(args.repeats) + ' runs' if args.repeats > 1 else 'one run each'}:")
    print("scenes  executor  jobs  grid     split runs  wall s  s/sequence  s/sequence run  driver MiB  startup s"
          "  CPU s: driver  workers  Ray daemons")
    for r in rows:
        print(f"{r['scenes']:6d}  {r['executor']:8s}  {r['jobs']:4d}  {r['grid']:7s}  {r['split_runs']:10d}  "
              f"{r['wall_s']:6.0f}  {r['s_per_sequence']:10.3f}  {r['s_per_sequence_run']:14.4f}  "
              f"{r['driver_peak_mib']:10.0f}  {r['startup_s']:9.1f}  {r['driver_cpu_s']:13.1f}  "
              f"{r['workers_cpu_s']:7.1f}  {r['ray_daemons_cpu_s']:11.1f}")
    walls = {(r["scenes"], r["executor"]): r["wall_s"] for r in rows}
    for size in dict.fromkeys(r["scenes"] for r in rows):
        if (size, "local") in walls and (size, "ray") in walls:
            print(f"{size} scenes: Ray / pool wall = {walls[(size, 'ray')] / walls[(size, 'local')]:.3f}")
    for line in linear_fit(rows):
        print(line)
    return 0


def medians(rows: list[dict]) -> list[dict]:
    """One row per (size, executor): the median of its repeats' figures (wall, per-sequence,
    memory, CPU), each figure's median on its own."""
    import statistics

    out = []
    for key in dict.fromkeys((r["scenes"], r["executor"]) for r in rows):
        mine = [r for r in rows if (r["scenes"], r["executor"]) == key]
        row = dict(mine[0])
        for k, v in row.items():
            if isinstance(v, float):
                row[k] = statistics.median(r[k] for r in mine)
            elif isinstance(v, dict):   # the trackers' seconds a run
                row[k] = {t: statistics.median(r[k][t] for r in mine) for t in v}
        row["repeats"] = len(mine)
        out.append(row)
    return out


def linear_fit(rows: list[dict]) -> list[str]:
    """Per executor measured at two sizes or more: wall = fixed + per-sequence x sequences (least
    squares), and the change of seconds per sequence from the smallest size to the largest (issue
    30's bar: within +-20 %)."""
    import numpy as np

    out = []
    for executor in dict.fromkeys(r["executor"] for r in rows):
        mine = sorted((r for r in rows if r["executor"] == executor), key=lambda r: r["sequences"])
        if len({r["sequences"] for r in mine}) < 2:
            continue
        per_seq, fixed = np.polyfit([r["sequences"] for r in mine], [r["wall_s"] for r in mine], 1)
        first, last = mine[0], mine[-1]
        change = last["s_per_sequence"] / first["s_per_sequence"] - 1
        out.append(f"{executor}: wall = {fixed:.1f} s fixed + {per_seq:.3f} s x sequences; s / sequence "
                   f"{first['scenes']} -> {last['scenes']} scenes: {first['s_per_sequence']:.3f} -> "
                   f"{last['s_per_sequence']:.3f} ({change:+.0%})")
    return out


if __name__ == "__main__":
    raise SystemExit(main())
