"""Each frame's camera calibration reaches the tracker (Frame.intrinsics / cam2global from
frames.json), and a tracker that needs it refuses a sequence without it before any work."""
from __future__ import annotations

import json
import shutil
from dataclasses import dataclass

import numpy as np
import pytest

from detbench.core.errors import InputError


@dataclass(frozen=True)
class RecordingParams:
    pass


class CalibratedRecorder:
    """Reports nothing; remembers the camera of every frame it saw (class-level, for the test)."""

    Params = RecordingParams
    seen: list = []

    @staticmethod
    def needs_calibration(params) -> bool:
        return True

    def __init__(self, params, frame_rate=2.0):
        self.params = params

    def reset(self):
        pass

    def update(self, dets, frame=None):
        from detbench.core.types import empty_tracks

        CalibratedRecorder.seen.append((frame.index, frame.timestamp, frame.camera()))
        return empty_tracks()


@pytest.fixture
def recorder(monkeypatch):
    import trackers

    monkeypatch.setitem(trackers.TRACKERS, "recorder", "test_frame_calibration:CalibratedRecorder")
    CalibratedRecorder.seen = []
    return "recorder"


def _fixture_copy(real_fixture, tmp_path, seq="scene-0103_CAM_FRONT"):
    seqs, dets = tmp_path / "seqs", tmp_path / "dets"
    shutil.copytree(real_fixture / "sequences" / seq, seqs / seq)
    dets.mkdir()
    (dets / f"{seq}.txt").write_text("1,-1,10,20,30,40,0.9,1\n")
    return seqs, dets, seq


def test_frames_carry_calibration_and_timestamps_from_frames_json(real_fixture, recorder, tmp_path):
    from detbench.tracking.run import track_sequence
    from detbench.tracking.sources import from_external

    seqs, dets, seq = _fixture_copy(real_fixture, tmp_path)
    rows = json.loads((seqs / seq / "frames.json").read_text())
    (job,) = from_external(dets, seqs)
    track_sequence(job, recorder)
    assert len(CalibratedRecorder.seen) == len(rows) == 40
    for (_index, stamp, cam), row in zip(CalibratedRecorder.seen, rows):
        np.testing.assert_array_equal(cam.intrinsics, row["intrinsics"])
        np.testing.assert_array_equal(cam.cam2global, row["cam2global"])
        assert stamp == pytest.approx((row["timestamp"] - rows[0]["timestamp"]) * 1e-6)
        assert (cam.width, cam.height) == (1600, 900)


@pytest.mark.parametrize("field", ["cam2global", "intrinsics"])
def test_a_missing_calibration_field_stops_before_any_work(real_fixture, recorder, tmp_path, field):
    from detbench.tracking.run import track_split
    from detbench.tracking.sources import from_external

    seqs, dets, seq = _fixture_copy(real_fixture, tmp_path)
    path = seqs / seq / "frames.json"
    rows = json.loads(path.read_text())
    del rows[6][field]
    path.write_text(json.dumps(rows))
    out = tmp_path / "out"
    with pytest.raises(InputError) as e:
        track_split(from_external(dets, seqs), recorder, out)
    assert str(e.value) == (f"{path}: frame 7 has no {field!r} (tracker 'recorder' needs every frame's camera "
                            "calibration (intrinsics, cam2global))")
    assert not out.exists() and CalibratedRecorder.seen == []


def test_no_frames_json_and_malformed_calibration_are_one_line(real_fixture, recorder, tmp_path):
    from detbench.tracking.run import track_split
    from detbench.tracking.sources import from_external

    seqs, dets, seq = _fixture_copy(real_fixture, tmp_path)
    path = seqs / seq / "frames.json"
    rows = json.loads(path.read_text())
    rows[2]["cam2global"][0][0] = 5.0  # not a rotation any more
    path.write_text(json.dumps(rows))
    with pytest.raises(InputError, match=r"frames.json: frame 3: cam2global's 3x3 block is not a rotation"):
        track_split(from_external(dets, seqs), recorder, tmp_path / "out")
    rows[2]["intrinsics"] = [[1, 0], [0, 1]]
    path.write_text(json.dumps(rows))
    with pytest.raises(InputError, match=r"frames.json: frame 3 has a malformed 'intrinsics'"):
        from_external(dets, seqs)
    path.unlink()
    with pytest.raises(InputError, match=r"frames.json not found \(tracker 'recorder' needs"):
        track_split(from_external(dets, seqs), recorder, tmp_path / "out")


def test_trackers_without_the_need_ignore_missing_calibration(real_fixture, tmp_path):
    from detbench.tracking.run import track_split
    from detbench.tracking.sources import from_external

    seqs, dets, seq = _fixture_copy(real_fixture, tmp_path)
    (seqs / seq / "frames.json").unlink()
    meta = track_split(from_external(dets, seqs), "iou", tmp_path / "out")
    assert meta["sequences"][seq]["status"] == "ok"


def test_prepare_writes_each_frames_calibration(synth_root, tmp_path, monkeypatch):
    """frames.json of a prepared dataset holds the devkit's intrinsics and ego pose @ sensor pose."""
    from nuscenes.nuscenes import NuScenes
    from nuscenes.utils.geometry_utils import transform_matrix
    from pyquaternion import Quaternion

    from detbench.data.prepare import prepare

    monkeypatch.setenv("DETBENCH_RUNS", str(tmp_path / "runs"))
    out, _ = prepare(synth_root, "v1.0-synth", name="calib")
    nusc = NuScenes(version="v1.0-synth", dataroot=str(synth_root), verbose=False)
    frames = sorted(out.glob("sequences/*/*/frames.json"))
    assert frames
    for path in frames:
        for row in json.loads(path.read_text()):
            sd = nusc.get("sample_data", row["sample_data_token"])
            cs = nusc.get("calibrated_sensor", sd["calibrated_sensor_token"])
            ego = nusc.get("ego_pose", sd["ego_pose_token"])
            expected = (transform_matrix(ego["translation"], Quaternion(ego["rotation"]))
                        @ transform_matrix(cs["translation"], Quaternion(cs["rotation"])))
            np.testing.assert_allclose(row["cam2global"], expected, atol=1e-9)
            np.testing.assert_allclose(row["intrinsics"], cs["camera_intrinsic"])


def test_the_tracks_key_holds_calibration_only_for_trackers_that_read_it(real_fixture, recorder, tmp_path):
    from detbench.tracking.run import as_spec, inputs_hash
    from detbench.tracking.sources import from_external

    seqs, dets, seq = _fixture_copy(real_fixture, tmp_path)
    before = {t: inputs_hash(from_external(dets, seqs), as_spec(t)) for t in (recorder, "iou")}
    path = seqs / seq / "frames.json"
    rows = json.loads(path.read_text())
    rows[5]["cam2global"][0][3] += 0.5  # the camera half a metre elsewhere in one frame
    path.write_text(json.dumps(rows))
    after = {t: inputs_hash(from_external(dets, seqs), as_spec(t)) for t in (recorder, "iou")}
    assert before["recorder"] != after["recorder"]
    assert before["iou"] == after["iou"]
