"""Score every registered tracker on the real fixture with GT-derived noisy detections.

    python benchmarks/score_fixture_trackers.py [--seed 0] [--json out.json]
        [--trackssm-weights runs/motion/NAME] [--trackers botsort,trackssm]

For each sequence of ``tests/fixtures/nuscenes-mini-real`` the same seeded noisy detections
(:func:`detbench.data.noisy.noisy_detections`, default noise) go to every tracker (default
options, the sequence's frame rate, images where the fixture has them). CLEAR counts come from
motmetrics per sequence and class (a track only matches ground truth of its own class), with
IoU computed here (motmetrics 1.4.0's ``iou_matrix`` breaks on numpy 2): distance = 1 - IoU,
no match below IoU 0.5. MOTA = 1 - (FN + FP + IDSW) / GT over all sequences and classes.
HOTA and AssA are TrackEval's, from ``detbench eval``'s own scorer (per class, combined).
TrackSSM (``trackssm`` and ``trackssm-gated``) runs with ``--trackssm-weights`` (a trained
motion-model dir); without it those two are skipped, never run with random weights.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from detbench.core.types import iou_matrix  # noqa: E402
from detbench.data.layout import PreparedDataset, frames_file, gt_file, seqinfo_file  # noqa: E402
from detbench.data.mot import list_sequences, mot_to_boxes, read_mot, read_seqinfo, tracks_to_mot  # noqa: E402
from detbench.data.noisy import noisy_detections  # noqa: E402

FIXTURE = ROOT / "tests" / "fixtures" / "nuscenes-mini-real"
COUNTS = ("num_objects", "num_misses", "num_false_positives", "num_switches", "num_matches")


def clear_counts(gt: np.ndarray, hyp: np.ndarray, iou_min: float = 0.5) -> dict[str, int]:
    """CLEAR counts of a (K, 9) result table against a (K, 9) GT table, class by class."""
    import motmetrics as mm

    totals = dict.fromkeys(COUNTS, 0)
    frames = sorted(set(gt[:, 0].astype(int)) | set(hyp[:, 0].astype(int)))
    for cls in sorted(set(gt[:, 7].astype(int)) | set(hyp[:, 7].astype(int))):
        acc = mm.MOTAccumulator(auto_id=False)
        g_c, h_c = gt[gt[:, 7] == cls], hyp[hyp[:, 7] == cls]
        for f in frames:
            g, h = g_c[g_c[:, 0] == f], h_c[h_c[:, 0] == f]
            iou = iou_matrix(mot_to_boxes(g), mot_to_boxes(h))
            dist = np.where(iou >= iou_min, 1.0 - iou, np.nan)
            acc.update(g[:, 1].astype(int).tolist(), h[:, 1].astype(int).tolist(), dist, frameid=f)
        summary = mm.metrics.create().compute(acc, metrics=list(COUNTS), name="x")
        for key in COUNTS:
            totals[key] += int(summary[key].iloc[0])
    return totals


def mota(c: dict[str, int]) -> float:
    return 1.0 - (c["num_misses"] + c["num_false_positives"] + c["num_switches"]) / max(c["num_objects"], 1)


def run_tracker(name: str, seq_dir: Path, dets: list[np.ndarray], options: dict | None = None) -> np.ndarray:
    from trackers import make_tracker
    from trackers.base import Frame

    info = read_seqinfo(seqinfo_file(seq_dir))
    meta = json.loads(frames_file(seq_dir).read_text())
    tracker = make_tracker(name, options or {}, frame_rate=info.frame_rate)
    tracker.begin_sequence(dets)  # the clean-up's per-sequence score recalibration (trackers/cleanup.py)
    rows = []
    for i, (m, d) in enumerate(zip(meta, dets)):
        frame = Frame(index=i, timestamp=m["timestamp"] / 1e6, frame_rate=info.frame_rate,
                      width=info.width, height=info.height, image_path=FIXTURE / m["image"])
        rows.append(tracks_to_mot(i + 1, tracker.update(d, frame)))
    return np.concatenate(rows) if rows else np.zeros((0, 9))


def hota_assa(results: dict[str, np.ndarray]) -> tuple[float, float]:
    """TrackEval HOTA and AssA over the fixture's sequences (per class, combined), via
    :func:`detbench.evaluate.api.evaluate_folders` on result files in a temporary folder."""
    import tempfile

    from detbench.data.mot import write_mot
    from detbench.evaluate.api import evaluate_folders

    with tempfile.TemporaryDirectory() as tmp:
        for seq, table in results.items():
            write_mot(Path(tmp) / f"{seq}.txt", table)
        overall = evaluate_folders(PreparedDataset(FIXTURE).sequences_root, tmp)["overall"]
    return overall["HOTA"], overall["AssA"]


def main(argv=None) -> int:
    from trackers import TRACKERS

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", type=Path)
    ap.add_argument("--trackssm-weights", default=None, help="trained motion-model dir for trackssm*")
    ap.add_argument("--trackers", default=None, help="comma list (default: every registered tracker)")
    args = ap.parse_args(argv)
    seq_root = PreparedDataset(FIXTURE).sequences_root
    data = []
    for k, seq in enumerate(list_sequences(seq_root)):
        gt = read_mot(gt_file(seq_root / seq), kind="gt")
        info = read_seqinfo(seqinfo_file(seq_root / seq))
        data.append((seq_root / seq, gt, noisy_detections(gt, info.length, info.width, info.height,
                                                           seed=args.seed + k)))
    det_counts = clear_counts(np.concatenate([g for _, g, _ in data]), np.zeros((0, 9)))
    print(f"fixture: {len(data)} sequences, {det_counts['num_objects']} GT boxes, seed {args.seed}")
    print("| tracker | HOTA | AssA | IDSW | MOTA | FP | FN | matches |\n|---|---|---|---|---|---|---|---|")
    results = {}
    names = args.trackers.split(",") if args.trackers else sorted(TRACKERS)
    for name in names:
        options = {}
        if name.startswith("trackssm"):
            if args.trackssm_weights is None:
                print(f"| {name} | skipped: needs --trackssm-weights (trained weights) |||||||")
                continue
            options = {"weights": args.trackssm_weights}
        try:
            total = dict.fromkeys(COUNTS, 0)
            tables = {}
            for seq_dir, gt, dets in data:
                tables[seq_dir.name] = run_tracker(name, seq_dir, dets, options)
                c = clear_counts(gt, tables[seq_dir.name])
                total = {key: total[key] + c[key] for key in COUNTS}
        except (ImportError, AttributeError) as e:
            print(f"| {name} | not available ({type(e).__name__}: {e}) |||||||")
            continue
        hota, assa = hota_assa(tables)
        results[name] = dict(total, MOTA=mota(total), HOTA=hota, AssA=assa, options=options)
        print(f"| {name} | {hota:.3f} | {assa:.3f} | {total['num_switches']} | {mota(total):.3f} | "
              f"{total['num_false_positives']} | {total['num_misses']} | {total['num_matches']} |")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
