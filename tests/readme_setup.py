"""Hidden set-up steps for the command blocks of README.md and docs/ (see tests/test_readme.py): things a reader
has already done by the time they reach a block, done here quickly.

    python tests/readme_setup.py noisy-dets SEQUENCES OUT   # GT-derived noisy detections per sequence
"""
from __future__ import annotations

import sys
from pathlib import Path


def noisy_dets(sequences: str, out: str) -> None:
    from detbench.data.mot import read_mot, read_seqinfo, write_mot_dets
    from detbench.data.noisy import noisy_detections

    for i, seq in enumerate(sorted(p for p in Path(sequences).iterdir() if (p / "gt" / "gt.txt").is_file())):
        info = read_seqinfo(seq / "seqinfo.ini")
        gt = read_mot(seq / "gt" / "gt.txt", kind="gt")
        dets = noisy_detections(gt, info.length, info.width, info.height, seed=i, drop=0.1, fp_rate=1.0)
        write_mot_dets(Path(out) / f"{seq.name}.txt", dets)


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    {"noisy-dets": noisy_dets}[sys.argv[1]](*sys.argv[2:])
