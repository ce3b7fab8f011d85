"""sha256 of the tracks files each boxmot adapter writes on the real fixture (a speed change must
not change them: tests/test_adapter_checksums.py compares against figures worked out from the
code before the change).

    python tests/adapter_checksums.py [--code ROOT]

``--code ROOT`` tracks with another checkout's code (e.g. ``git archive main | tar -x -C
/tmp/main`` then ``--code /tmp/main``), so the committed figures can be recomputed from the
code they stand for. Detections: each fixture sequence's ground truth through
``noisy_detections`` (seed = the sequence's index, false positives ``fp_rate`` per frame: 1,
where most classes are missing from most frames, and 20, about 29 boxes a frame), written as MOT
detection files and tracked by ``track_split`` as ``detbench track --dets --sequences`` does.
Prints one ``label sha256`` line per configuration.
"""
from __future__ import annotations

import hashlib
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "tests" / "fixtures" / "nuscenes-mini-real" / "sequences"
FP_RATES = (1.0, 20.0)
#: label -> (tracker, options)
CONFIGS = {
    "botsort": ("botsort", {"cmc": "none"}),
    "botsort:cmc=pose": ("botsort", {"cmc": "pose"}),
    "bytetrack": ("bytetrack", {}),
    "bytetrack:cmc=pose": ("bytetrack", {"cmc": "pose"}),
    "ocsort": ("ocsort", {}),
    "ocsort:cmc=pose": ("ocsort", {"cmc": "pose"}),
}


def write_detections(out: Path, fp_rate: float) -> Path:
    from detbench.data.layout import gt_file, seqinfo_file
    from detbench.data.mot import list_sequences, read_mot, read_seqinfo, write_mot_dets
    from detbench.data.noisy import noisy_detections

    out.mkdir(parents=True, exist_ok=True)
    for k, seq in enumerate(list_sequences(FIXTURE)):
        info = read_seqinfo(seqinfo_file(FIXTURE / seq))
        dets = noisy_detections(read_mot(gt_file(FIXTURE / seq), kind="gt"), info.length, info.width,
                                info.height, seed=k, fp_rate=fp_rate)
        write_mot_dets(out / f"{seq}.txt", dets)
    return out


def checksums(configs=CONFIGS, fp_rates=FP_RATES) -> dict[str, str]:
    """``{"<label> fp<rate>": sha256 of the sequences' tracks files, in name order}``."""
    from detbench.tracking.run import track_split
    from detbench.tracking.sources import from_external

    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        for fp_rate in fp_rates:
            jobs = from_external(write_detections(Path(tmp) / f"dets{fp_rate:g}", fp_rate), FIXTURE)
            for label, (name, options) in configs.items():
                run_dir = Path(tmp) / f"{label}-{fp_rate:g}"
                track_split(jobs, name, run_dir, options)
                digest = hashlib.sha256()
                for job in jobs:
                    digest.update((run_dir / f"{job.name}.txt").read_bytes())
                out[f"{label} fp{fp_rate:g}"] = digest.hexdigest()
    return out


if __name__ == "__main__":
    if "--code" in sys.argv:
        sys.path.insert(0, str(Path(sys.argv[sys.argv.index("--code") + 1]).resolve()))
    else:
        sys.path.insert(0, str(ROOT))
    for key, value in checksums().items():
        print(key, value)
