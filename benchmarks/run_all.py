"""Run every ``benchmarks/bench_*.py`` once and print a summary (what ``make bench`` runs).

    python benchmarks/run_all.py                  # quick: each script at a small size (a few minutes)
    python benchmarks/run_all.py --full           # each script with its own defaults (long)
    python benchmarks/run_all.py --only eval synth
    python benchmarks/run_all.py --data runs/data/synth24   # also bench_motion.py and bench_cleanup.py (they need a dataset)

The quick sizes only check that every benchmark runs and give rough figures; the figures worth
quoting come from the scripts' own defaults on an idle machine (``benchmarks/README.md``). Each
script runs in its own process with one torch/OpenMP thread (two threads on two busy cores were
measured several times slower). Exit status 1 if any script failed.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

# script stem -> arguments of the quick run (None: the script's defaults are already quick)
QUICK: dict[str, list[str] | None] = {
    "bench_synth": ["--scenes", "1", "--keyframes", "2"],
    "bench_train": ["--batch", "2", "--iters", "2", "--warmup", "1", "--size", "128,224"],
    "bench_detect": ["--images", "8", "--batch", "4", "--input", "128x224"],
    "bench_trackers": ["--frames", "10", "--repeats", "1", "--densities", "10"],
    "bench_trackssm": ["--frames", "10", "--repeats", "1", "--densities", "10"],
    "bench_eval": ["--sequences", "4", "--frames", "10", "--objects", "5", "--jobs", "1",
                   "--compare", "0", "--configs", "per-class,agnostic"],
    "bench_motion": ["--seeds", "0"],
    "bench_cleanup": ["--trackers", "iou"],
    "bench_threads": ["--only", "tracking", "--frames", "10", "--sequences", "1"],
    "bench_keys": ["--scenes", "2", "--repeats", "1"],
    "bench_null_verdicts": ["--runs", "20"],
    "bench_scale": ["--sizes", "1", "--grid", "default"],
}
# scripts that need ``--data`` (a prepared dataset); skipped without it
NEEDS_DATA = {"bench_motion", "bench_cleanup"}


def scripts() -> list[str]:
    return sorted(p.stem for p in HERE.glob("bench_*.py"))


def command(stem: str, full: bool, data: str | None) -> list[str]:
    args = [] if full else list(QUICK.get(stem) or [])
    if stem in NEEDS_DATA:
        args += ["--data", data]
    return [sys.executable, str(HERE / f"{stem}.py"), *args]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--full", action="store_true", help="each script with its own defaults")
    ap.add_argument("--only", nargs="+", metavar="NAME", help="these scripts (bench_NAME.py) only")
    ap.add_argument("--data", help="a prepared dataset for the scripts that need one (bench_motion.py, bench_cleanup.py)")
    args = ap.parse_args(argv)
    names = scripts()
    if args.only:
        wanted = [n if n.startswith("bench_") else f"bench_{n}" for n in args.only]
        unknown = sorted(set(wanted) - set(names))
        if unknown:
            ap.error(f"no such benchmark: {', '.join(unknown)}; known: {', '.join(names)}")
        names = [n for n in names if n in wanted]
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(HERE.parent), env.get("PYTHONPATH")) if p)
    rows = []
    for stem in names:
        if stem in NEEDS_DATA and not args.data:
            rows.append((stem, "skipped", 0.0, "needs --data DATASET"))
            continue
        cmd = command(stem, args.full, args.data)
        print(f"\n=== {stem}: {' '.join(cmd[2:]) or '(defaults)'}", flush=True)
        t = time.perf_counter()
        rc = subprocess.call(cmd, cwd=HERE.parent, env=env)
        rows.append((stem, "ok" if rc == 0 else f"failed (exit {rc})", time.perf_counter() - t,
                     "full" if args.full else "quick"))
    print(f"\nbenchmarks ({'full' if args.full else 'quick'}; load average {os.getloadavg()[0]:.1f}, "
          f"{os.cpu_count()} CPUs)")
    print("| script | status | wall s | note |")
    print("|---|---|---:|---|")
    for stem, status, wall, note in rows:
        print(f"| {stem}.py | {status} | {wall:.1f} | {note} |")
    return 1 if any(status.startswith("failed") for _, status, _, _ in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
