"""Cache keys hold the code and the library versions that made each artifact, per stage and per
tracker (detbench.codekeys): a change invalidates what it made and nothing else.

Source changes are made through ``codeclosure.read_source`` (the files on disk stay as they are) and
version changes through ``codekeys.library_version``; the keys are the stages' own key functions."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from test_tune_per_pair import world  # noqa: F401

from detbench import codeclosure, codekeys, codestatements

TRACKERS = ("iou", "botsort", "bytetrack", "ocsort")
ROOT = codestatements.ROOT


@pytest.fixture
def keyed(world, tmp_path):  # noqa: F811
    """-> keys(): every stage's key for one fixed set of inputs, the code read afresh."""
    from detbench.data.mot import write_mot
    from detbench.detect.api import detection_key, ensure_detections
    from detbench.evaluate.cached import evaluation_key
    from detbench.sensitivity.run import unit_code
    from detbench.tracking.run import inputs_hash, tracker_files
    from detbench.tracking.sources import from_cache
    from detbench.tuning.tunings import tuning_key
    from trackers import tracker_spec

    data, _ = world
    jobs = from_cache(ensure_detections("epoch1", data, "val", run="r1"), data, "val")
    res = tmp_path / "res"
    res.mkdir()
    write_mot(res / f"{jobs[0].name}.txt", np.array([[1, 1, 10, 20, 30, 30, 0.9, 1, 1]], dtype=float))

    def keys() -> dict:
        codekeys.cache_clear()
        det = detection_key("epoch1", data, "val", run="r1")
        out = {"detections": det["key"], "evaluation": evaluation_key(data / "sequences" / "val", res)}
        for t in TRACKERS:
            spec = tracker_spec(t)
            out[f"tracks:{t}"] = inputs_hash(jobs, spec, tracker_files(spec))
            out[f"sensitivity:{t}"] = codekeys.code_key(*codekeys.SENSITIVITY, codekeys.tracker_entry(spec.cls))
            assert out[f"sensitivity:{t}"] == unit_code(spec.cls)
        out["tuning:iou"] = tuning_key("iou", {"key": det["key"]}, data, "tune", None, {"min_score": [0.1]})[0]
        return out

    yield keys
    codekeys.cache_clear()


def _edit_source(monkeypatch, relpath: str, edit) -> None:
    target = ROOT / relpath
    original = target.read_text(encoding="utf-8")
    changed = edit(original)
    assert changed != original
    monkeypatch.setattr(codeclosure, "read_source",
                        lambda path: changed if Path(path) == target else Path(path).read_text(encoding="utf-8"))


def _changed(before: dict, after: dict) -> set[str]:
    return {k for k in before if before[k] != after[k]}


def test_iou_matrix_source_invalidates_tracks_and_evaluations_not_detections(keyed, monkeypatch):
    before = keyed()
    _edit_source(monkeypatch, "detbench/core/types.py",
                 lambda s: s.replace("np.where(union > 0, inter / union, 0.0)", "np.where(union > 0.0, inter / union, 0)"))
    after = keyed()
    assert _changed(before, after) == set(before) - {"detections"}   # tracks (every tracker), evaluation,
    # and what is made of them (tunings, sensitivity runs); the detections use only the array helpers


def test_a_code_change_in_the_iou_tracker_invalidates_only_its_tracks(keyed, monkeypatch):
    before = keyed()
    _edit_source(monkeypatch, "trackers/iou.py",
                 lambda s: s.replace("            iou = iou_matrix(self._boxes, d[:, :4])",
                                     "            iou = iou_matrix(self._boxes, d[:, :4]) * 1.0"))
    after = keyed()
    assert _changed(before, after) == {"tracks:iou", "sensitivity:iou", "tuning:iou"}


def test_a_comment_or_a_docstring_keeps_every_key(keyed, monkeypatch):
    before = keyed()
    _edit_source(monkeypatch, "trackers/iou.py",
                 lambda s: s.replace("            iou = iou_matrix(self._boxes, d[:, :4])",
                                     "            # a new comment\n            iou = iou_matrix(self._boxes, d[:, :4])")
                 .replace('"""Greedy class-aware IoU matching', '"""Edited: greedy class-aware IoU matching'))
    assert keyed() == before


@pytest.mark.parametrize("library, made", [
    ("boxmot", {"tracks:botsort", "tracks:bytetrack", "tracks:ocsort",
                "sensitivity:botsort", "sensitivity:bytetrack", "sensitivity:ocsort"}),
    ("trackeval", {"evaluation", "tuning:iou"} | {f"sensitivity:{t}" for t in TRACKERS}),
    ("pixeltable-yolox", {"detections", "tuning:iou"}),   # a tuning holds its detections' key
])
def test_a_library_version_invalidates_what_that_library_made(keyed, monkeypatch, library, made):
    before = keyed()
    real = codekeys.library_version
    monkeypatch.setattr(codekeys, "library_version", lambda d: "0.0.0+changed" if d == library else real(d))
    assert _changed(before, keyed()) == made


def test_each_stage_key_names_its_libraries():
    libs = {name: set(codekeys.code_key(*entries)["libraries"]) for name, entries in [
        ("detect", codekeys.DETECT), ("evaluate", codekeys.EVALUATE),
        ("botsort", codekeys.TRACK + ("trackers.botsort:BotSortTracker",)),
        ("iou", codekeys.TRACK + ("trackers.iou:IouTracker",))]}
    assert {"torch", "torchvision", "pixeltable-yolox", "numpy", "opencv-python-headless"} <= libs["detect"]
    assert {"trackeval", "numpy", "scipy"} <= libs["evaluate"] and "torch" not in libs["evaluate"]
    assert {"boxmot", "numpy", "scipy", "opencv-python-headless"} <= libs["botsort"]
    assert "boxmot" not in libs["iou"] and "pixeltable-yolox" not in libs["iou"] | libs["botsort"]
    assert all(codekeys.code_key(*codekeys.DETECT)["libraries"].values())   # installed: a version each


def test_closure_follows_lazy_imports_and_used_definitions_only():
    detect = codekeys.closure(*codekeys.DETECT)
    assert "detbench.detect.infer" in detect              # imported inside _run
    assert "detbench.train.models" in detect              # inside load_detector
    assert "trackers" not in detect and "detbench.evaluate.api" not in detect
    iou = codekeys.closure(*codekeys.TRACK, "trackers.iou:IouTracker")
    botsort = codekeys.closure(*codekeys.TRACK, "trackers.botsort:BotSortTracker")
    assert "trackers.iou" in iou and "trackers.iou" not in botsort            # the registry holds strings
    assert "trackers.cmc_memo" in botsort and "trackers.cmc_memo" not in iou
    assert "trackers.trackssm.tracker" not in iou | botsort
    assert "detbench.codekeys" not in iou                 # what a key holds is not hashed into it
    # the same module, other definitions: types.py's array helpers for detections, iou_matrix too for tracks
    assert detect["detbench.core.types"] != iou["detbench.core.types"]


def test_every_stage_entry_names_a_definition():
    for entries in (codekeys.DETECT, codekeys.TRACK, codekeys.EVALUATE, codekeys.TUNE, codekeys.SENSITIVITY):
        assert codekeys.closure(*entries)
    with pytest.raises(ValueError, match="defines no no_such_function"):
        codekeys.closure("detbench.core.types:no_such_function")
    with pytest.raises(ValueError, match="no Python source"):
        codekeys.closure("detbench.no_such_module:x")


class OutsideTracker:
    """A tracker class defined outside detbench/trackers (registered by a plugin or a test)."""


def test_a_class_outside_the_project_is_hashed_whole(monkeypatch):
    from detbench.core.types import as_tracks  # noqa: F401 - this module's project imports are followed

    entry = codekeys.tracker_entry(OutsideTracker)
    assert entry == f"{__name__}:OutsideTracker"
    codekeys.cache_clear()
    first = codekeys.closure(entry)
    assert __name__ in first and "detbench.core.types" in first
    _edit = Path(__file__).read_text(encoding="utf-8") + "\nEDITED = 1\n"
    monkeypatch.setattr(codeclosure, "read_source", lambda p: _edit if Path(p) == Path(__file__) else Path(p).read_text())
    codekeys.cache_clear()
    assert codekeys.closure(entry)[__name__] != first[__name__]
    codekeys.cache_clear()


def test_statements_are_chosen_by_the_names_they_bind(tmp_path, monkeypatch):
    """The walk on a small package written for the test: what a name needs, lazily imported
    modules, module objects taken whole, statements that run on import, TYPE_CHECKING skipped."""
    pkg = tmp_path / "detbench"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text('"""doc"""\nimport os\n')
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "a.py").write_text(
        '"""Module a."""\nfrom typing import TYPE_CHECKING\n\nimport numpy as np\n\n'
        "from detbench.b import helper\n"
        "if TYPE_CHECKING:\n    from detbench.c import Never\n\n"
        "LIMIT = 3\n\n\ndef used(x):\n    # why: a comment above code counts\n    return helper(x) + LIMIT\n\n\n"
        "def unused():\n    from detbench.c import thing\n    return np.zeros(thing)\n")
    (pkg / "b.py").write_text("from detbench.sub import d\n\n\ndef helper(x):\n    return d.run(x)\n\n\n"
                              "def other():\n    import scipy\n")
    (pkg / "c.py").write_text("thing = 1\nNever = None\n")
    (pkg / "sub" / "d.py").write_text("def run(x):\n    return x\n")
    monkeypatch.setattr(codestatements, "ROOT", tmp_path)
    codekeys.cache_clear()
    try:
        mods = codekeys.closure("detbench.a:used")
        assert set(mods) == {"detbench", "detbench.a", "detbench.b", "detbench.sub", "detbench.sub.d"}
        assert codekeys.code_key("detbench.a:used")["libraries"] == {}      # numpy only in unused()
        assert "numpy" in codekeys.code_key("detbench.a:unused")["libraries"]
        assert "detbench.c" in codekeys.closure("detbench.a:unused")
        base = mods["detbench.a"]
        for old, new, changes in [("# why: a comment", "# why: another comment", False),   # no code
                                  ("LIMIT = 3", "LIMIT = 4", True),
                                  ("helper(x) + LIMIT", "helper(x) - LIMIT", True),
                                  ("np.zeros(thing)", "np.ones(thing)", False),    # not used by used()
                                  ('"""Module a."""', '"""Module A."""', False)]:  # read by no code
            text = (pkg / "a.py").read_text().replace(old, new)
            monkeypatch.setattr(codeclosure, "read_source",
                                lambda p, text=text: text if Path(p).name == "a.py" else Path(p).read_text())
            codekeys.cache_clear()
            assert (codekeys.closure("detbench.a:used")["detbench.a"] != base) is changes, old
    finally:
        codekeys.cache_clear()


def _package(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)


_USER = ('"""The entry."""\nfrom detbench.helpers import helper, other\n\n\n'
         "def local(x):\n    return x * 2\n\n\n"
         "def used(x):\n    import os\n    import math\n    from detbench import lazy\n"
         "    return helper(x) + other(x) + lazy.VALUE + local(x) + math.floor(0) + len(os.sep)\n")
_HELPERS = ("import math\n\n\ndef helper(x):\n    return math.floor(x)\n\n\n"
            "def other(x):\n    return x + 1\n")
_LAZY = "VALUE = 7\n"


def _sources(tmp_path, monkeypatch, files: dict[str, str]) -> str:
    root = tmp_path / f"v{len(list(tmp_path.iterdir()))}"
    _package(root, {"detbench/__init__.py": "", **files})
    monkeypatch.setattr(codestatements, "ROOT", root)
    codekeys.cache_clear()
    try:
        return codekeys.code_key("detbench.entry:used")["sources"]
    finally:
        codekeys.cache_clear()


def test_a_move_or_an_import_path_keeps_the_key_and_a_code_change_does_not(tmp_path, monkeypatch):
    """The same code laid out differently has the same key: definitions moved to another module
    or package (with a re-export on the way, or out of the module that uses them), imports
    relative or absolute, at the top or lazy, ordered and grouped otherwise."""
    base = _sources(tmp_path, monkeypatch, {"detbench/entry.py": _USER, "detbench/helpers.py": _HELPERS,
                                            "detbench/lazy.py": _LAZY})
    split = {"detbench/core/__init__.py": '"""Core."""\n',
             "detbench/core/one.py": "import math\n\n\ndef helper(x):\n    return math.floor(x)\n",
             "detbench/core/two.py": "def other(x):\n    # why\n    return x + 1\n",
             "detbench/helpers.py": "from detbench.core.one import helper  # re-exported\n",
             "detbench/core/lazy.py": '"""A module taken whole: its docstring is read by no code."""\n' + _LAZY}
    moved = ('"""The entry, its helpers elsewhere."""\nfrom detbench.core.two import local, other\n'
             "from detbench.helpers import helper\n\n\n"
             "def used(x):\n    import math, os\n\n    from .core import lazy\n"
             "    return helper(x) + other(x) + lazy.VALUE + local(x) + math.floor(0) + len(os.sep)\n")
    split["detbench/core/two.py"] += "\n\ndef local(x):\n    return x * 2\n"
    assert _sources(tmp_path, monkeypatch, {"detbench/entry.py": moved, **split}) == base
    for files in [{"detbench/helpers.py": _HELPERS.replace("x + 1", "x + 2")},        # code used
                  {"detbench/lazy.py": "VALUE = 8\n"},                                # lazily imported
                  {"detbench/entry.py": _USER.replace("x * 2", "x * 3")},             # same module
                  {"detbench/entry.py": _USER.replace("import helper, other",         # what a name binds
                                                      "import helper as other, other as helper")}]:
        assert _sources(tmp_path, monkeypatch, {"detbench/entry.py": _USER, "detbench/helpers.py": _HELPERS,
                                                "detbench/lazy.py": _LAZY, **files}) != base, files


def test_only_what_the_code_reads_is_bound(tmp_path, monkeypatch):
    """An import used only in annotations, a local variable that shares an imported name and the
    unused names of a grouped import add nothing: hoisting a lazy import to the top keeps the key."""
    lazy = ("def used(x: other) -> int:\n    from detbench.helpers import helper\n\n"
            "    other = 2\n    return helper(x) + other\n")
    top = ("from detbench.helpers import helper, other, unused\n\n\n"
           "def used(x: other) -> int:\n    other = 2\n    return helper(x) + other\n")
    helpers = _HELPERS + "\n\ndef unused():\n    return 1\n"
    base = _sources(tmp_path, monkeypatch, {"detbench/entry.py": lazy, "detbench/helpers.py": helpers})
    assert _sources(tmp_path, monkeypatch, {"detbench/entry.py": top, "detbench/helpers.py": helpers}) == base
    changed = helpers.replace("return 1", "return 2")            # unused() is in neither closure
    assert _sources(tmp_path, monkeypatch, {"detbench/entry.py": top, "detbench/helpers.py": changed}) == base
