"""Bad inputs reach the user as one line naming the file and the problem; nothing is written."""
from __future__ import annotations

import numpy as np
import pytest

from detbench.cli import main
from detbench.core.errors import InputError
from detbench.data.mot import SeqInfo, write_mot, write_seqinfo
from detbench.evaluate.api import evaluate_folders

GOOD = "1,1,10,10,50,50,1,1,1\n2,1,12,10,50,50,1,1,1\n"


def make(tmp_path, seqs=("a", "b"), results=("a", "b")):
    for s in seqs:
        (tmp_path / "gt" / s / "gt").mkdir(parents=True)
        (tmp_path / "gt" / s / "gt" / "gt.txt").write_text(GOOD)
    (tmp_path / "res").mkdir()
    for s in results:
        (tmp_path / "res" / f"{s}.txt").write_text(GOOD)
    return tmp_path / "gt", tmp_path / "res"


def run_cli(gt, res, tmp_path, capsys):
    out = tmp_path / "metrics.json"
    rc = main(["eval", "--gt", str(gt), "--results", str(res), "--json", str(out), "--jobs", "1", "--check"])
    err = capsys.readouterr().err
    assert rc == 2 and not out.exists()
    assert err.startswith("error: ") and err.count("\n") == 1
    return err


def test_result_without_ground_truth(tmp_path, capsys):
    gt, res = make(tmp_path, seqs=("a",), results=("a", "ghost"))
    err = run_cli(gt, res, tmp_path, capsys)
    assert "ghost.txt" in err and "without ground truth" in err


def test_ground_truth_without_result(tmp_path, capsys):
    gt, res = make(tmp_path, seqs=("a", "lonely"), results=("a",))
    err = run_cli(gt, res, tmp_path, capsys)
    assert "lonely" in err and "no result file" in err


def test_empty_results_folder(tmp_path, capsys):
    gt, res = make(tmp_path, results=())
    assert "no <seq>.txt" in run_cli(gt, res, tmp_path, capsys)


@pytest.mark.parametrize("row, problem", [
    ("1.5,1,10,10,50,50,1,1,1", "frame '1.5' is not an integer"),
    ("1,1,10,10,-5,50,1,1,1", "not positive"),
    ("1,1,10,10,50,50,1,9,1", "class 9"),
    ("abc,1,10,10,50,50,1,1,1", "not a number"),
])
def test_malformed_rows(tmp_path, capsys, row, problem):
    gt, res = make(tmp_path)
    (res / "b.txt").write_text(GOOD + row + "\n")
    err = run_cli(gt, res, tmp_path, capsys)
    assert "b.txt:3: " in err and problem in err


def test_duplicate_id_within_a_frame(tmp_path, capsys):
    gt, res = make(tmp_path)
    (gt / "a" / "gt" / "gt.txt").write_text(GOOD + "2,1,300,300,20,20,1,1,1\n")
    err = run_cli(gt, res, tmp_path, capsys)
    assert "gt.txt:3:" in err and "id 1 appears twice in frame 2" in err


def test_frame_beyond_sequence_length(tmp_path):
    gt, res = make(tmp_path)
    write_seqinfo(gt / "a" / "seqinfo.ini", SeqInfo("a", 2.0, 1600, 900, 2))
    write_mot(res / "a.txt", np.array([[3, 1, 10, 10, 50, 50, 1, 1, 1]], dtype=float))
    with pytest.raises(InputError, match=r"a\.txt: frame 3 is beyond the sequence length 2"):
        evaluate_folders(gt, res, check=True)


def test_missing_folders_and_bad_options(tmp_path):
    gt, res = make(tmp_path)
    with pytest.raises(InputError, match="results folder not found"):
        evaluate_folders(gt, tmp_path / "nope", check=True)
    with pytest.raises(InputError, match="ground-truth folder not found"):
        evaluate_folders(tmp_path / "nope", res, check=True)
    with pytest.raises(InputError, match="--iou"):
        evaluate_folders(gt, res, iou=1.5, check=True)
    with pytest.raises(InputError, match="--classes"):
        evaluate_folders(gt, res, classes="some", check=True)


def test_empty_result_file_is_all_misses(tmp_path):
    gt, res = make(tmp_path)
    (res / "b.txt").write_text("")
    o = evaluate_folders(gt, res, check=True)["overall"]
    # a: 2 boxes matched; b: 2 GT boxes, nothing tracked
    assert (o["TP"], o["FN"], o["FP"]) == (2, 2, 0)
    assert o["MOTA"] == pytest.approx(1 - (2 + 0 + 0) / 4)
