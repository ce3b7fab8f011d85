"""CPU threads beside other work: train-motion, TrackSSM tracking and `sensitivity --jobs 2`, each
idle and beside one busy process that this script starts and stops itself.

    python benchmarks/bench_threads.py                      # all three parts (~6 min on 2 idle cores)
    python benchmarks/bench_threads.py --only motion --steps 400 --repeats 3

1. ``train-motion`` with its defaults (paper-size TrackSSM, batch 64) but ``--steps`` steps, on a
   small six-camera synthetic set (``synth --scenes 6 --keyframes 20``, all six cameras, prepared
   once under the runs folder): the training wall time (meta.json ``train_seconds``) with
   ``--threads 1``, with ``--threads`` = what train-motion ran before the thread policy (torch's
   default capped at 8: 2 on 2 cores) and with the default (1 thread), idle and beside the busy process.
2. TrackSSM tracking frames/s on ``bench_trackers.scene`` at 30 objects per frame (random weights:
   speed does not depend on training), ``--sequences`` sequences of ``--frames`` frames in one
   process (median over the sequences), the same three thread settings, idle and beside it.
3. ``sensitivity --jobs 2`` on the real fixture with TrackSSM (random weights) and BoT-SORT (its CMC
   reads the images), recall axis, one seed, nothing cached: this tree against ``--base`` (the
   commit before the thread policy, checked out into a temporary folder), and the thread counts
   each worker of this tree reported.

Each condition runs in its own process, without OMP_NUM_THREADS/MKL_NUM_THREADS (they would fix
the count). train-motion and sensitivity wall times are medians of ``--repeats`` runs; the load
average is printed with each table.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

BASE = "c3e255c"  # main before this work was merged: torch's default threads, 1 torch thread per pool worker
FIXTURE = ROOT / "tests" / "fixtures" / "nuscenes-mini-real"


def load() -> str:
    return "load average " + ", ".join(f"{v:.1f}" for v in os.getloadavg())


def clean_env(runs: Path, **extra) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "MKL_NUM_THREADS")}
    return {**env, "DETBENCH_RUNS": str(runs), **extra}


def run(cmd: list[str], **kw) -> str:
    """Run a command quietly -> its stdout; on failure, its last output lines and exit 1."""
    done = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if done.returncode:
        sys.exit(f"failed ({done.returncode}): {' '.join(cmd)}\n" + "\n".join(
            (done.stdout + done.stderr).splitlines()[-15:]))
    return done.stdout


class Busy:
    """One other busy process (a Python loop on one core) while the block runs."""

    def __enter__(self):
        self.proc = subprocess.Popen([sys.executable, "-c", "while True: pass"])
        time.sleep(1.0)  # let the scheduler see it before the measured process starts
        return self

    def __exit__(self, *exc):
        self.proc.kill()
        self.proc.wait()


def conditions(busy: bool):
    return Busy() if busy else _Nothing()


class _Nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return None


def ensure_dataset(runs: Path) -> Path:
    data = runs / "data" / "bench-threads"
    if (data / "meta.json").is_file():
        return data
    synth = runs / "bench-threads-synth"
    cli = [sys.executable, "-m", "detbench.cli"]
    env = clean_env(runs)
    run(cli + ["synth", str(synth), "--scenes", "6", "--keyframes", "20", "--force"], env=env, cwd=ROOT)
    run(cli + ["prepare", "--dataroot", str(synth), "--version", "v1.0-synth", "--name", "bench-threads"],
        env=env, cwd=ROOT)
    return data


SETTINGS = ("1", "before", "default")


def settings(today: int, chosen=SETTINGS) -> list[tuple[str, int | None]]:
    """(label, fixed thread count or None for the default) of the ``chosen`` settings."""
    every = {"1": ("--threads 1", 1), "before": (f"--threads {today} (the default before)", today),
             "default": ("default (1 thread)", None)}
    return [every[c] for c in chosen]


def bench_motion(runs: Path, steps: int, repeats: int, today: int, chosen=SETTINGS) -> list[dict]:
    data = ensure_dataset(runs)
    rows = []
    for label, threads in settings(today, chosen):
        for busy in (False, True):
            walls, used = [], None
            for r in range(repeats):
                name = f"bench-threads-{threads or 'policy'}-{'busy' if busy else 'idle'}-{r}"
                cmd = [sys.executable, "-m", "detbench.cli", "train-motion", "--data", str(data), "--steps",
                       str(steps), "--name", name] + (["--threads", str(threads)] if threads else [])
                with conditions(busy):
                    run(cmd, env=clean_env(runs), cwd=ROOT)
                meta = json.loads((runs / "motion" / name / "meta.json").read_text())
                walls.append(meta["metrics"]["train_seconds"])
                used = meta["threads"]["count"]
            rows.append({"setting": label, "busy": busy, "wall": statistics.median(walls), "threads": used})
            print(f"  train-motion {label}, {'busy' if busy else 'idle'}: {rows[-1]['wall']:.1f} s "
                  f"({used} threads)", flush=True)
    return rows


def child_tracking(frames: int, sequences: int) -> None:
    """In its own process: TrackSSM over ``sequences`` sequences of ``frames`` frames at 30 objects
    per frame (a fresh tracker each, as ``track_sequence`` runs them) -> one JSON line."""
    from bench_trackers import scene

    from detbench import threads
    from trackers import make_tracker
    from trackers.base import Frame

    dets = scene(30, frames, seed=30)
    times = []
    for _ in range(sequences):
        trk = make_tracker("trackssm", {"weights": "random"}, frame_rate=2.0)
        with threads.using(threads.decide(small_ops=True)) as chosen:  # what track_sequence does
            t0 = time.perf_counter()
            for i, d in enumerate(dets):
                trk.update(d, Frame(index=i, timestamp=i / 2, frame_rate=2.0, width=1600, height=900))
            times.append(time.perf_counter() - t0)
    print(json.dumps({"fps": frames / statistics.median(times), "threads": chosen.count,
                      "dets": sum(map(len, dets)) / len(dets)}))


def bench_tracking(runs: Path, frames: int, sequences: int, today: int, chosen=SETTINGS) -> list[dict]:
    rows = []
    for label, threads in settings(today, chosen):
        for busy in (False, True):
            env = clean_env(runs, **({"OMP_NUM_THREADS": str(threads)} if threads else {}))
            cmd = [sys.executable, __file__, "--child-tracking", "--frames", str(frames), "--sequences", str(sequences)]
            with conditions(busy):
                out = run(cmd, env=env, cwd=ROOT)
            res = json.loads(out.strip().splitlines()[-1])
            rows.append({"setting": label, "busy": busy, **res})
            print(f"  tracking {label}, {'busy' if busy else 'idle'}: {res['fps']:.1f} frames/s "
                  f"({res['dets']:.0f} dets/frame; {res['threads']} threads)", flush=True)
    return rows


def sensitivity_cmd(results: Path) -> list[str]:
    from detbench.data.layout import PreparedDataset

    return [sys.executable, "-m", "detbench.cli", "sensitivity",
            "--gt", str(PreparedDataset(FIXTURE).sequences_root), "--trackers", "trackssm,botsort",
            "--tracker-opt", "trackssm:weights=random", "--axes", "recall", "--seeds", "1", "--jobs", "2",
            "--resamples", "10", "--results-dir", str(results), "--name", "bench"]


def bench_sensitivity(base: str, repeats: int) -> list[dict]:
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-threads-") as tmp:
        old = Path(tmp) / "base"
        old.mkdir()
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", base], check=True, capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", str(old)], input=archive, check=True)
        for label, tree in ((f"before ({base})", old), ("this tree", ROOT)):
            walls, seen = [], {}
            for r in range(repeats):
                runs = Path(tmp) / f"runs-{tree.name}-{r}"  # nothing cached
                env = clean_env(runs, PYTHONPATH=str(tree))
                t0 = time.perf_counter()
                run(sensitivity_cmd(Path(tmp) / "results"), env=env, cwd=tree)
                walls.append(time.perf_counter() - t0)
                for f in (runs / "sensitivity" / "cache").rglob("*.json"):
                    for lib, n in json.loads(f.read_text())["result"].get("threads", {}).items():
                        seen[lib] = max(seen.get(lib, 0), n)
                shutil.rmtree(runs, ignore_errors=True)
            rows.append({"tree": label, "wall": statistics.median(walls), "max_threads_per_worker": seen or None})
            print(f"  sensitivity --jobs 2, {label}: {rows[-1]['wall']:.1f} s (most threads a worker ran: "
                  f"{seen or 'not reported'})", flush=True)
    return rows


def table(title: str, rows: list[dict], value: str, unit: str, fmt: str = "{:.1f}") -> None:
    print(f"\n{title} ({load()})")
    print(f"| setting | idle {unit} | one busy process {unit} | busy / idle | threads (idle; busy) |")
    print("|---|---:|---:|---:|---|")
    for setting in dict.fromkeys(r["setting"] for r in rows):
        idle, busy = (next(r for r in rows if r["setting"] == setting and r["busy"] == b) for b in (False, True))
        ratio = busy[value] / idle[value]
        print(f"| {setting} | {fmt.format(idle[value])} | {fmt.format(busy[value])} | {ratio:.2f}x | "
              f"{idle['threads']}; {busy['threads']} |")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", nargs="+", choices=["motion", "tracking", "sensitivity"],
                    default=["motion", "tracking", "sensitivity"])
    ap.add_argument("--steps", type=int, default=60, help="train-motion steps per run (its default: 400)")
    ap.add_argument("--frames", type=int, default=40, help="frames per tracked sequence")
    ap.add_argument("--sequences", type=int, default=3,
                    help="tracked sequences per condition, one process (frames/s: their median)")
    ap.add_argument("--settings", nargs="+", choices=SETTINGS, default=list(SETTINGS),
                    help="thread settings of the motion and tracking parts: --threads 1, torch's default "
                         "(what train-motion ran before) and detbench's default")
    ap.add_argument("--repeats", type=int, default=1, help="runs per condition (the median is reported)")
    ap.add_argument("--base", default=BASE, help="git revision of the code before the thread policy")
    ap.add_argument("--runs", default=None, help="runs folder for the dataset and models "
                                                 "(default: $DETBENCH_RUNS or runs/)")
    ap.add_argument("--child-tracking", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child_tracking:
        child_tracking(args.frames, args.sequences)
        return 0
    from detbench.threads import _torch_default, available_cores

    runs = Path(args.runs or os.environ.get("DETBENCH_RUNS") or ROOT / "runs").resolve()
    today = min(_torch_default(), 8)
    print(f"{available_cores()} cores, {load()}; train-motion {args.steps} steps (median of {args.repeats} runs), "
          f"tracking {args.sequences} x {args.frames} frames (median of the sequences)", flush=True)
    if "motion" in args.only:
        motion = bench_motion(runs, args.steps, args.repeats, today, args.settings)
        table(f"train-motion, paper size, {args.steps} steps of 64, training wall s", motion, "wall", "s")
    if "tracking" in args.only:
        tracking = bench_tracking(runs, args.frames, args.sequences, today, args.settings)
        table("TrackSSM tracking, 30 objects per frame, frames/s", tracking, "fps", "frames/s")
    if "sensitivity" in args.only:
        sens = bench_sensitivity(args.base, args.repeats)
        print(f"\nsensitivity --jobs 2, fixture, trackssm + botsort, recall axis, 1 seed ({load()})")
        print("| code | wall s | most threads one worker ran |")
        print("|---|---:|---|")
        for r in sens:
            print(f"| {r['tree']} | {r['wall']:.1f} | {r['max_threads_per_worker'] or 'not reported'} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
