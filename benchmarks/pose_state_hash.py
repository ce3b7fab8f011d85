"""sha256 of every state ``cmc=pose`` writes, frame by frame, for the three boxmot trackers (what
a speed change to the compensation changes: every bit, or also which detection a track took).

    python benchmarks/pose_state_hash.py [--write FILE | --check FILE] [SPLIT ...]
    python benchmarks/pose_state_hash.py --check before.txt tests/fixtures/nuscenes-mini-real/sequences \
        runs/data/synth6/sequences/val runs/data/synth24x6/sequences/val      # the 18 runs

For each split (prepared sequences folders; default: the real fixture's) and each of ``--fp-rates`` (1 and 20 false positives a frame, ``noisy_detections`` of the
ground truth, seed = the sequence's index), ``botsort``, ``bytetrack`` and ``ocsort`` with
``cmc=pose`` track every sequence from a fresh tracker; after each frame's compensation every
Kalman state and covariance (for OC-SORT also its frozen state, the observations, the last
observation, the measurement history and the velocity direction), and after each update the
output rows, go into one hash per run; a second hash per run takes the output rows without their
box coordinates (which detection each track id took, frame by frame: a last-bit change leaves it
alone, an association that flipped does not). Prints ``split fp tracker sha256 sha256-ids`` per
run; ``--write`` records them, ``--check`` compares, says how many runs differ in each hash and
exits 1 when an exact hash differs.
"""
from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from detbench.data.layout import PreparedDataset  # noqa: E402

FIXTURE = PreparedDataset(ROOT / "tests" / "fixtures" / "nuscenes-mini-real").sequences_root
TRACKERS = ("botsort", "bytetrack", "ocsort")


def _add(h, value) -> None:
    if value is None:
        h.update(b"N")
        return
    a = np.asarray(value)
    h.update(f"{a.dtype}{a.shape}".encode())
    h.update(np.ascontiguousarray(a).tobytes())


def hash_states(h, instances: dict) -> None:
    """Every state of ``instances`` ({class: boxmot instance}) the compensation may write."""
    for cls in sorted(instances):
        inst = instances[cls]
        h.update(f"class {cls}".encode())
        for group in ("active_tracks", "lost_stracks"):
            for t in getattr(inst, group, None) or ():
                h.update(f"{group} {getattr(t, 'id', None)}".encode())
                if hasattr(t, "kf") and hasattr(t.kf, "x"):   # OC-SORT
                    kf = t.kf
                    _add(h, kf.x)
                    _add(h, kf.P)
                    saved = getattr(kf, "attr_saved", None)
                    if saved is not None:
                        _add(h, saved["x"])
                        _add(h, saved["P"])
                    _add(h, t.last_observation)
                    for age in sorted(t.observations):
                        h.update(str(age).encode())
                        _add(h, t.observations[age])
                    for z in kf.history_obs:
                        _add(h, z)
                    _add(h, t.velocity)
                else:
                    _add(h, t.mean)
                    _add(h, t.covariance)


def run_hash(name: str, sequences) -> tuple[str, str]:
    """(hash of every state and output, hash of the outputs without their box coordinates)."""
    from trackers import make_tracker

    h, ids = hashlib.sha256(), hashlib.sha256()
    for dets, frames in sequences:
        tracker = make_tracker(name, {"cmc": "pose"}, frame_rate=frames[0].frame_rate)
        inner = getattr(tracker, "inner", tracker)
        pose = inner._pose
        compensate = pose.before_update

        def before_update(frame, instances, compensate=compensate):
            compensate(frame, instances)
            hash_states(h, instances)

        pose.before_update = before_update
        for d, fr in zip(dets, frames):
            out = tracker.update(d, fr)
            _add(h, out)
            _add(ids, np.asarray(out)[:, 4:])   # id, confidence, class, detection index per row
    return h.hexdigest(), ids.hexdigest()


def main(argv=None) -> int:
    from bench_trackers import real_frames

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("splits", nargs="*", type=Path, help="prepared splits' sequences folders")
    ap.add_argument("--fp-rates", type=float, nargs="+", default=[1.0, 20.0])
    ap.add_argument("--trackers", nargs="+", default=list(TRACKERS), choices=TRACKERS)
    ap.add_argument("--write", type=Path, help="record the hashes in this file")
    ap.add_argument("--check", type=Path, help="compare with the hashes recorded in this file")
    args = ap.parse_args(argv)
    splits = args.splits or [FIXTURE]
    lines = []
    for split in splits:
        for fp in args.fp_rates:
            sequences = real_frames(split, fp, images=False)
            for name in args.trackers:
                exact, ids = run_hash(name, sequences)
                line = f"{split} {fp:g} {name} {exact} {ids}"
                print(line, flush=True)
                lines.append(line)
    if args.write:
        args.write.write_text("\n".join(lines) + "\n")
    if args.check:
        expected = [line for line in args.check.read_text().splitlines() if line.split()[2] in args.trackers]
        if len(expected) != len(lines):
            print(f"{args.check}: {len(expected)} runs recorded, {len(lines)} run", file=sys.stderr)
            return 1
        exact = sum(a.split()[3] != b.split()[3] for a, b in zip(expected, lines))
        ids = sum(a.split()[4:] != b.split()[4:] for a, b in zip(expected, lines))
        print(f"{args.check}: {len(lines)} runs; exact state hashes differ in {exact}, "
              f"the outputs' ids, classes and detections in {ids}")
        return 1 if exact else 0
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
