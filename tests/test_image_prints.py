"""Images are keyed by their bytes (detbench.core.imageprints): an image replaced at the same path is
detected again and tracked again by BoT-SORT; an unchanged one is not read again."""
from __future__ import annotations

import hashlib
import json
import os
import time

import cv2
import numpy as np
import pytest
from test_tune_per_pair import world  # noqa: F401

from detbench.core import imageprints


@pytest.fixture(autouse=True)
def _fresh_process_memory(monkeypatch):
    monkeypatch.setattr(imageprints, "_KNOWN", {})


def _images(folder, n=3):
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for i in range(n):
        out.append(folder / f"{i}.jpg")
        cv2.imwrite(str(out[-1]), np.full((20, 30, 3), 40 * i, np.uint8))
    return out


def _count_hashing(monkeypatch) -> list:
    read = []
    real = imageprints.sha256_file
    monkeypatch.setattr(imageprints, "sha256_file", lambda p: read.append(p) or real(p))
    return read


def test_fingerprints_are_the_sha256_of_the_bytes(tmp_path):
    files = _images(tmp_path / "a")
    got = imageprints.fingerprints([*files, None, tmp_path / "missing.jpg", tmp_path])
    assert got[:3] == [hashlib.sha256(f.read_bytes()).hexdigest() for f in files]
    assert got[3:] == [None, None, None]
    assert imageprints.fingerprint(files[1]) == got[1]


def test_an_unchanged_image_is_not_read_again(tmp_path, monkeypatch):
    files = _images(tmp_path / "a")
    first = imageprints.fingerprints(files)
    read = _count_hashing(monkeypatch)
    assert imageprints.fingerprints(files) == first and read == []          # this process's memory
    monkeypatch.setattr(imageprints, "_KNOWN", {})                          # a new process: the index
    assert imageprints.fingerprints(files) == first and read == []
    index = json.loads(next(imageprints.index_root().glob("*.json")).read_text())
    assert index["folder"] == os.path.abspath(tmp_path / "a") and sorted(index["files"]) == ["0.jpg", "1.jpg", "2.jpg"]


def test_an_image_replaced_in_place_is_hashed_again_even_with_its_old_mtime(tmp_path, monkeypatch):
    files = _images(tmp_path / "a")
    first = imageprints.fingerprints(files)
    st = os.stat(files[0])
    time.sleep(0.05)                                       # past the file system's clock tick
    blob = bytearray(files[0].read_bytes())
    blob[-3] ^= 0xFF                                       # same size, other bytes
    files[0].write_bytes(bytes(blob))
    os.utime(files[0], ns=(st.st_atime_ns, st.st_mtime_ns))    # the old mtime restored (ctime is not)
    assert os.stat(files[0]).st_size == st.st_size and os.stat(files[0]).st_mtime_ns == st.st_mtime_ns
    read = _count_hashing(monkeypatch)
    again = imageprints.fingerprints(files)
    assert again[0] == hashlib.sha256(bytes(blob)).hexdigest() != first[0] and again[1:] == first[1:]
    assert [os.path.basename(p) for p in read] == ["0.jpg"]


@pytest.mark.parametrize("damage", ["not json", "a list", "other folder", "bad entry", "short hash"])
def test_a_damaged_index_is_ignored_and_rewritten(tmp_path, monkeypatch, damage):
    files = _images(tmp_path / "a")
    first = imageprints.fingerprints(files)
    index_file = next(imageprints.index_root().glob("*.json"))
    index = json.loads(index_file.read_text())
    entry = index["files"]["1.jpg"]
    forged = {"not json": "{", "a list": "[]",
              "other folder": json.dumps({**index, "folder": "/elsewhere"}),
              "bad entry": json.dumps({**index, "files": {**index["files"], "x.jpg": [1, 2, "3", entry[3]]}}),
              "short hash": json.dumps({**index, "files": {**index["files"], "0.jpg": [*entry[:3], "ab"]}})}[damage]
    index_file.write_text(forged)
    monkeypatch.setattr(imageprints, "_KNOWN", {})
    read = _count_hashing(monkeypatch)
    assert imageprints.fingerprints(files) == first and len(read) == 3      # not trusted: every file read
    assert json.loads(index_file.read_text()) == index                      # and rewritten whole
    assert [p.name for p in imageprints.index_root().iterdir()] == [index_file.name]   # no temporary left


def test_a_blacked_out_image_at_the_same_path_is_detected_again(tmp_path):
    from test_detect import _ensure, load_checkpoint, make_dataset, nano_model, save_checkpoint

    from detbench.detect.cache import read_sequence_detections
    from detbench.detect.infer import Detector, load_image

    data_dir = make_dataset(tmp_path)
    ckpt = save_checkpoint(tmp_path / "epoch_1.pth", nano_model())
    first = _ensure(ckpt, data_dir)
    seq = "scene-0001_CAM_FRONT"
    image = json.loads((data_dir / "meta.json").read_text())["dataroot"] + f"/samples/{seq}_001.jpg"
    original = open(image, "rb").read()
    cv2.imwrite(image, np.zeros_like(cv2.imread(image)))                   # blacked out, same path
    second = _ensure(ckpt, data_dir)
    assert not second.cache_hit and second.cache_dir != first.cache_dir
    model, info = load_checkpoint(ckpt)
    direct = Detector(model, info["input_size"], conf=0.01)([load_image(image)])[0]
    cached = read_sequence_detections(second.cache_dir, seq)
    np.testing.assert_array_equal(cached[1], direct)                      # the black image's detections
    assert not np.array_equal(read_sequence_detections(first.cache_dir, seq)[1], direct)
    with open(image, "wb") as f:
        f.write(original)                                                  # the old bytes: the old entry
    back = _ensure(ckpt, data_dir)
    assert back.cache_hit and back.cache_dir == first.cache_dir


def test_botsort_tracks_and_warps_of_a_replaced_image_are_computed_again(world, tmp_path):  # noqa: F811
    from test_botsort import _frame, _panning_sequence

    from detbench.detect.api import ensure_detections
    from detbench.tracking.run import track_split
    from detbench.tracking.sources import from_cache
    from trackers import cmc_memo
    from trackers.cmc_memo import MemoCMC

    data, _ = world
    jobs = from_cache(ensure_detections("epoch1", data, "val", run="r1"), data, "val")
    assert all(jobs[0].images)
    first = track_split(jobs, "botsort", tmp_path / "out", {"cmc": "sof"})
    assert track_split(jobs, "botsort", tmp_path / "out", {"cmc": "sof"}).get("reused")
    cv2.imwrite(jobs[0].images[1], np.zeros_like(cv2.imread(jobs[0].images[1])))
    again = track_split(jobs, "botsort", tmp_path / "out", {"cmc": "sof"})
    assert "reused" not in again and again["inputs_hash"] != first["inputs_hash"]

    # the process-wide warp memo: the same path with other bytes is a new image, never a served warp
    from boxmot.motion.cmc import create_cmc

    images, dets = _panning_sequence(n=3)
    paths = [tmp_path / f"p{i}.jpg" for i in range(3)]
    for p, img in zip(paths, images):
        cv2.imwrite(str(p), img)

    def warps():
        memo = MemoCMC("sof", lambda: create_cmc("sof"))
        return [memo.warp(_frame(i, image_path=p), d[:, :4])[0] for i, (p, d) in enumerate(zip(paths, dets))]

    cmc_memo.STORE.clear()
    before = warps()
    assert cmc_memo.STORE.misses == 3 and warps() and cmc_memo.STORE.hits == 3
    cv2.imwrite(str(paths[2]), images[0])                                  # frame 2 is now frame 0's image
    replaced = warps()
    assert cmc_memo.STORE.hits == 5 and cmc_memo.STORE.misses == 4
    fresh = MemoCMC("sof", lambda: create_cmc("sof"), remember=False)
    expected = [fresh.warp(_frame(i, image_path=p), d[:, :4])[0] for i, (p, d) in enumerate(zip(paths, dets))]
    np.testing.assert_array_equal(replaced[2], expected[2])
    assert not np.array_equal(replaced[2], before[2])
    cmc_memo.STORE.clear()

