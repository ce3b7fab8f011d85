"""``cmc=pose``'s design choices, each against its alternative, on the synthetic tune splits only.

    python benchmarks/pose_decisions.py [VARIANT ...] [--trackers botsort,bytetrack,ocsort]
        [--data /work/data/runs/data] [--datasets synth6,synth24x6] [--out runs/pose-decisions]

A VARIANT is ``today`` or comma-separated switches of :mod:`trackers.pose_cmc` (unnamed ones keep
today's value): ``cov=0|1`` carry the covariance T P T^T (1) or leave it; ``sides=0|1`` cut moved
boxes at the left/right edges too; ``after=0|1`` move BoT-SORT's states after boxmot's prediction,
where its own CMC acts (1), or before its update (0; the order the three trackers share: only
BoT-SORT has that hook, so ``after=1`` runs BoT-SORT alone); ``noise=K`` add compensation noise,
a position sd of K x the box height per metre of ego travel between the frames; ``full=rotate|stay``
a box spanning the image's height turned like any box off the ground (rotate) or left where it is. Default: the
experiment as run (``DEFAULT_VARIANTS``: the choices before it, each alternative alone, noise at
0.03, 0.06, 0.12, the winners combined, then the noise at 0.015 and 0.0075 with the side cut, then
full-height boxes left where they are).

Each tracker with ``cmc=pose`` is scored by ``ground_rules.py``'s recipe on four sets, the
``tune`` split of each dataset with ground truth as detections and with ``tune_synthetic.py``'s
noisy detections, every frame with its image as ``bench_perfect.py`` gives it. Printed: one line
per tracker and variant (HOTA % / IDSW per set; the HOTA sum and IDSW sum of the four), and per
variant the sums over the trackers. Criterion: the best HOTA sum, then the fewest IDSW; within
0.05 of HOTA sum today's choice stays.
"""
from __future__ import annotations

import argparse
import contextlib
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

#: switch name -> (trackers.pose_cmc attribute, parser)
SWITCHES = {"cov": ("_CARRY_COVARIANCE", lambda v: bool(int(v))), "sides": ("_CLIP_SIDES", lambda v: bool(int(v))),
            "after": ("_AFTER_PREDICT", lambda v: bool(int(v))), "noise": ("_NOISE_PER_M", float),
            "full": ("_FULL_HEIGHT_STAYS", lambda v: {"rotate": False, "stay": True}[v])}
#: the experiment as it was run, spelled out so that it reproduces whatever the defaults are: the
#: choices before it (first), each alternative alone, the noise at its three levels, the winners
#: combined (today's defaults), then the noise grid extended below its chosen edge level, then
#: full-height boxes left in place
DEFAULT_VARIANTS = ("sides=0,noise=0", "cov=0,sides=0,noise=0", "sides=1,noise=0", "after=1,sides=0,noise=0",
                    "sides=0,noise=0.03", "sides=0,noise=0.06", "sides=0,noise=0.12", "sides=1,noise=0.03",
                    "sides=1,noise=0.015", "sides=1,noise=0.0075", "sides=1,noise=0.03,full=stay")


def parse_variant(text: str) -> dict:
    """``"cov=0,noise=0.06"`` -> {attribute: value}; ``"today"`` -> {}."""
    if text == "today":
        return {}
    out = {}
    for kv in text.split(","):
        key, _, value = kv.partition("=")
        if key not in SWITCHES:
            raise SystemExit(f"pose_decisions.py: variant {text!r}: {key!r} is not one of {', '.join(SWITCHES)}")
        attr, parse = SWITCHES[key]
        out[attr] = parse(value)
    return out


@contextlib.contextmanager
def switched(values: dict):
    """:mod:`trackers.pose_cmc`'s switches set to ``values`` for the block, then restored."""
    from trackers import pose_cmc

    saved = {attr: getattr(pose_cmc, attr) for attr in values}
    try:
        for attr, value in values.items():
            setattr(pose_cmc, attr, value)
        yield
    finally:
        for attr, value in saved.items():
            setattr(pose_cmc, attr, value)


def main(argv=None) -> int:
    from ground_rules import criterion, format_cells, score_sets

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("variants", nargs="*", default=list(DEFAULT_VARIANTS))
    ap.add_argument("--trackers", default="botsort,bytetrack,ocsort")
    ap.add_argument("--data", type=Path, default=Path("/work/data/runs/data"), help="folder of prepared datasets")
    ap.add_argument("--datasets", default="synth6,synth24x6")
    ap.add_argument("--out", type=Path, default=ROOT / "runs" / "pose-decisions")
    ap.add_argument("--digits", type=int, default=2)
    args = ap.parse_args(argv)
    variants = [(v, parse_variant(v)) for v in args.variants]
    trackers = args.trackers.split(",")
    totals = {}
    for label, values in variants:
        hota, idsw = 0.0, 0
        for tracker in trackers:
            if values.get("_AFTER_PREDICT") and tracker != "botsort":
                continue
            tag = label.replace(",", "_").replace("=", "-")
            with switched(values):
                cells = score_sets(tracker, {"cmc": "pose"}, args.data, args.datasets.split(","), ["gt", "noisy"],
                                   args.out / tag, force=True)
            h, i = criterion(cells)
            hota, idsw = hota + h, idsw + i
            print(f"{label:24s} {tracker:10s} | {format_cells(cells, args.digits)}", flush=True)
        totals[label] = (hota, idsw)
    print("sums over the trackers run (HOTA sum over sets and trackers, IDSW):")
    for label, (hota, idsw) in totals.items():
        print(f"  {label:24s} {hota:.{args.digits}f} {idsw}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
