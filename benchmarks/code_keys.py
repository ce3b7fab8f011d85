"""The code keys of every stage entry set, as JSON: record them before a refactor, check after.

The code part of each cache key (:func:`detbench.codekeys.code_key`): detections, tracking per
registered tracker, evaluation, tuning per tracker and sensitivity per tracker. A refactor that
moves modules, rewrites imports or edits comments and docstrings keeps every one of them.

    python benchmarks/code_keys.py --write runs/code_keys.json    # before
    python benchmarks/code_keys.py --check runs/code_keys.json    # after: exit 1 and the list if one differs
    python benchmarks/code_keys.py --time                         # seconds to compute them all, cold
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def stage_keys() -> dict[str, dict]:
    """``{stage or stage:tracker: code_key}`` for the stages' entry sets."""
    from detbench import codekeys
    from trackers import TRACKERS, tracker_class

    out = {"detect": codekeys.code_key(*codekeys.DETECT), "evaluate": codekeys.code_key(*codekeys.EVALUATE)}
    for name in sorted(TRACKERS):
        entry = codekeys.tracker_entry(tracker_class(name))
        for stage, entries in (("track", codekeys.TRACK), ("tune", codekeys.TUNE),
                               ("sensitivity", codekeys.SENSITIVITY)):
            out[f"{stage}:{name}"] = codekeys.code_key(*entries, entry)
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = ap.add_mutually_exclusive_group(required=True)
    mode.add_argument("--write", metavar="FILE", help="record the keys in FILE")
    mode.add_argument("--check", metavar="FILE", help="compare the keys with those recorded in FILE")
    mode.add_argument("--time", action="store_true", help="median seconds of 5 cold computations of every key")
    args = ap.parse_args(argv)
    if args.time:
        import statistics
        import time

        from detbench import codekeys, codestatements

        seconds = []
        for _ in range(5):
            codekeys.cache_clear()
            codestatements.parse.cache_clear()          # every source read and parsed again, as in a new process
            t = time.perf_counter()
            n = len(stage_keys())
            seconds.append(time.perf_counter() - t)
        print(f"{n} stage keys computed cold: median {statistics.median(seconds):.2f} s of 5")
        return 0
    keys = stage_keys()
    if args.write:
        Path(args.write).write_text(json.dumps(keys, indent=1, sort_keys=True) + "\n")
        print(f"{len(keys)} stage keys written to {args.write}")
        return 0
    recorded = json.loads(Path(args.check).read_text())
    differ = sorted(k for k in recorded.keys() | keys.keys() if recorded.get(k) != keys.get(k))
    for k in differ:
        print(f"{k}: {recorded.get(k)} -> {keys.get(k)}")
    print(f"{len(keys)} stage keys, {len(differ)} changed")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    sys.exit(main())
