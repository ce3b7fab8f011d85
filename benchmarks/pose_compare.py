"""``cmc=pose``'s cost, the code before a change against this code, in one run.

    git archive main | tar -x -C /tmp/main      # (or any other checkout of the code before)
    python benchmarks/pose_compare.py --before /tmp/main --pose-split runs/data/synth6/sequences/val \
        [--rounds 5] [--fp-rates 1 20] [--warm]

Each round runs ``benchmarks/bench_trackers.py --pose-split DIR --repeats 1`` once with the code
under ``--before`` and once with this checkout's, in fresh processes, the order alternating
from round to round (a change in the machine's load falls on both alike). Each run times BoT-SORT,
ByteTrack and OC-SORT with ``cmc=none`` and ``cmc=pose`` (and BoT-SORT's sparse flow) on the
split's frames, interleaved sequence by sequence (see that script). Printed per ``--fp-rates``
rate: for each tracker and CMC, the medians over the rounds of the CPU ms per frame, of the ratio
to the same run's ``cmc=none`` and of the milliseconds a frame spent in the compensation itself,
before and after. Run it on a quiet machine and say the load (``uptime``) with the figures.
"""
from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_HEADER = re.compile(r"\(fp_rate ([0-9.]+)\)")


def parse_tables(text: str) -> dict:
    """bench_trackers.py --pose-split's tables -> {(fp_rate, tracker, cmc): (ms, ratio, compensation ms or None)}."""
    out, fp = {}, None
    for line in text.splitlines():
        header = _HEADER.search(line)
        if header:
            fp = float(header.group(1))
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if fp is None or len(cells) != 6 or cells[0] in ("tracker", "---"):
            continue
        out[(fp, cells[0], cells[1])] = (float(cells[2]), float(cells[3]), None if cells[4] == "-" else float(cells[4]))
    return out


def run_once(root: Path, split: Path, fp_rates: list[float], warm: bool) -> dict:
    cmd = [sys.executable, str(root / "benchmarks" / "bench_trackers.py"), "--pose-split", str(split),
           "--repeats", "1", "--fp-rates", *map(str, fp_rates), *(["--warm"] if warm else [])]
    done = subprocess.run(cmd, cwd=root, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"{root}: bench_trackers.py failed:\n{done.stderr[-2000:]}")
    tables = parse_tables(done.stdout)
    if not tables:
        raise SystemExit(f"{root}: no table in bench_trackers.py's output")
    return tables


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--before", type=Path, required=True, help="a checkout of the code before the change")
    ap.add_argument("--pose-split", type=Path, required=True, help="a prepared split's sequences folder")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--fp-rates", type=float, nargs="+", default=[1.0, 20.0])
    ap.add_argument("--warm", action="store_true", help="bench_trackers.py's --warm (cameras kept across runs)")
    args = ap.parse_args(argv)
    if not (args.before / "benchmarks" / "bench_trackers.py").is_file():
        print(f"--before {args.before}: no benchmarks/bench_trackers.py there", file=sys.stderr)
        return 2
    split = args.pose_split.resolve()
    runs = {"before": [], "after": []}
    for r in range(args.rounds):
        order = [("before", args.before.resolve()), ("after", ROOT)]
        for label, root in order if r % 2 == 0 else order[::-1]:
            runs[label].append(run_once(root, split, args.fp_rates, args.warm))
            print(f"round {r + 1}/{args.rounds}: {label} done", file=sys.stderr, flush=True)

    def median(label, key, field):
        values = [run[key][field] for run in runs[label] if key in run and run[key][field] is not None]
        return statistics.median(values) if values else None

    def cell(value, fmt):
        return "-" if value is None else fmt.format(value)

    for fp in args.fp_rates:
        print(f"\n{split} (fp_rate {fp:g}): medians of {args.rounds} rounds, CPU ms per frame")
        print("| tracker | cmc | ms before | ms after | x cmc=none before | x cmc=none after "
              "| compensation ms before | compensation ms after | compensation after / before |")
        print("|---|---|---|---|---|---|---|---|---|")
        keys = sorted({k for run in runs["after"] for k in run if k[0] == fp}, key=list(runs["after"][0]).index)
        for key in keys:
            (ms_b, ms_a), (x_b, x_a) = ((median("before", key, f), median("after", key, f)) for f in (0, 1))
            c_b, c_a = median("before", key, 2), median("after", key, 2)
            gain = c_a / c_b if c_a is not None and c_b else None
            print(f"| {key[1]} | {key[2]} | {cell(ms_b, '{:.3f}')} | {cell(ms_a, '{:.3f}')} | {cell(x_b, '{:.3f}')} "
                  f"| {cell(x_a, '{:.3f}')} | {cell(c_b, '{:.3f}')} | {cell(c_a, '{:.3f}')} | {cell(gain, '{:.3f}')} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
