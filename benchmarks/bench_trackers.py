"""Tracker speed on CPU at nuScenes density: frames/s per tracker, with and without CMC, and the
BoT-SORT adapter's overhead against boxmot's BotSort called directly (same detections, same run).

    python benchmarks/bench_trackers.py [--frames 60] [--repeats 3] [--densities 10 30 60]
    python benchmarks/bench_trackers.py --pose-split runs/data/synth6/sequences/val [--repeats 3] [--warm]
    python benchmarks/bench_trackers.py --adapters [--repeats 5] [--fp-rates 1 20]

Detections: a synthetic 1600x900 scene of ``density`` objects of random classes moving
linearly (up to 25 px per frame), through :func:`detbench.data.noisy.noisy_detections`
(jitter 0.05, drop 0.1, 0.1 * density false positives per frame), seeded. Every frame carries a
camera calibration (a forward camera 1.5 m up, driving 5 m/s) for trackers that need one
(``ground``); boxes below the horizon then have ground contacts, those above are image-only. CMC runs on a
blurred random texture panned by (12, 5) px per frame (20 images, cycled). Figures are medians
of ``repeats`` runs; ``overhead`` = adapter time / direct time on single-class detections
(all rows relabelled car), adapter and direct interleaved in each repeat.

``--adapters`` times each boxmot adapter (``botsort`` with ``cmc=none``, ``bytetrack``,
``ocsort``) against boxmot's own class (``BotSort``, ``ByteTrack``, ``OcSort``) with
``per_class=True`` and the adapter's own settings (its ``boxmot_kwargs()``), on the same
detections: the real fixture's six sequences (``--adapters-split``, default
tests/fixtures/nuscenes-mini-real/sequences), each sequence's ground truth through
``noisy_detections`` with ``--fp-rates`` false positives a frame (20: about 29 boxes a frame of
7 classes). Figures: frames per CPU-second of this process (each sequence from a fresh tracker,
as ``track_split`` does; the adapter's lazily built class instances count, boxmot's one
construction does not), median of ``repeats``, adapter and boxmot interleaved; whether the two
give the same tracks (the same rows, in any order); and the adapter's ``reset()`` after a sequence (median ms).

``--pose-split DIR`` (a prepared split's sequences, images under the dataset's dataroot) times
camera-motion compensation on real frames instead: BoT-SORT with ``cmc=none``, ``cmc=pose``
(the frames' poses) and ``cmc=sof`` (sparse optical flow on the JPEGs, decoded before the timer
starts, so the flow is timed without the decoding), ByteTrack and OC-SORT with and without
``cmc=pose``; detections are each sequence's ground truth through ``noisy_detections`` (seeded
defaults, with ``--fp-rates`` false positives per frame: one table per rate). Figures: CPU
milliseconds per frame (this process's CPU time: the cores are shared) over all frames of the
split, median of ``repeats`` runs, the configurations interleaved sequence by sequence; ratios against
the same tracker's ``cmc=none``. ``cmc=pose`` remembers each frame's camera and each pair of
cameras by content; every run starts without them (as one ``detbench track`` does) unless
``--warm`` keeps them across runs (as a tuning grid or a comparison tracking the same frames).
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from detbench.data.layout import PreparedDataset  # noqa: E402
from detbench.data.noisy import noisy_detections  # noqa: E402

W, H = 1600, 900


def scene(density: int, frames: int, seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    rows = []
    for tid in range(1, density + 1):
        w = rng.uniform(30, 300)
        h = w * rng.uniform(0.5, 1.5)
        x, y = rng.uniform(0, W - w), rng.uniform(0, H - h)
        vx, vy = rng.uniform(-25, 25), rng.uniform(-8, 8)
        cls = rng.choice(7, p=[0.5, 0.1, 0.05, 0.05, 0.2, 0.05, 0.05]) + 1
        for f in range(1, frames + 1):
            px = (x + vx * f) % (W - w)  # wrap around: density stays constant
            py = (y + vy * f) % (H - h)
            rows.append([f, tid, px, py, w, h, 1, cls, 1])
    return noisy_detections(np.array(rows), frames, W, H, seed=seed, jitter=0.05, drop=0.1,
                            fp_rate=0.1 * density)


def panning_images(n: int = 20) -> list[np.ndarray]:
    import cv2

    rng = np.random.default_rng(0)
    base = cv2.resize(rng.integers(0, 256, (H // 8, W // 8, 3), dtype=np.uint8), (W, H))
    base = cv2.GaussianBlur(base, (0, 0), 2)
    return [cv2.warpAffine(base, np.float32([[1, 0, 12 * f], [0, 1, 5 * f]]), (W, H),
                           borderMode=cv2.BORDER_REFLECT) for f in range(n)]


#: every frame's calibration: nuScenes CAM_FRONT intrinsics, a camera 1.5 m above the ground
#: driving forward at 5 m/s (trackers that need calibration read it, the others ignore it)
INTRINSICS = np.array([[1266.4, 0.0, 816.3], [0.0, 1266.4, 491.5], [0.0, 0.0, 1.0]])


def cam2global(t: float) -> np.ndarray:
    pose = np.eye(4)
    pose[:3, :3] = [[0.0, 0.0, 1.0], [-1.0, 0.0, 0.0], [0.0, -1.0, 0.0]]  # optical axis along +x
    pose[:3, 3] = (5.0 * t, 0.0, 1.5)
    return pose


def time_ours(name, options, dets, images=None) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process) to track ``dets``; on a shared machine the
    CPU time is what one core would take."""
    from trackers import make_tracker
    from trackers.base import Frame

    tracker = make_tracker(name, options, frame_rate=2.0)
    frames = [Frame(index=i, timestamp=i / 2, frame_rate=2.0, intrinsics=INTRINSICS, cam2global=cam2global(i / 2),
                    image=None if images is None else images[i % len(images)]) for i in range(len(dets))]
    t0, c0 = time.perf_counter(), time.process_time()
    for d, fr in zip(dets, frames):
        tracker.update(d, fr)
    return time.perf_counter() - t0, time.process_time() - c0


def time_direct(dets) -> float:
    from boxmot import BotSort

    tracker = BotSort(use_cmc=False, use_embeddings=False, frame_rate=2)  # = botsort cmc=none, 1.5 s
    t0 = time.perf_counter()
    for d in dets:
        tracker.update(d)
    return time.perf_counter() - t0


def real_frames(split: Path, fp_rate: float = 1.0, images: bool = True) -> list[tuple[list[np.ndarray], list]]:
    """(detections, frames with calibration and, with ``images``, decoded images) per sequence of
    ``split``; ``fp_rate`` false positives per frame on average (``noisy_detections``)."""
    import cv2
    from bench_perfect import default_images

    from detbench.data.layout import gt_file, seqinfo_file
    from detbench.data.mot import list_sequences, read_mot, read_seqinfo
    from detbench.tracking.sources import frame_of, read_frame_records

    dataroot = default_images(split) if images else None
    out = []
    for k, seq in enumerate(list_sequences(split)):
        info = read_seqinfo(seqinfo_file(split / seq))
        rec = read_frame_records(split / seq, info, [dataroot] if dataroot else [])
        dets = noisy_detections(read_mot(gt_file(split / seq), kind="gt"), info.length, info.width, info.height,
                                seed=k, fp_rate=fp_rate)
        frames = [frame_of(rec_job(seq, info, rec), i) for i in range(info.length)]
        for fr in frames if images else ():
            fr.image = cv2.imread(str(fr.image_path), cv2.IMREAD_COLOR) if fr.image_path else None
        out.append((dets, frames))
    return out


def rec_job(name, info, rec):
    """A :class:`detbench.tracking.sources.SequenceJob` of the frame records (no detections)."""
    from detbench.tracking.sources import SequenceJob

    return SequenceJob(name, info, rec.timestamps, rec.images, "mot", "", rec.intrinsics, rec.cam2global, rec.path)


def time_sequence(name, options, dets, frames) -> tuple[float, float]:
    """CPU seconds of this process to track one sequence from a fresh tracker (as track_split
    does), and of them the seconds spent in ``cmc=pose``'s compensation itself (0 without it);
    CPU time, not wall time, because the machine's cores are shared with other work."""
    from trackers import make_tracker

    tracker = make_tracker(name, options, frame_rate=frames[0].frame_rate)
    pose = getattr(getattr(tracker, "inner", tracker), "_pose", None)
    spent = [0.0]
    if pose is not None:
        pose.before_update = _timed(pose.before_update, spent)
    t0 = time.process_time()
    for d, fr in zip(dets, frames):
        tracker.update(d, fr)
    return time.process_time() - t0, spent[0]


def _timed(fn, spent: list):
    """``fn`` adding its CPU seconds to ``spent[0]``."""
    def timed(*args):
        t0 = time.process_time()
        fn(*args)
        spent[0] += time.process_time() - t0
    return timed


FIXTURE = PreparedDataset(Path(__file__).resolve().parent.parent / "tests" / "fixtures"
                          / "nuscenes-mini-real").sequences_root
ADAPTERS = (("botsort", {"cmc": "none"}, "BotSort"), ("bytetrack", {}, "ByteTrack"), ("ocsort", {}, "OcSort"))


def track_direct(cls_name: str, kwargs: dict, dets: list[np.ndarray]) -> tuple[list[np.ndarray], float]:
    """boxmot's own ``cls_name(**kwargs, per_class=True)`` on ``dets`` -> (tracks per frame with
    1-based ids, CPU seconds of the updates)."""
    import boxmot

    tracker = getattr(boxmot, cls_name)(**kwargs, per_class=True)
    out = []
    t0 = time.process_time()
    for d in dets:
        out.append(tracker.update(d))
    cpu = time.process_time() - t0
    for t in out:
        t[:, 4] += 1
    return out, cpu


def track_adapter(name: str, options: dict, dets: list[np.ndarray], frames: list) -> tuple[list[np.ndarray], float, float, dict]:
    """Our adapter on ``dets`` from a fresh tracker -> (tracks per frame, CPU seconds of the
    updates, seconds of ``reset()`` after the sequence, the boxmot settings it uses)."""
    from trackers import make_tracker

    tracker = make_tracker(name, options, frame_rate=frames[0].frame_rate)
    out = []
    t0 = time.process_time()
    for d, fr in zip(dets, frames):
        out.append(tracker.update(d, fr))
    cpu = time.process_time() - t0
    t0 = time.perf_counter()
    tracker.reset()
    return out, cpu, time.perf_counter() - t0, tracker.boxmot_kwargs()


def _rows(tracks: np.ndarray) -> np.ndarray:
    """A frame's track rows in a fixed order (ours come sorted by id, boxmot's by class)."""
    return tracks[np.lexsort(tracks.T[::-1])]


def adapter_timing(split: Path, repeats: int, fp_rate: float) -> None:
    sequences = real_frames(split, fp_rate, images=False)
    n_frames = sum(len(f) for _, f in sequences)
    n_dets = np.mean([len(d) for dets, _ in sequences for d in dets])
    cpu = {(name, side): [] for name, _, _ in ADAPTERS for side in ("ours", "boxmot")}
    resets, same = {name: [] for name, _, _ in ADAPTERS}, {name: True for name, _, _ in ADAPTERS}
    for _ in range(repeats):
        for name, options, cls_name in ADAPTERS:
            total_ours = total_direct = 0.0
            for dets, frames in sequences:
                ours, t_ours, t_reset, kwargs = track_adapter(name, options, dets, frames)
                theirs, t_direct = track_direct(cls_name, kwargs, dets)
                total_ours, total_direct = total_ours + t_ours, total_direct + t_direct
                resets[name].append(t_reset)
                same[name] &= all(np.array_equal(_rows(a), _rows(b)) for a, b in zip(ours, theirs))
            cpu[(name, "ours")].append(total_ours)
            cpu[(name, "boxmot")].append(total_direct)
    print(f"\n{split}: {len(sequences)} sequences, {n_frames} frames, {n_dets:.1f} detections/frame "
          f"(fp_rate {fp_rate:g}); frames per CPU-second, median of {repeats}")
    print("| adapter | ours frames/s | boxmot per_class=True frames/s | ours / boxmot | same tracks | reset ms (median) |")
    print("|---|---|---|---|---|---|")
    for name, _, cls_name in ADAPTERS:
        ours = n_frames / statistics.median(cpu[(name, "ours")])
        theirs = n_frames / statistics.median(cpu[(name, "boxmot")])
        print(f"| {name} vs {cls_name} | {ours:.0f} | {theirs:.0f} | {ours / theirs:.2f} | "
              f"{'yes' if same[name] else 'no'} | {1000 * statistics.median(resets[name]):.3f} |")


def pose_timing(split: Path, repeats: int, fp_rate: float = 1.0, warm: bool = False) -> None:
    from detbench.core.image_motion import forget_cameras

    sequences = real_frames(split, fp_rate)
    n_frames = sum(len(f) for _, f in sequences)
    n_dets = np.mean([len(d) for dets, _ in sequences for d in dets])
    missing = sum(1 for _, frames in sequences for fr in frames if fr.image is None)
    if missing:
        raise SystemExit(f"{split}: {missing} frames without an image (sparse flow needs them all)")
    configs = [("botsort", "none"), ("botsort", "pose"), ("botsort", "sof"), ("bytetrack", "none"),
               ("bytetrack", "pose"), ("ocsort", "none"), ("ocsort", "pose")]
    times = {c: [] for c in configs}
    spent = {c: [] for c in configs}
    for _ in range(repeats):
        total, own = dict.fromkeys(configs, 0.0), dict.fromkeys(configs, 0.0)
        # the configurations interleaved sequence by sequence: a change in the machine's load
        # falls on all of them alike (whole-split turns drifted by up to 0.1 in the ratios)
        for dets, frames in sequences:
            for name, cmc in configs:
                if not warm:
                    forget_cameras()
                cpu, comp = time_sequence(name, {"cmc": cmc}, dets, frames)
                total[(name, cmc)] += cpu
                own[(name, cmc)] += comp
        for c in configs:
            times[c].append(total[c])
            spent[c].append(own[c])
    ms = {c: 1000 * statistics.median(t) / n_frames for c, t in times.items()}
    own = {c: 1000 * statistics.median(t) / n_frames for c, t in spent.items() if c[1] == "pose"}
    print(f"\n{split}: {len(sequences)} sequences, {n_frames} frames with images and poses, "
          f"{n_dets:.1f} detections/frame (fp_rate {fp_rate:g}); CPU ms per frame, median of {repeats}; "
          f"cameras {'remembered across runs (--warm)' if warm else 'built afresh in every run'}; "
          "compensation: the part spent carrying the tracks into the new camera (the rest of the "
          "difference is the tracking itself changing)")
    print("| tracker | cmc | ms/frame | vs cmc=none | compensation ms/frame | compensation / cmc=none |")
    print("|---|---|---|---|---|---|")
    for (name, cmc), value in ms.items():
        base = ms[(name, "none")]
        extra = f"{own[(name, cmc)]:.3f} | {own[(name, cmc)] / base:.3f}" if (name, cmc) in own else "- | -"
        print(f"| {name} | {cmc} | {value:.3f} | {value / base:.3f} | {extra} |")


def main(argv=None) -> int:
    from trackers import TRACKERS
    from trackers.boxmot_common import quiet_boxmot

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=60)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--densities", type=int, nargs="+", default=[10, 30, 60])
    ap.add_argument("--skip", nargs="*", default=[], help="tracker names to leave out")
    ap.add_argument("--pose-split", type=Path, help="time cmc=pose against cmc=none and sparse flow on this "
                    "prepared split's real frames instead (runs/data/<name>/sequences/<split>)")
    ap.add_argument("--fp-rates", type=float, nargs="+", default=[1.0, 20.0],
                    help="with --pose-split: false positives per frame added to the ground truth (one table each)")
    ap.add_argument("--warm", action="store_true", help="with --pose-split: keep the cameras and camera pairs "
                    "cmc=pose remembers by content across runs, as a tuning grid does (default: every run "
                    "builds its own, as one `detbench track` does)")
    ap.add_argument("--adapters", action="store_true", help="time each boxmot adapter against boxmot's own "
                    "per_class=True on the same detections (--adapters-split's real frames) instead")
    ap.add_argument("--adapters-split", type=Path, default=FIXTURE, help="with --adapters: the sequences "
                    "(default: the real fixture, tests/fixtures/nuscenes-mini-real/sequences)")
    args = ap.parse_args(argv)
    quiet_boxmot()
    from boxmot import BotSort, ByteTrack, OcSort  # noqa: F401  (import once, outside the timings)
    if args.adapters:
        for fp_rate in args.fp_rates:
            adapter_timing(args.adapters_split, args.repeats, fp_rate)
        return 0
    if args.pose_split:
        for fp_rate in args.fp_rates:
            pose_timing(args.pose_split, args.repeats, fp_rate, args.warm)
        return 0
    images = panning_images()
    configs = [("iou", "iou", {}, False), ("botsort (cmc none)", "botsort", {"cmc": "none"}, False),
               ("botsort (cmc pose)", "botsort", {"cmc": "pose"}, False),
               ("botsort (cmc sof)", "botsort", {"cmc": "sof"}, True),
               ("bytetrack", "bytetrack", {}, False), ("ocsort", "ocsort", {}, False),
               ("ground", "ground", {}, False)]
    if "trackssm" in TRACKERS:
        configs.append(("trackssm (random weights)", "trackssm", {"weights": "random"}, False))
    configs = [c for c in configs if c[1] not in args.skip]
    table = {}
    for density in args.densities:
        dets = scene(density, args.frames, seed=density)
        n_dets = np.mean([len(d) for d in dets])
        for label, name, options, with_images in configs:
            try:
                runs = [time_ours(name, options, dets, images if with_images else None)
                        for _ in range(args.repeats)]
            except (ImportError, AttributeError) as e:
                print(f"{label}: not available ({type(e).__name__}: {e})")
                continue
            table.setdefault(label, {})[density] = args.frames / statistics.median(r[0] for r in runs)
            cpu = args.frames / statistics.median(r[1] for r in runs)
            print(f"  {label} @ {density}: {table[label][density]:.0f} frames/s ({cpu:.0f} per CPU-second)", flush=True)
        single = [d.copy() for d in dets]
        for d in single:
            d[:, 5] = 0
        ratios, direct_fps = [], []
        for _ in range(args.repeats):
            t_direct = time_direct(single)
            t_ours = time_ours("botsort", {"cmc": "none", "track_buffer_s": 1.5}, single)[0]
            ratios.append(t_ours / t_direct)
            direct_fps.append(args.frames / t_direct)
        table.setdefault("boxmot BotSort direct (1 class)", {})[density] = statistics.median(direct_fps)
        table.setdefault("adapter overhead (time ratio, 1 class)", {})[density] = statistics.median(ratios)
        print(f"density {density}: {n_dets:.1f} detections/frame on average", flush=True)
    cols = args.densities
    print(f"\nframes/s on CPU, {args.frames} frames, median of {args.repeats}")
    print("| tracker | " + " | ".join(f"{c} objects" for c in cols) + " |")
    print("|---|" + "---|" * len(cols))
    for label, row in table.items():
        fmt = "{:.2f}" if "ratio" in label else "{:.0f}"
        print(f"| {label} | " + " | ".join(fmt.format(row[c]) if c in row else "-" for c in cols) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
