"""``detbench.artifacts.KeyedArtifact``: the reuse rule and atomic writes every cache shares."""
from __future__ import annotations

import json

import pytest

from detbench.artifacts import KeyedArtifact, content_key
from detbench.core.fileio import sha256_json


def build_folder(art: KeyedArtifact, text: str, calls: list) -> None:
    calls.append(art.key)
    with art.build() as tmp:
        (tmp / "data.txt").write_text(text)
        art.write_meta(tmp, {"stage": "test"})


def ensure(art: KeyedArtifact, text: str, calls: list) -> str:
    if not art.is_complete():
        build_folder(art, text, calls)
    return (art.path / "data.txt").read_text()


def leftovers(folder):
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def test_content_key_is_the_sha256_of_the_inputs():
    inputs = {"b": [1, 2], "a": "x"}
    assert content_key(inputs) == sha256_json(inputs) == content_key({"a": "x", "b": [1, 2]})
    assert content_key(inputs, 16) == sha256_json(inputs)[:16]


def test_same_key_reused_changed_key_rebuilt(tmp_path):
    calls = []
    first = KeyedArtifact(tmp_path / "art", content_key({"v": 1}))
    assert first.problems() == [f"{tmp_path / 'art'}: not found"]
    assert ensure(first, "one", calls) == "one" and calls == [first.key]
    meta = json.loads((tmp_path / "art" / "meta.json").read_text())
    assert meta == {"stage": "test", "key": first.key}

    same = KeyedArtifact(tmp_path / "art", content_key({"v": 1}))
    assert same.is_complete() and ensure(same, "two", calls) == "one" and len(calls) == 1

    changed = KeyedArtifact(tmp_path / "art", content_key({"v": 2}))
    assert "made from other inputs" in changed.problems()[0]
    assert ensure(changed, "two", calls) == "two" and len(calls) == 2
    assert not first.is_complete() and changed.is_complete()
    assert leftovers(tmp_path) == []


def test_a_crash_mid_build_leaves_nothing_half_written(tmp_path):
    art = KeyedArtifact(tmp_path / "art", "k1")
    with pytest.raises(RuntimeError):
        with art.build() as tmp:
            (tmp / "part.txt").write_text("half")
            raise RuntimeError("killed mid-build")
    assert not art.path.exists() and leftovers(tmp_path) == []

    build_folder(art, "old", [])
    newer = KeyedArtifact(tmp_path / "art", "k2")
    with pytest.raises(RuntimeError):
        with newer.build() as tmp:
            (tmp / "data.txt").write_text("half of the new one")
            raise RuntimeError("killed mid-build")
    assert (art.path / "data.txt").read_text() == "old" and art.is_complete() and not newer.is_complete()
    assert leftovers(tmp_path) == []


def test_owner_check_and_broken_records_force_a_rebuild(tmp_path):
    art = KeyedArtifact(tmp_path / "art", "k", key_field="inputs_hash",
                        check=lambda a: [] if (a.path / "data.txt").is_file() else ["data.txt missing"])
    build_folder(art, "x", [])
    assert json.loads(art.meta_path.read_text())["inputs_hash"] == "k" and art.is_complete()
    (art.path / "data.txt").unlink()
    assert art.problems() == ["data.txt missing"]
    art.meta_path.write_text("{not json")
    assert art.meta() is None and "not a JSON object" in art.problems()[0]


def test_key_in_the_name_and_one_file_artifacts(tmp_path):
    named = KeyedArtifact(tmp_path / "abc123", "abc123", key_field=None)
    build_folder(named, "x", [])
    assert json.loads(named.meta_path.read_text()) == {"stage": "test"} and named.is_complete()

    one = KeyedArtifact(tmp_path / "metrics.json", "k", meta_name=None)
    assert one.write({"metrics": 1}) == {"key": "k", "metrics": 1}
    assert one.meta() == {"key": "k", "metrics": 1} and one.is_complete()
    assert not KeyedArtifact(tmp_path / "metrics.json", "other", meta_name=None).is_complete()
    assert leftovers(tmp_path) == []


def test_lock_file_is_named_by_the_artifact(tmp_path):
    art = KeyedArtifact(tmp_path / "detections" / "k", "k", key_field=None)
    with art.lock(tmp_path / ".locks") as lock_path:
        assert lock_path == tmp_path / ".locks" / "detections-k.lock"


def test_a_killed_builder_leaves_the_old_artifact_or_nothing(tmp_path):
    """SIGKILL mid-build (no clean-up runs): only an unfinished dot-folder is left beside it."""
    import subprocess
    import sys

    code = ("import os, signal, sys\n"
            "from detbench.artifacts import KeyedArtifact\n"
            "art = KeyedArtifact(sys.argv[1], sys.argv[2])\n"
            "with art.build() as tmp:\n"
            "    (tmp / 'data.txt').write_text('half')\n"
            "    os.kill(os.getpid(), signal.SIGKILL)\n")
    art = KeyedArtifact(tmp_path / "art", "k1")
    proc = subprocess.run([sys.executable, "-c", code, str(art.path), "k1"])
    assert proc.returncode != 0 and not art.path.exists() and not art.is_complete()
    build_folder(art, "old", [])
    proc = subprocess.run([sys.executable, "-c", code, str(art.path), "k2"])
    assert proc.returncode != 0 and (art.path / "data.txt").read_text() == "old" and art.is_complete()
    assert all(name.startswith(".art.tmp-") for name in leftovers(tmp_path))
