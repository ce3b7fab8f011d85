"""`ground` given every object's true position: the bound its design has on a synthetic split.

    python benchmarks/ground_oracle.py SPLIT_DIR [--sd 0.1] [--grid JSON] [key=value ...]
    # SPLIT_DIR: a prepared synthetic split, e.g. runs/data/synth6/sequences/val

Ground truth as detections (``bench_perfect.py``: every considered GT row, score 0.95, its own
class), tracked by `ground` twice: as it is, and with each detection's ground measurement
replaced by its object's true footprint centre from the dataset's 3D annotations (the prepared
dataset's ``dataroot`` and ``version``; ``--sd`` metres of noise in the measurement's
covariance, none in its value). What the oracle run still switches, no better measurement from
a 2D box can remove: it is the motion model, the association and the lost-track buffer on
this split's own motion and visibility gaps. Also printed: how many times an object reappears
after more keyframes missed than the buffer keeps a track (no online tracker with that buffer
keeps those), and with ``--grid`` (``'{"accel": [0.5, 2], "gate": [8, 10]}'``) the oracle run
over every combination of `ground`'s options, its fewest IDSW. An analysis: nothing is chosen
from it.
"""
from __future__ import annotations

import argparse
import contextlib
import dataclasses
import itertools
import json
import sys
import tempfile
from pathlib import Path
from unittest import mock

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

#: how far (sum of the four coordinates' differences, px) a detection may lie from its GT box:
#: the detection files print 3 decimals
MATCH_PX = 0.1


def camera_key(cam2global, index: int) -> tuple:
    """A sequence frame's key: its camera's position (every camera of a sample has its own) and
    its 0-based index."""
    return tuple(round(float(cam2global[r][3]), 4) for r in range(3)) + (int(index),)


def true_positions(split_dir: Path, dataroot: Path, version: str) -> dict:
    """{:func:`camera_key`: [(GT box xyxy, (x, y, height): footprint centre in the global frame and
    the object's height (m)), ...]}
    for every considered GT row of ``split_dir``'s sequences (ids: the scene's sorted instance
    tokens numbered from 1: ``prepare``'s own :func:`detbench.data.prepare.track_ids`)."""
    from nuscenes.nuscenes import NuScenes

    from detbench.data.layout import frames_file, gt_file
    from detbench.data.mot import list_sequences, read_mot
    from detbench.data.prepare import scene_samples, track_ids

    nusc = NuScenes(version=version, dataroot=str(dataroot), verbose=False)
    scenes = {s["name"]: s for s in nusc.scene}
    table = {}
    for seq in list_sequences(split_dir):
        ids = track_ids(nusc, scene_samples(nusc, scenes[seq.rsplit("_CAM", 1)[0]]))
        instance_of = {i: token for token, i in ids.items()}
        gt = read_mot(gt_file(split_dir / seq), kind="gt")
        for f in json.loads(frames_file(split_dir / seq).read_text()):
            where = {}
            for a in nusc.get("sample", f["sample_token"])["anns"]:
                ann = nusc.get("sample_annotation", a)
                where[ann["instance_token"]] = (*ann["translation"][:2], ann["size"][2])
            rows = gt[(gt[:, 0] == f["frame"]) & (gt[:, 6] > 0)]
            table[camera_key(f["cam2global"], f["frame"] - 1)] = [
                (np.array([r[2], r[3], r[2] + r[4], r[3] + r[5]]), where[instance_of[int(r[1])]]) for r in rows]
    return table


@contextlib.contextmanager
def oracle_measurements(table: dict, sd: float, true_height: bool = False):
    """Within the block, `ground` measures each detection at its object's true position (``table``
    from :func:`true_positions`) with covariance ``sd``^2 I, and with ``true_height`` its physical
    height as the object's; a detection with no GT box within ``MATCH_PX`` raises."""
    import trackers.ground.tracker as tracker_module

    update, observe = tracker_module.GroundTracker.update, tracker_module.observe
    frame_key = {}

    def keyed_update(self, dets, frame):
        frame_key["now"] = camera_key(frame.cam2global, frame.index)
        return update(self, dets, frame)

    def true_observe(camera, boxes, classes, *args, **kwargs):
        obs = observe(camera, boxes, classes, *args, **kwargs)
        if len(boxes) == 0:
            return obs
        entries = table[frame_key["now"]]
        gt_boxes = np.array([box for box, _ in entries]).reshape(-1, 4)
        xy, valid, cov = obs.xy.copy(), obs.valid.copy(), obs.cov.copy()
        z, from_height, size = obs.z.copy(), obs.from_height.copy(), obs.size.copy()
        for i, box in enumerate(np.asarray(boxes, dtype=np.float64).reshape(-1, 4)):
            distance = np.abs(gt_boxes - box).sum(axis=1)
            j = int(np.argmin(distance))
            if distance[j] > MATCH_PX:
                raise LookupError(f"detection {box.tolist()} has no GT box within {MATCH_PX} px")
            xy[i], valid[i], cov[i], z[i], from_height[i] = entries[j][1][:2], True, np.eye(2) * sd ** 2, 0.0, False
            if true_height:
                size[i, 1] = entries[j][1][2]
        return dataclasses.replace(obs, xy=xy, valid=valid, cov=cov, z=z, from_height=from_height, size=size)

    with mock.patch.object(tracker_module.GroundTracker, "update", keyed_update), \
            mock.patch.object(tracker_module, "observe", true_observe):
        yield


def reappearances(split_dir: Path, missed: int) -> int:
    """How many times a considered GT object reappears after more than ``missed`` keyframes
    without a considered row."""
    from detbench.data.layout import gt_file
    from detbench.data.mot import list_sequences, read_mot

    count = 0
    for seq in list_sequences(split_dir):
        gt = read_mot(gt_file(split_dir / seq), kind="gt")
        gt = gt[gt[:, 6] > 0]
        for obj in np.unique(gt[:, 1]):
            frames = np.sort(gt[gt[:, 1] == obj, 0])
            count += int((np.diff(frames) - 1 > missed).sum())
    return count


def idsw_hota(split_dir: Path, jobs: list, options: dict) -> tuple[int, float]:
    """`ground`'s class-agnostic IDSW and HOTA on ``jobs`` with ``options``."""
    from bench_perfect import score_tracker

    with tempfile.TemporaryDirectory() as out:
        m = score_tracker(split_dir, jobs, Path(out), "ground", options)["agnostic"]
    return int(m["IDSW"]), float(m["HOTA"])


def print_swaps(split: Path, jobs: list, params) -> None:
    """``ground_swaps.py``'s classification of the switches of ``jobs`` (as measured now), with how
    many keyframes before each switch its object was last a detection."""
    import collections

    from ground_swaps import replay

    from detbench.data.layout import gt_file
    from detbench.data.mot import read_mot

    rows, gaps = [], collections.Counter()
    for job in jobs:
        gt = read_mot(gt_file(split / job.name), kind="gt")
        for row in replay(job, gt, params):
            rows.append(row)
            seen = gt[(gt[:, 1] == row[2]) & (gt[:, 6] > 0) & (gt[:, 0] < row[1] + 1), 0]
            gaps[int(row[1] + 1 - seen.max()) if len(seen) else None] += 1
    print(f"  {len(rows)} switches by ground_swaps.py's count:", collections.Counter(r[4] for r in rows).most_common())
    print("  keyframes since the object was last a detection:", sorted(gaps.items(), key=lambda g: (g[0] is None, g[0] or 0)))


def main(argv=None) -> int:
    from bench_perfect import perfect_jobs

    from detbench.core.options import parse_key_values
    from detbench.data.layout import PreparedDataset
    from detbench.tracking.run import as_spec
    from trackers.boxmot_common import frames_for_seconds

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    ap.add_argument("split", type=Path, help="a prepared synthetic split's folder (runs/data/NAME/sequences/SPLIT)")
    ap.add_argument("--sd", type=float, default=0.1, help="the oracle measurement's standard deviation (m)")
    ap.add_argument("--grid", help='JSON object of ground options to lists of values, e.g. \'{"accel": [0.5, 2]}\'')
    ap.add_argument("--true-height", action="store_true", help="the oracle also gives each detection its object's height")
    ap.add_argument("--swaps", action="store_true",
                    help="also classify the oracle run's switches as ground_swaps.py does (its costs are the plain measurements')")
    ap.add_argument("options", nargs="*", help="ground's options, key=value (the grid's values override them)")
    args = ap.parse_args(argv)
    split = args.split.resolve()
    meta = PreparedDataset(split.parent.parent).meta
    if not meta.get("dataroot") or not meta.get("version"):
        print(f"{split}: not a split of a prepared dataset whose meta.json names its dataroot and version",
              file=sys.stderr)
        return 2
    options = parse_key_values(args.options, "option")
    params = as_spec("ground", options).params
    missed = frames_for_seconds(params.track_buffer_s, float(meta.get("frame_rate", 2)))
    table = true_positions(split, Path(meta["dataroot"]), meta["version"])
    with perfect_jobs(split) as jobs:
        print(f"{split}: {sum(len(v) for v in table.values())} GT boxes; reappearances after more than "
              f"{missed} missed keyframes (the {params.track_buffer_s:g} s buffer): {reappearances(split, missed)}")
        print("ground as it is: IDSW %d, HOTA %.4f" % idsw_hota(split, jobs, options))
        with oracle_measurements(table, args.sd, args.true_height):
            what = "true positions and heights" if args.true_height else "true positions"
            print(f"ground, {what} (sd {args.sd:g} m): IDSW %d, HOTA %.4f" % idsw_hota(split, jobs, options))
            if args.swaps:
                print_swaps(split, jobs, params)
            if args.grid:
                grid, runs = json.loads(args.grid), []
                for values in itertools.product(*grid.values()):
                    opts = dict(options, **{k: str(v) for k, v in zip(grid, values)})
                    idsw, hota = idsw_hota(split, jobs, opts)
                    print(f"  {opts}: IDSW {idsw}, HOTA {hota:.4f}", flush=True)
                    runs.append((idsw, -hota, opts))
                idsw, hota, opts = min(runs, key=lambda run: run[:2])   # fewest IDSW, then the highest HOTA
                print(f"fewest over the grid: IDSW {idsw}, HOTA {-hota:.4f} at {opts}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
