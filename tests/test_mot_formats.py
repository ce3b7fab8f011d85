"""MOTChallenge's own files: class-less results and detections are read, tracked and scored as
class-less (never silently as class 1 "car"), and the 10-column det and result files of the real
fixture track and evaluate exactly as the classed files they were converted from."""
from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from detbench.cli import main
from detbench.data import mot
from detbench.evaluate.api import evaluate_folders

# the one-liners of docs/formats.md (MOTChallenge files): detbench files -> MOTChallenge's 10 columns
AWK_DETS = '{f = FILENAME; sub(".*/", "", f); print $1, -1, $3, $4, $5, $6, $7, -1, -1, -1 > (OUT f)}'
AWK_RESULTS = '{f = FILENAME; sub(".*/", "", f); print $1, $2, $3, $4, $5, $6, $7, -1, -1, -1 > (OUT f)}'


def to_mot10(program: str, src: Path, out: Path) -> Path:
    """Run a docs/formats.md one-liner over every ``src/*.txt`` into ``out`` (awk, as a reader would)."""
    if shutil.which("awk") is None:
        pytest.skip("no awk on this machine")
    out.mkdir(parents=True)
    files = sorted(str(p) for p in src.glob("*.txt"))
    subprocess.run(["awk", "-F,", "-v", "OFS=,", "-v", f"OUT={out}/", program, *files], check=True)
    return out


def box(frame, tid, x, cls):
    return (frame, tid, x, 100.0, 50.0, 50.0, 1.0, cls, 1.0)


# ---------------------------------------------------------------------------------------- results
def test_results_without_classes_are_scored_class_agnostically_by_hand(tmp_path, capsys):
    """A car and a pedestrian, each tracked exactly by a class-less box in 2 frames. Scored
    class-agnostically: TP 4, FP 0, FN 0, MOTA 1. Re-labelled as class 1 (what 7-column results
    got before), the pedestrian's boxes would be FN 2 + FP 2 and MOTA 0."""
    gt = [box(f, 1, 0, 1) for f in (1, 2)] + [box(f, 2, 300, 5) for f in (1, 2)]
    mot.write_mot(tmp_path / "gt" / "s" / "gt" / "gt.txt", np.array(gt))
    (tmp_path / "res").mkdir()
    (tmp_path / "res" / "s.txt").write_text("".join(f"{f},{i},{x},100,50,50,0.9\n"
                                                    for f in (1, 2) for i, x in ((7, 0), (8, 300))))
    out = evaluate_folders(tmp_path / "gt", tmp_path / "res", check=True)
    o = out["overall"]
    assert (o["TP"], o["FP"], o["FN"], o["IDSW"], o["MOTA"]) == (4, 0, 0, 0, 1.0)
    assert out["per_class"] == {} and out["class_agnostic"] == ["s"]
    rc = main(["eval", "--gt", str(tmp_path / "gt"), "--results", str(tmp_path / "res"), "--summary"])
    err = capsys.readouterr().err
    notes = [ln for ln in err.splitlines() if ln.startswith("note: ")]
    assert rc == 0 and len(notes) == 1 and "1 of 1 result files have no class" in notes[0]
    assert "class-agnostically" in notes[0]


def test_a_class_less_sequence_counts_overall_but_in_no_class_row(tmp_path):
    """Sequence a: classed results (car tracked); sequence b: class-less (pedestrian tracked).
    Overall sums both (TP 4), the car row holds only a, b is listed as scored class-agnostically."""
    mot.write_mot(tmp_path / "gt" / "a" / "gt" / "gt.txt", np.array([box(f, 1, 0, 1) for f in (1, 2)]))
    mot.write_mot(tmp_path / "gt" / "b" / "gt" / "gt.txt", np.array([box(f, 1, 0, 5) for f in (1, 2)]))
    mot.write_mot(tmp_path / "res" / "a.txt", np.array([box(f, 3, 0, 1) for f in (1, 2)]))
    (tmp_path / "res" / "b.txt").write_text("1,4,0,100,50,50,0.9,-1,-1,-1\n2,4,0,100,50,50,0.9,-1,-1,-1\n")
    out = evaluate_folders(tmp_path / "gt", tmp_path / "res", check=True)
    assert (out["overall"]["TP"], out["overall"]["FP"], out["overall"]["FN"]) == (4, 0, 0)
    assert list(out["per_class"]) == ["car"] and out["per_class"]["car"]["TP"] == 2
    assert out["per_sequence"]["b"]["TP"] == 2 and out["class_agnostic"] == ["b"]
    agnostic = evaluate_folders(tmp_path / "gt", tmp_path / "res", classes="agnostic")
    assert "class_agnostic" not in agnostic  # asked for: nothing to say


@pytest.mark.parametrize("line,cls,vis", [
    ("1,3,10,20,30,40,0.9,-1,-1,-1", mot.NO_CLASS, 1.0),   # MOT16/17 results: world x, y, z = -1
    ("1,3,10,20,30,40,0.9,2,-1,-1", 2, 1.0),               # a class where the world x would be
    ("1,3,10,20,30,40,0.9", mot.NO_CLASS, 1.0),            # no class column
    ("1,3,10,20,30,40,0.9,-1,0.5", mot.NO_CLASS, 0.5),
    ("1,3,10,20,30,40,0.9,4,0.5", 4, 0.5),
])
def test_result_columns(tmp_path, line, cls, vis):
    from detbench.evaluate.loading import read_table

    p = tmp_path / "r.txt"
    p.write_text(line + "\n")
    for table in (mot.read_mot(p), read_table(p, "results")):  # the line-by-line and the fast reader agree
        assert table.tolist() == [[1, 3, 10, 20, 30, 40, 0.9, cls, vis]]


# ---------------------------------------------------------------------------------------- detections
def test_mot10_detections_are_class_less(tmp_path):
    p = tmp_path / "d.txt"
    p.write_text("1,-1,10,20,30,40,0.9,-1,-1,-1\n2,-1,0,0,0,0,0.1,-1,-1,-1\n")
    det = mot.read_mot_det_file(p, num_frames=3)
    assert not det.has_class and [len(f) for f in det.frames] == [1, 1, 0]
    np.testing.assert_allclose(det.frames[0], [[10, 20, 40, 60, 0.9, 0]], atol=1e-5)  # one class: index 0
    with pytest.raises(Exception, match="detections without a class"):
        mot.read_mot_dets(p)  # a reader that uses the class never sees class 1 by accident
    p.write_text("1,-1,10,20,30,40,0.9,3,-1,-1\n")
    det = mot.read_mot_det_file(p)
    assert det.has_class and det.frames[0][0, 5] == 2


# ---------------------------------------------------------------------------------------- the real fixture
@pytest.fixture(scope="module")
def fixture_dets(tmp_path_factory):
    """The detections of docs/trackers.md: the real fixture's ground truth with seeded noise, 8 columns."""
    from conftest import REAL_FIXTURE
    from readme_setup import noisy_dets

    out = tmp_path_factory.mktemp("dets") / "dets"
    noisy_dets(str(REAL_FIXTURE / "sequences"), str(out))
    return out


def _track(capsys, dets: Path, out: Path, seqs: Path) -> str:
    rc = main(["track", "--tracker", "bytetrack", "--dets", str(dets), "--sequences", str(seqs), "--out", str(out),
               "--jobs", "1"])
    _, err = capsys.readouterr()
    assert rc == 0, err
    return err


def test_mot10_detections_track_and_evaluate_as_the_classed_files(fixture_dets, real_fixture, tmp_path, capsys):
    """The fixture's detections converted to 10 columns (class -1) are tracked as one class: the
    very tracks of the same detections all given class 1 (what a 7-column file meant before), but
    written with class -1, so eval scores them class-agnostically: the same numbers as `eval
    --classes agnostic` of those class-1 tracks."""
    seqs = real_fixture / "sequences"
    d10 = to_mot10(AWK_DETS, fixture_dets, tmp_path / "d10")
    first = (d10 / "scene-0103_CAM_BACK.txt").read_text().splitlines()[0]
    assert first.count(",") == 9 and first.endswith(",-1,-1,-1") and first.split(",")[1] == "-1"
    one_class = tmp_path / "one_class"
    one_class.mkdir()
    for f in fixture_dets.glob("*.txt"):
        (one_class / f.name).write_text("".join(",".join(ln.split(",")[:7] + ["1"]) + "\n"
                                                for ln in f.read_text().splitlines()))
    err = _track(capsys, d10, tmp_path / "t10", seqs)
    assert sum(ln.startswith("note: ") for ln in err.splitlines()) == 1 and "6 of 6 detection files" in err
    _track(capsys, one_class, tmp_path / "t1", seqs)
    meta = json.loads((tmp_path / "t10" / "meta.json").read_text())
    assert meta["class_agnostic"] == sorted(p.stem for p in d10.glob("*.txt"))
    for f in sorted((tmp_path / "t1").glob("*.txt")):
        a, b = mot.read_mot(f), mot.read_mot(tmp_path / "t10" / f.name)
        assert len(a) and (a[:, mot.CLASS] == 1).all() and (b[:, mot.CLASS] == mot.NO_CLASS).all()
        np.testing.assert_array_equal(np.delete(a, mot.CLASS, axis=1), np.delete(b, mot.CLASS, axis=1))
    got = evaluate_folders(seqs, tmp_path / "t10")
    want = evaluate_folders(seqs, tmp_path / "t1", classes="agnostic")
    assert got["overall"] == want["overall"] and got["per_sequence"] == want["per_sequence"]
    assert got["per_class"] == {} and len(got["class_agnostic"]) == 6


def test_mot10_results_evaluate_as_the_classed_results(fixture_dets, real_fixture, tmp_path, capsys):
    """Today's 9-column results converted to MOTChallenge's 10 columns (class -1) score exactly
    as the 9-column ones scored class-agnostically; kept in column 8, the class gives exactly
    the per-class numbers."""
    seqs = real_fixture / "sequences"
    _track(capsys, fixture_dets, tmp_path / "trk", seqs)
    r10 = to_mot10(AWK_RESULTS, tmp_path / "trk", tmp_path / "r10")
    assert (r10 / "scene-0103_CAM_FRONT.txt").read_text().splitlines()[0].endswith(",-1,-1,-1")
    got = evaluate_folders(seqs, r10)
    want = evaluate_folders(seqs, tmp_path / "trk", classes="agnostic")
    assert got["overall"] == want["overall"] and got["per_sequence"] == want["per_sequence"]
    classed10 = tmp_path / "classed10"
    classed10.mkdir()
    for f in (tmp_path / "trk").glob("*.txt"):
        (classed10 / f.name).write_text("".join(",".join(ln.split(",")[:8] + ["-1", "-1"]) + "\n"
                                                for ln in f.read_text().splitlines()))
    per_class = evaluate_folders(seqs, tmp_path / "trk")
    assert evaluate_folders(seqs, classed10) == per_class and "class_agnostic" not in per_class
