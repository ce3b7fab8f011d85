"""Benchmark the cost of keying caches by content: image fingerprints and code keys.

    python benchmarks/bench_keys.py                       # 36,000 images (150 scenes x 6 cameras x 40)
    python benchmarks/bench_keys.py --scenes 5 --repeats 2    # quick

Builds a prepared dataset whose split has ``scenes x 6 cameras x --frames`` real JPEG files of
1600x900 pixels, about 170-230 KB each (24 rendered textures at quality 75, each file made
distinct by a JPEG comment segment holding its index, so every file has its own bytes and
decodes), in ``--dir`` (default: a temporary folder, removed at the end). Then times, in this
process, medians of ``--repeats``:

- ``detection_key`` (what ``detect`` computes before serving a cached entry) as it was before
  content keys (image hashes and code keys replaced by constants), and now: on a cache hit in a
  new process (the image index read from disk, code keys walked again) and in the same process
  (an 81-point tuning grid's repeated keys);
- the same for a BoT-SORT tracks key (``tracking.run.inputs_hash``);
- the first fingerprinting of the split with an empty index, once with the files in the page
  cache and once with them dropped from it (``fsync`` + ``posix_fadvise(DONTNEED)``; a virtual
  machine's host may still hold them).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

CAMERAS = ("CAM_FRONT", "CAM_FRONT_RIGHT", "CAM_BACK_RIGHT", "CAM_BACK", "CAM_BACK_LEFT", "CAM_FRONT_LEFT")


def textures(n: int, seed: int = 0) -> list[bytes]:
    """``n`` 1600x900 JPEGs (smooth colour fields with fine noise, quality 75: 170-230 KB)."""
    import cv2

    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        img = cv2.resize(rng.integers(0, 255, (45, 80, 3), dtype=np.uint8), (1600, 900),
                         interpolation=cv2.INTER_CUBIC)
        img = cv2.add(img, rng.integers(0, int(rng.integers(3, 24)), img.shape, dtype=np.uint8))
        out.append(cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 75])[1].tobytes())
    return out


def with_comment(jpeg: bytes, text: str) -> bytes:
    """The JPEG with a COM segment after its SOI marker: other bytes, the same image."""
    payload = text.encode()
    return jpeg[:2] + b"\xff\xfe" + (len(payload) + 2).to_bytes(2, "big") + payload + jpeg[2:]


def build(root: Path, scenes: int, frames: int) -> tuple[Path, Path, Path, list[Path]]:
    """-> (prepared dataset, checkpoint, detection cache folder, image files)."""
    from detbench.data.layout import PreparedDataset, frames_file, gt_file, seqinfo_file
    from detbench.data.mot import SeqInfo, write_seqinfo

    bases = textures(24)
    data, nusc = root / "data", root / "nusc"
    seqs, files, cache_seqs = [], [], {}
    for s in range(scenes):
        for cam in CAMERAS:
            seq = f"scene-{s:04d}_{cam}"
            seqs.append(seq)
            rows = []
            for t in range(frames):
                rel = f"samples/{cam}/{seq}__{t:03d}.jpg"
                path = nusc / rel
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(with_comment(bases[len(files) % len(bases)], f"image {len(files)}"))
                files.append(path)
                rows.append({"frame": t + 1, "sample_token": f"{seq}-{t}", "sample_data_token": f"{seq}-sd{t}",
                             "timestamp": 1_000_000 + 500_000 * t, "image": rel})
            sdir = PreparedDataset(data).seq_dir("val", seq)
            gt_file(sdir).parent.mkdir(parents=True)
            gt_file(sdir).write_text("")
            write_seqinfo(seqinfo_file(sdir), SeqInfo(seq, 2.0, 1600, 900, frames))
            frames_file(sdir).write_text(json.dumps(rows))
            cache_seqs[seq] = {"sha256": f"{len(cache_seqs):064x}"}
    meta = {"stage": "prepare", "dataroot": str(nusc.resolve()), "version": "bench", "cameras": list(CAMERAS),
            "splits": {"val": sorted({q.rsplit('_CAM', 1)[0] for q in seqs})}, "image_size": [1600, 900],
            "sequences": {"val": seqs}, "has_sweeps": False}
    PreparedDataset(data).meta_file.write_text(json.dumps(meta))
    ckpt = root / "detector.pth"
    ckpt.write_bytes(np.random.default_rng(1).bytes(1 << 20))
    cache = root / "cache"
    cache.mkdir()
    (cache / "meta.json").write_text(json.dumps({"sequences": cache_seqs}))
    return data, ckpt, cache, files


def drop_page_cache(files: list[Path]) -> None:
    for p in files:
        fd = os.open(p, os.O_RDONLY)
        try:
            os.fsync(fd)
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)


def forget(index: bool = False) -> None:
    """A new process: no fingerprints or code keys in memory (and, with ``index``, none on disk)."""
    import shutil

    from detbench import codekeys, codestatements
    from detbench.core import imageprints

    imageprints._KNOWN.clear()
    codekeys.cache_clear()
    for cached in (codestatements.parse, codekeys._distributions_of, codekeys._installed):
        cached.cache_clear()                # sources parsed and distributions found again, as at a start
    if index:
        shutil.rmtree(imageprints.index_root(), ignore_errors=True)


def timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenes", type=int, default=150)
    ap.add_argument("--frames", type=int, default=40, help="keyframes per sequence")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--dir", help="build the dataset here (kept); default a temporary folder, removed")
    args = ap.parse_args(argv)
    tmp = None if args.dir else tempfile.TemporaryDirectory(prefix="bench-keys-")
    root = Path(args.dir or tmp.name)
    os.environ["DETBENCH_RUNS"] = str(root / "runs")

    from detbench import codekeys
    from detbench.core.imageprints import fingerprints
    from detbench.detect import api
    from detbench.tracking import run
    from detbench.tracking.sources import from_cache
    from trackers import tracker_spec

    t = time.perf_counter()
    data, ckpt, cache, files = build(root, args.scenes, args.frames)
    size = sum(p.stat().st_size for p in files)
    print(f"{len(files)} images, {size / len(files) / 1024:.0f} KB mean ({size / 2**30:.2f} GiB), "
          f"{min(p.stat().st_size for p in files) // 1024}-{max(p.stat().st_size for p in files) // 1024} KB; "
          f"built in {time.perf_counter() - t:.0f} s", flush=True)
    jobs = from_cache(cache, data, "val")
    spec = tracker_spec("botsort")

    def det_key():
        return api.detection_key(str(ckpt), data, "val")["key"]

    def tracks_key():
        return run.inputs_hash(jobs, spec, {})

    cold = {}
    for label, drop in (("page cache", False), ("dropped", True)):
        forget(index=True)
        if drop:
            drop_page_cache(files)
        cold[label] = timed(lambda: fingerprints(files))
    real_images, real_code = api.images_sha256, codekeys.code_key
    from detbench.core import imageprints

    real_prints = imageprints.fingerprints
    rows = {k: [] for k in ("det before", "det new process", "det same process",
                            "trk before", "trk new process", "trk same process")}
    for _ in range(args.repeats):
        api.images_sha256, codekeys.code_key = (lambda seq_frames: ""), (lambda *e: {})
        imageprints.fingerprints = lambda paths, write=True: [None] * len(paths)
        rows["det before"].append(timed(det_key))
        rows["trk before"].append(timed(tracks_key))
        api.images_sha256, codekeys.code_key, imageprints.fingerprints = real_images, real_code, real_prints
        forget()
        rows["det new process"].append(timed(det_key))
        rows["det same process"].append(timed(det_key))
        forget()
        rows["trk new process"].append(timed(tracks_key))
        rows["trk same process"].append(timed(tracks_key))
    med = {k: statistics.median(v) for k, v in rows.items()}
    load = os.getloadavg()[0]
    print(f"\nkeying cost, {len(files)} images ({os.cpu_count()} CPUs, load average {load:.1f}; "
          f"medians of {args.repeats})\n")
    print("| key | before content keys s | cache hit, new process s | (added) | cache hit, same process s | (added) |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, k in (("detection (`detection_key`)", "det"), ("BoT-SORT tracks (`inputs_hash`)", "trk")):
        b, n, s = med[f"{k} before"], med[f"{k} new process"], med[f"{k} same process"]
        print(f"| {name} | {b:.2f} | {n:.2f} | {n - b:+.2f} | {s:.2f} | {s - b:+.2f} |")
    print(f"\nfirst fingerprinting (empty index): {cold['page cache']:.1f} s with the files in the page cache "
          f"({size / 2**20 / cold['page cache']:.0f} MB/s), {cold['dropped']:.1f} s with them dropped from it "
          f"({size / 2**20 / cold['dropped']:.0f} MB/s)")
    if tmp:
        tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
