"""What a cache key holds of the code and the libraries that made an artifact.

A stage's code is the closure of what its entry points use inside ``detbench/`` and
``trackers/`` (:mod:`detbench.codeclosure`: found statically, lazy imports included, down to the
top-level statements a name needs). So ``detbench/core/types.py``'s ``iou_matrix`` is in the key of
what matches boxes (tracks, evaluations), not of detections, which use only its array helpers. A
tracker class is named by a string in the registry (:data:`trackers.TRACKERS`), which no static
walk follows: a key of a tracker's output names the class as one more entry
(:func:`tracker_entry`), so ``trackers/iou.py`` is in the ``iou`` tracker's keys only.

Libraries: the installed version of the distribution of every third-party module that the chosen
statements import, and of the libraries those run on detbench's behalf (:data:`RUNS_WITH`).

Keys are computed often (an 81-point tuning grid): each entry set is walked once per process
(:func:`cache_clear` forgets, for tests that change a source or a version).
"""
from __future__ import annotations

import functools
import importlib.metadata

from detbench import codeclosure
from detbench.core.fileio import sha256_json

# Each stage's entry points: "module:name" (that definition and what it uses) or "module" (all).
# The code that computes the artifact, not the cache around it (its key machinery is not hashed).
DETECT = ("detbench.train.checkpoint:load_detector", "detbench.detect.api:_run",
          "detbench.detect.cache:write_cache")
TRACK = ("detbench.tracking.run:track_sequence", "detbench.tracking.sources:SequenceJob",
         "detbench.data.mot:write_mot")            # + the tracker class (tracker_entry)
EVALUATE = ("detbench.evaluate.api:evaluate_folders",)
TUNE = ("detbench.tuning.tune:tune_jobs",)               # + the tracker class
SENSITIVITY = ("detbench.sensitivity.run:run_unit",)  # + the tracker class

# Libraries that run other libraries' code for detbench (not seen from detbench's own imports).
RUNS_WITH = {
    "boxmot": ("torch", "torchvision", "numpy", "scipy", "lapx", "filterpy", "opencv-python-headless"),
    "pixeltable-yolox": ("torch", "torchvision", "numpy", "opencv-python-headless"),
    "torchvision": ("torch", "numpy"),
    "trackeval": ("numpy", "scipy"),
    "motmetrics": ("numpy", "scipy", "pandas"),
    "pycocotools": ("numpy",),
    "scipy": ("numpy",),
    "opencv-python-headless": ("numpy",),
}


def tracker_entry(cls) -> str:
    """The entry point of a tracker class (``trackers.iou:IouTracker``)."""
    return f"{cls.__module__}:{cls.__qualname__.split('.')[0]}"


def code_key(*entries: str) -> dict:
    """``{"sources": sha256 of the closure's statements, "libraries": {distribution: version}}``
    of the code reached from ``entries`` (cached per process). The statements are hashed by what
    they do, wherever they live (:mod:`detbench.codeclosure`): a move or a comment keeps the key."""
    return dict(_code_key(tuple(sorted(set(entries)))))


def closure(*entries: str) -> dict[str, str]:
    """``{module: sha256 of its statements in the closure}`` for ``entries`` (ValueError when an
    entry names no project module or no top-level definition of it)."""
    return {m: sha256_json(list(d)) for m, (d, _) in codeclosure.walk(tuple(sorted(set(entries)))).items()}


def library_version(distribution: str) -> str | None:
    """The installed version of ``distribution`` (None when it is not installed)."""
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def cache_clear() -> None:
    """Forget the keys computed so far (the next ones read every source and version again)."""
    _code_key.cache_clear()
    codeclosure.walk.cache_clear()


@functools.lru_cache(maxsize=None)
def _code_key(entries: tuple[str, ...]) -> tuple:
    mods = codeclosure.walk(entries)
    libs = {d for _, tops in mods.values() for top in tops for d in _distributions_of(top)}
    todo = list(libs)
    while todo:
        for d in RUNS_WITH.get(todo.pop(), ()):
            if d not in libs:
                libs.add(d)
                todo.append(d)
    return (("sources", sha256_json(sorted({d for digests, _ in mods.values() for d in digests}))),
            ("libraries", {d: library_version(d) for d in sorted(libs)}))


# Import names that are not their distribution's name (tried in order; any other name is looked
# up as a distribution of the same name, then in every installed distribution's file list).
DISTRIBUTIONS = {"cv2": ("opencv-python-headless", "opencv-python"), "yolox": ("pixeltable-yolox", "yolox"),
                 "lap": ("lapx", "lap"), "sklearn": ("scikit-learn",), "PIL": ("pillow",), "yaml": ("pyyaml",)}


@functools.lru_cache(maxsize=None)
def _distributions_of(top: str) -> tuple[str, ...]:
    for name in (*DISTRIBUTIONS.get(top, ()), top):
        try:
            return (importlib.metadata.distribution(name).metadata["Name"].lower(),)
        except importlib.metadata.PackageNotFoundError:
            continue
    return tuple(d.lower() for d in _installed().get(top, ()))


@functools.lru_cache(maxsize=None)
def _installed() -> dict[str, list[str]]:
    return importlib.metadata.packages_distributions()   # slow (reads every distribution's files)
