"""Detection clean-up at 2 Hz with duplicate detections: today's defaults vs the tuned clean-up.

    python benchmarks/bench_cleanup.py --data runs/data/synth6 [--trackers iou,botsort,...]
        [--trackssm-weights runs/motion/synth6] [--out runs/cleanup] [--seed 0]

1. Seeded GT-derived detections (:func:`detbench.data.noisy.noisy_detections`: the usual jitter,
   misses and false positives, plus ``DUPLICATES``: 1-2 high-score duplicates for 50 % of the
   true boxes, half of them with another class) for the synthetic ``tune`` and ``val`` splits of
   ``--data`` and for the real fixture (``tests/fixtures/nuscenes-mini-real``, six cameras).
2. On the synthetic **tune** split only: first the options outside the grid (the association cost
   where the tracker has one, for ``ground`` its contact and process noise and its birth rules,
   for ``trackssm`` its duplicate-aware birth, ground pass (with and without a track's own
   height), stage order, shadow tracks and history blend, ``ASSOCIATION``; the
   clean-up's score fusion and box merge, ``FUSE``; the buffered association ``box_buffer``,
   ``BUFFERS``, the same for every tracker), each candidate at the tracker's defaults with
   ``nms_iou=0.7``, best by the tune objective (max HOTA, then min IDSW); then ``detbench tune``
   with those fixed (the 81-point grid: the tracker's own options x the clean-up's ``nms_iou``).
   From the same 81 scored points two settings are taken: ``tuned`` (``detbench tune``'s objective:
   max HOTA, then min IDSW) and ``tuned for IDSW`` (the issue's criterion moved onto the tune split:
   min IDSW among the points whose tune HOTA is above today's default's tune HOTA, then max HOTA).
3. Every tracker on the fixture and on the synthetic val split: ``default`` (today's defaults,
   clean-up off), ``default+cleanup`` (defaults with the tuned clean-up options), ``tuned``,
   ``tuned for IDSW``; and, for reference, ``default, no duplicates``:
   today's defaults on the same detections without the duplicates (the duplicates come from a
   second random stream, so these are exactly the other rows: what a perfect clean-up would
   leave). HOTA, IDSW, MOTA from ``detbench eval``'s scorer.

Neither reported split is read before step 3. Results: ``<out>/results.json`` and a markdown table.

``--oracle`` (separately, after the above): every point of the 81-point grid x ``BUFFERS``, with
the association cost, fusion and merge that step 2 chose (from ``results.json``), scored on the
**fixture itself** -> ``<out>/oracle.json``: the lowest IDSW any of them reaches with HOTA above
today's default there; and the same with the duplicates removed exactly (the ``no duplicates``
detections: what a perfect clean-up leaves) over the tracker's own 27 points x ``BUFFERS`` with
its chosen association cost. Both read the reported data, so they are no result: they bound what
any choice within these options can reach (when the fewest IDSW is above half of the default's,
no tuning of them, and with the second no clean-up at all, meets the bar of at most half the default's IDSW).
"""
from __future__ import annotations

import argparse
import itertools
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from detbench.data.layout import PreparedDataset, gt_file, seqinfo_file  # noqa: E402

FIXTURE = ROOT / "tests" / "fixtures" / "nuscenes-mini-real"
DUPLICATES = dict(dup_share=0.5, dup_count=(1, 2), dup_jitter=0.1, dup_other_class=0.5)
TRACKERS = ("iou", "botsort", "bytetrack", "ocsort", "trackssm", "trackssm-gated")
_COSTS = [{"cost": c} for c in ("iou", "giou", "centre")]
_SSM_BIRTH = {"birth_overlap": 0.4, "birth_overlap_by": "union"}
_SSM_GROUND = [{}, {"assoc": "ground", "assoc_gate": 4.0, "assoc_bonus": 8.0}, {"assoc": "ground", "assoc_gate": 6.0}]
_SSM_RULES = ([{"tracked_first": True}]
              + [{**_SSM_BIRTH, **g, **({"tracked_first": True} if first else {})} for first in (False, True)
                 for g in _SSM_GROUND if first or g]
              + [{**_SSM_BIRTH, "tracked_first": True, "shadow_overlap": 0.6}]
              + [{**_SSM_BIRTH, **g, "history_blend": b} for g in _SSM_GROUND[:2] for b in (0.2, 0.3, 0.4)])
# every ground-pass candidate also with a track's own height in its cost (ground's size_sigma default)
_SSM_RULES += [{**r, "assoc_size_sigma": 0.05} for r in _SSM_RULES if r.get("assoc") == "ground"]
# per tracker: the candidate association settings (boxmot's BoT-SORT / ByteTrack expose none)
ASSOCIATION = {"iou": [{"cost": c, "motion": m} for m in ("none", "cv") for c in ("iou", "giou", "centre")],
               "ocsort": [{"asso_func": a} for a in ("iou", "giou", "diou", "ciou", "hmiou")],
               # trackssm: also its duplicate-aware birth (trackers.trackssm.rules) with the default cost, and
               # with that birth rule the order of the first stage (tracked tracks first), the ground pass
               # (trackers.trackssm.associate; with and without the track's own height), shadow tracks
               # ending and the history blend
               "trackssm": _COSTS + [{"birth_overlap": o, "birth_overlap_by": by} for by in ("smaller", "union")
                                     for o in (0.4, 0.2)] + _SSM_RULES,
               "trackssm-gated": _COSTS, "botsort": [{}], "bytetrack": [{}],
               # ground: its contact noise and process noise (jittered boxes move the contact point), and
               # its birth rules at the default noise: duplicate-aware birth and the birth margin
               "ground": [{"noise": n, "accel": a} for n in (0.1, 0.2) for a in (2.0, 4.0)]
               + [{"birth_overlap": o, "birth_margin": m} for o in (1.0, 0.8, 0.6, 0.4, 0.2) for m in (0.0, 0.1, 0.25)
                  if (o, m) != (1.0, 0.1)]}
# the pose-compensated variants (cmc=pose) have the candidates of their tracker
ASSOCIATION.update({f"{name}-pose": ASSOCIATION[name] for name in ("botsort", "bytetrack", "ocsort")})
FUSE = [{"nms_fuse": f, "nms_merge": m} for f in ("max", "noisy_or") for m in ("top", "wbf")]
BUFFERS = [{"box_buffer": b} for b in (0.0, 0.3, 0.6)]


def fixed_choice(trk: str, base: dict, data: Path, dets: Path, out: Path) -> tuple[dict, list]:
    """Stage 1 on the tune split: the best association x fusion x buffer candidate (module docstring)."""
    candidates = [{**base, **assoc, **fuse, **buffer}
                  for assoc, fuse, buffer in itertools.product(ASSOCIATION[trk], FUSE, BUFFERS)]
    rows = scored_points(PreparedDataset(data).gt_dir("tune"), dets, trk, candidates, out / "stage1" / trk,
                         extra={"nms_iou": 0.7})
    best = max(rows, key=lambda r: (round(r["HOTA"], 6), -r["IDSW"]))
    return best["options"], rows


def scored_points(root: Path, dets: Path, trk: str, candidates: list[dict], out: Path,
                  extra: dict | None = None) -> list[dict]:
    """Each candidate (with ``extra`` on top when tracking, not in the recorded options) tracked and
    scored on ``root`` -> [{"options", "HOTA", "IDSW"}]; tracks under ``out`` keyed by the options."""
    from detbench.core.fileio import sha256_json

    rows = []
    for opts in candidates:
        m = score(root, dets, trk, {**opts, **(extra or {})}, out / sha256_json(opts)[:12])
        rows.append({"options": opts, "HOTA": m["HOTA"], "IDSW": m["IDSW"]})
    return rows


def idsw_choice(rows: list[dict], default_hota: float) -> dict | None:
    """``tuned for IDSW`` (module docstring, step 2): the fewest IDSW among the tune rows whose HOTA
    is above ``default_hota``, then the highest HOTA, then grid order; None when no row is above."""
    above = [r for r in rows if r["HOTA"] > default_hota]
    return min(above, key=lambda r: (r["IDSW"], -round(r["HOTA"], 6))) if above else None


def oracle(trk: str, base: dict, chosen: dict, fixture: Path, dets: Path, out: Path) -> dict:
    """``--oracle`` for one tracker (module docstring): every point scored on the fixture itself;
    ``chosen``: step 2's tuned options (their grid keys and ``box_buffer`` are replaced)."""
    from detbench.tuning.tune import grid_points, tracker_grid

    fixed = {k: v for k, v in chosen.items() if k not in tracker_grid(trk) and k != "box_buffer"}
    default = score(fixture, dets, trk, base, out / "default")
    rows = scored_points(fixture, dets, trk, [{**base, **fixed, **buffer, **point} for buffer, point
                                              in itertools.product(BUFFERS, grid_points(trk))], out)
    best = idsw_choice(rows, default["HOTA"])
    return {"default": default, "points": len(rows), "min_IDSW_with_HOTA_above_default": best,
            "max_HOTA": max(rows, key=lambda r: (round(r["HOTA"], 6), -r["IDSW"]))}


def oracle_exact_cleanup(trk: str, base: dict, chosen: dict, default_hota: float, fixture: Path, nodup: Path,
                         out: Path) -> dict:
    """``--oracle``'s second bound (module docstring): the duplicates removed exactly, the tracker's
    own grid x ``BUFFERS`` with step 2's association cost, scored on the fixture itself."""
    from detbench.tuning.tune import grid_points, tracker_grid
    from trackers.cleanup import CLEANUP_KEYS

    own = {k: v for k, v in tracker_grid(trk).items() if k not in CLEANUP_KEYS}
    fixed = {k: v for k, v in chosen.items() if k not in own and k not in CLEANUP_KEYS}
    rows = scored_points(fixture, nodup, trk, [{**base, **fixed, **buffer, **point} for buffer, point
                                               in itertools.product(BUFFERS, grid_points(trk, own))], out)
    return {"points": len(rows), "min_IDSW_with_HOTA_above_default": idsw_choice(rows, default_hota),
            "min_IDSW": min(rows, key=lambda r: (r["IDSW"], -round(r["HOTA"], 6)))}


def base_options(trk: str, trackssm_weights: str | None) -> dict:
    """Today's defaults: no options, except the motion model a TrackSSM tracker needs."""
    return {"weights": trackssm_weights} if trk.startswith("trackssm") else {}


def write_noisy(seq_root: Path, out: Path, seed: int, duplicates: bool = True) -> Path:
    """One MOT detection file per sequence of ``seq_root`` (seed + sequence index)."""
    from detbench.data.mot import list_sequences, read_mot, read_seqinfo, write_mot_dets
    from detbench.data.noisy import noisy_detections

    out.mkdir(parents=True, exist_ok=True)
    for k, seq in enumerate(list_sequences(seq_root)):
        gt = read_mot(gt_file(seq_root / seq), kind="gt")
        info = read_seqinfo(seqinfo_file(seq_root / seq))
        write_mot_dets(out / f"{seq}.txt", noisy_detections(gt, info.length, info.width, info.height,
                                                            seed=seed + k, **(DUPLICATES if duplicates else {})))
    return out


def score(seq_root: Path, dets: Path, tracker: str, options: dict, out: Path) -> dict:
    from detbench.evaluate.api import evaluate_folders
    from detbench.tracking.run import track_split
    from detbench.tracking.sources import from_external

    track_split(from_external(dets, seq_root), tracker, out, options)
    o = evaluate_folders(seq_root, out)["overall"]
    return {k: o[k] for k in ("HOTA", "AssA", "DetA", "IDSW", "MOTA", "IDF1")}


def main(argv=None) -> int:
    from detbench.core.fileio import sha256_json
    from detbench.detect.resolved import ExternalDetections
    from detbench.tuning.tune import tune

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, required=True, help="prepared synthetic dataset (tune + val splits)")
    ap.add_argument("--trackers", default=",".join(TRACKERS))
    ap.add_argument("--trackssm-weights", default=None)
    ap.add_argument("--out", type=Path, default=Path("runs/cleanup"))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--defaults-only", action="store_true",
                    help="score only today's defaults (with and without the duplicates) on both splits: no tuning")
    ap.add_argument("--oracle", action="store_true",
                    help="score every option point on the fixture itself (a bound, not a result: see above)")
    args = ap.parse_args(argv)
    data = PreparedDataset(args.data)
    fixture = PreparedDataset(FIXTURE).sequences_root  # six sequences, no splits
    dets = {"tune": write_noisy(data.gt_dir("tune"), args.out / "dets" / "tune", args.seed + 1000),
            "val": write_noisy(data.gt_dir("val"), args.out / "dets" / "val", args.seed + 2000),
            "fixture": write_noisy(fixture, args.out / "dets" / "fixture", args.seed)}
    splits = {"fixture": fixture, "val": data.gt_dir("val")}
    nodup = {"val": write_noisy(splits["val"], args.out / "dets" / "val_nodup", args.seed + 2000, False),
             "fixture": write_noisy(fixture, args.out / "dets" / "fixture_nodup", args.seed, False)}
    if args.oracle:
        path = args.out / "oracle.json"
        found = json.loads(path.read_text()) if path.is_file() else {}
        chosen = json.loads((args.out / "results.json").read_text())
        for trk in args.trackers.split(","):
            base = base_options(trk, args.trackssm_weights)
            if trk not in found:
                found[trk] = oracle(trk, base, chosen[trk]["tuned_options"], fixture, dets["fixture"],
                                    args.out / "oracle" / trk)
                path.write_text(json.dumps(found, indent=2))
            o = found[trk]
            if "exact_cleanup" not in o:
                o["exact_cleanup"] = oracle_exact_cleanup(trk, base, chosen[trk]["tuned_options"],
                                                          o["default"]["HOTA"], fixture, nodup["fixture"],
                                                          args.out / "oracle" / f"{trk}-exact")
                path.write_text(json.dumps(found, indent=2))
            e = o["exact_cleanup"]
            print(f"{trk}: default IDSW {o['default']['IDSW']}, HOTA {o['default']['HOTA']:.4f}; "
                  f"over {o['points']} points the fewest IDSW with HOTA above it: "
                  f"{(o['min_IDSW_with_HOTA_above_default'] or {}).get('IDSW')}; duplicates removed exactly, "
                  f"over {e['points']} points: {(e['min_IDSW_with_HOTA_above_default'] or {}).get('IDSW')} "
                  f"(fewest at any HOTA {e['min_IDSW']['IDSW']})", flush=True)
        return 0
    path = args.out / "results.json"
    results = json.loads(path.read_text()) if path.is_file() else {}
    for trk in args.trackers.split(","):
        base = base_options(trk, args.trackssm_weights)
        if args.defaults_only:
            results[trk] = {split: {"default": score(root, dets[split], trk, base,
                                                     args.out / "tracks" / split / trk / sha256_json(base)[:12]),
                                    "default, no duplicates": score(root, nodup[split], trk, base,
                                                                    args.out / "tracks" / f"{split}_nodup" / trk)}
                            for split, root in splits.items()}
            path.write_text(json.dumps(results, indent=2))
            continue
        if trk in results:  # tuned and scored already: only the reference row, if missing
            for split, root in splits.items():
                results[trk][split].setdefault("default, no duplicates", score(
                    root, nodup[split], trk, base, args.out / "tracks" / f"{split}_nodup" / trk))
            path.write_text(json.dumps(results, indent=2))
            continue
        t0 = time.perf_counter()
        fixed, stage1 = fixed_choice(trk, base, args.data, dets["tune"], args.out)
        tuned = json.loads(tune(trk, ExternalDetections(dets["tune"], args.data, "tune"), "val",
                                base_options=fixed).read_text())
        tune_s = round(time.perf_counter() - t0, 1)
        best = tuned["best"]["options"]
        default_tune = score(data.gt_dir("tune"), dets["tune"], trk, base, args.out / "tracks" / "tune" / trk)
        by_idsw = idsw_choice(tuned["rows"], default_tune["HOTA"]) or tuned["best"]
        clean = {k: best[k] for k in ("nms_iou", "nms_fuse", "nms_merge", "box_buffer")}
        settings = {"default": base, "default+cleanup": {**base, **clean}, "tuned": best,
                    "tuned for IDSW": by_idsw["options"]}
        row = {"tuned_options": best, "tuned_for_idsw_options": by_idsw["options"], "tune_s": tune_s,
               "tune_HOTA": tuned["best"]["HOTA"], "tune_default": default_tune, "stage1": stage1}
        for split, root in splits.items():
            row[split] = {name: score(root, dets[split], trk, opts,
                                      args.out / "tracks" / split / trk / sha256_json(opts)[:12])
                          for name, opts in settings.items()}
            row[split]["default, no duplicates"] = score(root, nodup[split], trk, base,
                                                         args.out / "tracks" / f"{split}_nodup" / trk)
        results[trk] = row
        path.write_text(json.dumps(results, indent=2))
        print(f"{trk}: tuned {best} in {tune_s} s", flush=True)
    print(table(results))
    return 0


def table(results: dict) -> str:
    lines = []
    for split in ("fixture", "val"):
        lines += [f"\n{split}\n", "| tracker | setting | HOTA | AssA | IDSW | MOTA |", "|---|---|---|---|---|---|"]
        for trk, row in results.items():
            for name, m in row[split].items():
                lines.append(f"| {trk} | {name} | {100 * m['HOTA']:.2f} | {100 * m['AssA']:.2f} | {m['IDSW']} | "
                             f"{100 * m['MOTA']:.2f} |")
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
