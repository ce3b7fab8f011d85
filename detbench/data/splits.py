"""Which scenes form ``train``, ``val`` and ``tune``.

- A dataroot with ``splits.json`` (the synthetic dataset writes one): ``{split: [scene names]}``.
- Real nuScenes, the devkit's official splits (``nuscenes.utils.splits.create_splits_scenes``):
  ``v1.0-trainval``: train / val; ``v1.0-mini``: mini_train -> train, mini_val -> val.
  ``tune`` (the tracker tuning split, disjoint from val) is held out of the official train split,
  deterministically: the official train scenes sorted by name, every ``TUNE_EVERY[version]``-th
  one (positions k-1, 2k-1, ...) goes to tune and leaves train. trainval: 70 tune / 630 train;
  mini: 2 tune (scene-0757, scene-1100) / 6 train.

No scene may be in two of them (:func:`check_disjoint`): a scene's cameras see the same objects,
so a scene shared by the tune and the reporting split would tune trackers on the answers.
``tune`` and ``compare`` check the splits they read by the scenes of their sequences
(:func:`shared_scenes`, :func:`scene_of`), whatever the splits are called.
"""
from __future__ import annotations

import re
from pathlib import Path

from detbench.core.errors import InputError
from detbench.core.fileio import read_json
from detbench.data import layout

SPLITS = ("train", "val", "tune")
TUNE_EVERY = {"v1.0-trainval": 10, "v1.0-mini": 4}
_OFFICIAL = {"v1.0-trainval": ("train", "val"), "v1.0-mini": ("mini_train", "mini_val")}
_CAMERA_SUFFIX = re.compile(r"(.+)_(CAM_[A-Za-z0-9_]+)")


def scene_of(seq: str) -> str:
    """The scene of a sequence name ``<scene>_<CAM>``: ``scene-0103_CAM_FRONT_LEFT`` -> ``scene-0103``.

    A name without a ``_CAM_...`` camera suffix is its own scene (it shares nothing known with
    other sequences), so such data is resampled per sequence."""
    m = _CAMERA_SUFFIX.fullmatch(seq)
    return m.group(1) if m else seq


def check_disjoint(splits: dict[str, list[str]], where: Path | str) -> None:
    """InputError naming the first scene that ``splits`` ({split: [scene names]}) puts in two of
    train / val / tune (``where``: the file or dataset that defines them)."""
    seen: dict[str, str] = {}
    for split in SPLITS:
        for scene in dict.fromkeys(splits.get(split) or ()):
            if scene in seen:
                raise InputError(f"{where}: scene {scene!r} is in both {seen[scene]!r} and {split!r} "
                                 f"(splits must not share a scene)")
            seen[scene] = split


def shared_scenes(sequences_a, sequences_b) -> list[str]:
    """The scenes (:func:`scene_of`) that two lists of sequence names have in common, sorted."""
    return sorted({scene_of(s) for s in sequences_a} & {scene_of(s) for s in sequences_b})


def tune_rule(version: str) -> str:
    k = TUNE_EVERY[version]
    return (f"tune = every {k}th scene (positions {k - 1}, {2 * k - 1}, ... 0-based) of the official "
            f"{_OFFICIAL[version][0]} split sorted by name; train = the rest")


def official_splits(version: str) -> dict[str, list[str]]:
    from nuscenes.utils.splits import create_splits_scenes

    official = create_splits_scenes()
    train_name, val_name = _OFFICIAL[version]
    train_all = sorted(official[train_name])
    k = TUNE_EVERY[version]
    tune = [s for i, s in enumerate(train_all) if i % k == k - 1]
    train = [s for i, s in enumerate(train_all) if i % k != k - 1]
    return {"train": train, "val": sorted(official[val_name]), "tune": tune}


def read_splits_file(path: Path) -> dict[str, list[str]]:
    data = read_json(path)
    if not isinstance(data, dict) or not all(
            isinstance(v, list) and all(isinstance(s, str) for s in v) for v in data.values()):
        raise InputError(f"{path}: expected {{split: [scene names]}}")
    return {k: list(v) for k, v in data.items()}


def resolve_splits(dataroot: Path, version: str, wanted: list[str] | None,
                   scene_names: set[str]) -> tuple[dict, str]:
    """``({split: [scene names present in the database]}, source description)`` for ``wanted``
    (None: every split of ``SPLITS`` that has scenes, e.g. a small synthetic set has no ``tune``).

    Raises InputError for an unknown split name, a dataset with no split definition, a split file
    naming scenes the database lacks, a scene in two splits, or a wanted split with no scene in
    this database.
    """
    if wanted is not None and not wanted:
        raise InputError("--splits: no split given (choose from " + ", ".join(SPLITS) + ")")
    for s in wanted or ():
        if s not in SPLITS:
            raise InputError(f"--splits: unknown split {s!r} (choose from {', '.join(SPLITS)})")
    split_file = Path(dataroot) / "splits.json"
    if split_file.is_file():
        defined = read_splits_file(split_file)
        missing = sorted({s for v in defined.values() for s in v} - scene_names)
        if missing:
            raise InputError(f"{split_file}: scene {missing[0]!r} is not in the database "
                             f"({len(missing)} unknown scene(s))")
        source, where = f"{split_file.name} in the dataroot", split_file
    elif version in _OFFICIAL:
        defined = official_splits(version)
        # a partial download holds only some official scenes: keep those present
        defined = {k: [s for s in v if s in scene_names] for k, v in defined.items()}
        source, where = f"nuscenes-devkit official splits; {tune_rule(version)}", Path(dataroot) / version
    else:
        raise InputError(f"{split_file}: not found, and {version!r} has no official split "
                         f"(official: {', '.join(_OFFICIAL)})")
    check_disjoint(defined, where)
    if wanted is None:
        wanted = [s for s in SPLITS if defined.get(s)] or list(SPLITS)
    out = {}
    for s in wanted:
        scenes = defined.get(s, [])
        if not scenes:
            raise InputError(f"{where}: split {s!r} has no scenes in this database")
        out[s] = list(scenes)
    return out, source


def check_tune_split(data_dir: str | Path, tune_split: str, report_split: str, option: str) -> None:
    """InputError unless the prepared dataset's ``tune_split`` and ``report_split`` are different
    splits with no scene in common (the scenes of the sequence folders each holds; a missing
    reporting split shares nothing). ``option``: the option that named the tune split."""

    if tune_split == report_split:
        raise InputError(f"{option} {tune_split!r} is the reporting split: tunings must come from a split "
                         f"the tables never report")
    ds = layout.PreparedDataset(data_dir)
    folders = [ds.gt_dir(s) for s in (tune_split, report_split)]
    if not all(f.is_dir() for f in folders):
        return
    tune_seqs, report_seqs = ([p.name for p in f.iterdir() if layout.is_sequence_dir(p)] for f in folders)
    shared = shared_scenes(tune_seqs, report_seqs)
    if shared:
        raise InputError(f"{data_dir}: {option} {tune_split!r} and the reporting split {report_split!r} share "
                         f"scene {shared[0]!r} ({len(shared)} shared scene(s)): tune on scenes the tables never "
                         f"report")
