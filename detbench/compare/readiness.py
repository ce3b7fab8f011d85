"""What a prepared dataset's splits allow ``detbench compare`` to do, said once when ``prepare`` ends.

``compare`` reports on ``val`` and, by default (``--tuned``), runs each pair with the setting
``detbench tune`` found on the ``tune`` split; its change intervals (a bootstrap over scenes) and
verdicts (a permutation test over scenes) need several scenes. A dataset without a tune split
compares only with the options these notes name, one whose reporting split has one scene only
without intervals or verdicts; a user should learn that from ``prepare``, not from ``compare``
after all its tracking.
"""
from __future__ import annotations

from pathlib import Path

from detbench.data.layout import PreparedDataset

REPORT_SPLIT = "val"   # compare's --split default
TUNE_SPLIT = "tune"    # compare's --tune-split default


def compare_notes(data_dir: str | Path) -> list[str]:
    """One line per limitation of the prepared dataset ``data_dir`` for ``compare`` with its defaults."""

    data = PreparedDataset(data_dir)
    scenes = {split: len(names) for split, names in (data.meta.get("splits") or {}).items()
              if data.sequences(split)}
    notes = []
    if REPORT_SPLIT not in scenes:
        notes.append(f"no {REPORT_SPLIT} split: `detbench compare` reports on {REPORT_SPLIT} by default; "
                     f"pass it --split SPLIT (here: {', '.join(sorted(scenes))})")
    elif scenes[REPORT_SPLIT] == 1:
        notes.append(f"split {REPORT_SPLIT} has 1 scene: `detbench compare` gives no interval and no verdict "
                     f"there (both need several scenes); prepare more scenes into {REPORT_SPLIT} for them")
    if TUNE_SPLIT not in scenes:
        notes.append(f"no {TUNE_SPLIT} split: `detbench compare` tunes each pair on it by default; run it with "
                     f"--no-tuned (the trackers' defaults) or --tune-split SPLIT (a split that shares no scene "
                     f"with the one reported)")
    return notes
