"""The prepared dataset's layout has one owner: detbench.data.layout (paths, finder, grep)."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from detbench.core.errors import InputError
from detbench.data import layout
from detbench.data.layout import PreparedDataset, find_dataset

ROOT = Path(__file__).resolve().parent.parent
# the grep of docs/contracts.md ("Prepared dataset layout"), as a Python regex
SPELLING = re.compile(r"""/ *["'](coco|sequences|gt)["']|["'](coco|sequences|gt)["'] */|== *["']sequences["']"""
                      r"""|["'](gt(/gt)?\.txt|seqinfo\.ini|frames(_all)?\.json)["']""")


def test_paths(tmp_path):
    ds = PreparedDataset(tmp_path)
    assert ds.meta_file == tmp_path / "meta.json"
    assert ds.coco_file("val") == tmp_path / "coco" / "val.json"
    assert ds.sequences_root == tmp_path / "sequences"
    assert ds.gt_dir("val") == tmp_path / "sequences" / "val"
    assert ds.seq_dir("val", "s_CAM") == tmp_path / "sequences" / "val" / "s_CAM"
    assert ds.gt_file("val", "s_CAM") == tmp_path / "sequences" / "val" / "s_CAM" / "gt" / "gt.txt"
    assert ds.seqinfo("val", "s_CAM") == tmp_path / "sequences" / "val" / "s_CAM" / "seqinfo.ini"
    assert ds.frames_file("val", "s_CAM") == tmp_path / "sequences" / "val" / "s_CAM" / "frames.json"
    assert ds.frames_file("val", "s_CAM", all_frames=True).name == "frames_all.json"
    assert str(layout.gt_file("x")) == str(Path("x") / "gt" / "gt.txt")
    assert layout.GT_FILES == ("gt/gt.txt", "seqinfo.ini")  # labels inside stored cache keys


def test_meta_splits_sequences(tmp_path):
    ds = PreparedDataset(tmp_path)
    assert not ds.exists() and not ds.has_split("val")
    with pytest.raises(InputError, match=r"meta\.json: prepared dataset meta\.json not found \(run detbench prepare\)"):
        _ = ds.meta
    (tmp_path / "meta.json").write_text(json.dumps({"sequences": {"val": ["b", "a"], "train": ["c"]}}))
    ds = PreparedDataset(tmp_path)
    assert ds.exists() and ds.splits() == ["train", "val"]
    assert ds.sequences("val") == ["a", "b"] and ds.sequences("tune") == []
    seq = ds.seq_dir("val", "a")
    assert not layout.is_sequence_dir(seq)
    seq.mkdir(parents=True)
    layout.seqinfo_file(seq).write_text("[Sequence]\n")
    assert ds.has_split("val") and layout.is_sequence_dir(seq)
    assert list(layout.gt_hashes(ds.gt_dir("val"))) == ["a"]
    assert list(layout.gt_hashes(ds.gt_dir("val"))["a"]) == ["seqinfo.ini"]
    assert layout.gt_hashes(ds.gt_dir("nowhere")) == {}


def test_find_dataset(tmp_path, monkeypatch):
    monkeypatch.setenv("DETBENCH_RUNS", str(tmp_path / "runs"))
    with pytest.raises(InputError, match=r"runs/data: no prepared dataset \(run detbench prepare, or pass --data\)$"):
        find_dataset()
    with pytest.raises(InputError, match=r"^nope: no prepared dataset here or at .*runs/data/nope "
                                         r"\(run detbench prepare\)$"):
        find_dataset("nope")
    named = tmp_path / "runs" / "data" / "mini"
    named.mkdir(parents=True)
    assert find_dataset("mini") == named
    with pytest.raises(InputError, match=r"runs/data: no prepared dataset \(run detbench prepare, or pass --data\)$"):
        find_dataset()  # a folder without meta.json is not a prepared dataset
    (named / "meta.json").write_text("{}")
    assert find_dataset() == named
    (tmp_path / "runs" / "data" / "other").mkdir()
    (tmp_path / "runs" / "data" / "other" / "meta.json").write_text("{}")
    with pytest.raises(InputError, match=r"prepared datasets found: mini, other\)"):
        find_dataset()
    assert find_dataset(str(named)) == named
    with pytest.raises(InputError, match=r"mini: not a prepared dataset \(no sequences/ folder\); "
                                         r"run detbench prepare first"):
        find_dataset("mini", require_sequences=True)
    (named / "sequences").mkdir()
    assert find_dataset("mini", require_sequences=True) == named


def test_single_owner():
    """Outside detbench/data/layout.py (and tests/), no code spells the layout's paths."""
    hits = []
    for top in ("detbench", "trackers", "benchmarks"):
        for path in sorted((ROOT / top).rglob("*.py")):
            if path == ROOT / "detbench" / "data" / "layout.py":
                continue
            for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if SPELLING.search(line):
                    hits.append(f"{path.relative_to(ROOT)}:{n}: {line.strip()}")
    assert not hits, "spell these through detbench.data.layout:\n" + "\n".join(hits)
