"""Core contracts: MOT I/O validation, IoU, atomic writes, the CLI shell."""
from __future__ import annotations

import numpy as np
import pytest

from detbench.cli import main
from detbench.core.errors import InputError
from detbench.core.fileio import atomic_dir, atomic_write_text, sha256_json
from detbench.core.types import iou_matrix, valid_detection_mask
from detbench.data import mot


def test_iou_matrix_hand_values():
    a = np.array([[0, 0, 10, 10]])
    b = np.array([[5, 5, 15, 15], [0, 0, 10, 10], [20, 20, 30, 30]])
    # overlap 5x5=25, union 100+100-25=175
    np.testing.assert_allclose(iou_matrix(a, b), [[25 / 175, 1.0, 0.0]])
    assert iou_matrix(np.zeros((0, 4)), b).shape == (0, 3)


def test_valid_detection_mask():
    d = np.array([[0, 0, 1, 1, 0.5, 0], [0, 0, -1, 1, 0.5, 0], [0, 0, 1, 1, np.nan, 0], [0, 0, 1, 1, 1.5, 0]],
                 dtype=np.float32)
    assert valid_detection_mask(d).tolist() == [True, False, False, False]


def test_mot_roundtrip(tmp_path):
    table = np.array([[2, 1, 10, 20, 30, 40, 0.9, 3, 1.0], [1, 5, 0, 0, 5, 5, 1, 1, 1]])
    p = mot.write_mot(tmp_path / "r.txt", table)
    back = mot.read_mot(p)
    assert back[:, mot.FRAME].tolist() == [1, 2]
    np.testing.assert_allclose(back[1], table[0], atol=1e-4)


@pytest.mark.parametrize("row,msg", [
    ("1.5,1,0,0,5,5,1,1,1", "not an integer"),
    ("0,1,0,0,5,5,1,1,1", "below 1"),
    ("1,1,0,0,-5,5,1,1,1", "not positive"),
    ("1,1,0,0,5,5,1,9,1", "outside 1..7"),
    ("1,1,0,0,5", "expected"),
    ("x,1,0,0,5,5,1,1,1", "not a number"),
])
def test_mot_bad_rows_name_file_and_line(tmp_path, row, msg):
    p = tmp_path / "gt.txt"
    p.write_text("1,2,0,0,5,5,1,1,1\n" + row + "\n")
    with pytest.raises(InputError, match=f"gt.txt:2: .*{msg}"):
        mot.read_mot(p, kind="gt")


def test_mot_duplicate_id_in_frame(tmp_path):
    p = tmp_path / "r.txt"
    p.write_text("1,2,0,0,5,5,1,1,1\n1,2,1,1,5,5,1,1,1\n")
    with pytest.raises(InputError, match="id 2 appears twice in frame 1"):
        mot.read_mot(p)


def test_mot_dets_roundtrip(tmp_path):
    dets = [np.array([[10, 20, 40, 60, 0.8, 2]], dtype=np.float32), np.zeros((0, 6), np.float32)]
    p = mot.write_mot_dets(tmp_path / "d.txt", dets)
    back = mot.read_mot_dets(p, num_frames=2)
    assert len(back) == 2 and back[1].shape == (0, 6)
    np.testing.assert_allclose(back[0], dets[0], atol=1e-3)


def test_atomic_write_leaves_nothing_on_failure(tmp_path):
    target = tmp_path / "out"
    with pytest.raises(RuntimeError):
        with atomic_dir(target) as d:
            (d / "half.txt").write_text("x")
            raise RuntimeError("boom")
    assert not target.exists() and list(tmp_path.iterdir()) == []
    atomic_write_text(tmp_path / "a.txt", "hello")
    assert (tmp_path / "a.txt").read_text() == "hello"


def test_sha256_json_is_order_independent():
    assert sha256_json({"a": 1, "b": 2}) == sha256_json({"b": 2, "a": 1})


def test_cli_help_and_error_exit(capsys):
    assert main(["--help"]) == 0
    assert "Commands" in capsys.readouterr().out
    assert main(["no-such-command"]) != 0
