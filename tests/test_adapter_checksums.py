"""The boxmot adapters (and ``cmc=pose``) write byte-identical tracks files to the code before
their speed-up, on the real fixture's detections.

The figures were worked out from main's code before the change (commit d87b659) with

    git archive d87b659 | tar -x -C /tmp/main && python tests/adapter_checksums.py --code /tmp/main

A change that alters tracks on purpose must update them, say why in its commit and show the
metrics before and after (benchmarks/README.md). The six ``cmc=pose`` ones were updated when the
tune splits chose to cut moved boxes at the left/right edges and to add compensation noise
(benchmarks/README.md, "Calibrated motion: pose compensation"): they are this code's, not
d87b659's.
"""
from __future__ import annotations

import pytest
from adapter_checksums import CONFIGS, FP_RATES, checksums

BEFORE = {
    "botsort fp1": "a3382d485ea1b0c97f7962edaf6b102a2b47d01200b47fe9b51b862fa2259eb8",
    "botsort:cmc=pose fp1": "c9262a1e8d3d5ae5e7c4fcd69ea43a997645c9cdd19ce09d29edfa0542f16312",
    "bytetrack fp1": "0bcec76d513429697b7e3f3aea6c042499359b564f0feb4c4238dc59961121a5",
    "bytetrack:cmc=pose fp1": "8451822bc53ea34a76e4ec595a88fcc0f5f266f110aff3e810fc6845bd21c51d",
    "ocsort fp1": "bf0a5452baf19ead5eea9f6ae38ceadfe0ed9c7e9271213d7b8310d41c8f2431",
    "ocsort:cmc=pose fp1": "60fb73d6a5fc6aa877d21aa54ef47ad6b0ed172610265794edeb032e7dbff1cf",
    "botsort fp20": "f4a2fbbd9f44bf7cc8a6deda77c211fe416e57a404c86f6552e16124b61bef6f",
    "botsort:cmc=pose fp20": "02e9e3fe567166dff68cc95c6de8aa3af2756eb3f74c50faae32ec3090088776",
    "bytetrack fp20": "b1db7cf160ac24da2c3f7d7953b99e09c0692acf91f032a83da3a8520da11d57",
    "bytetrack:cmc=pose fp20": "fdee6acabb7c447677e1a1bab7ebd4000e39c89e11bbf3442de4a98d060d96c7",
    "ocsort fp20": "aff8e0f27ad320945db880b58374c5b4ceb0e6c1928d005de333d85bee9cab9f",
    "ocsort:cmc=pose fp20": "94bbde197046dbaaa4bec68263465cd376509dfbe6b896985e4c10a3ea7fdec3",
}


@pytest.fixture(scope="module")
def now() -> dict[str, str]:
    return checksums()


@pytest.mark.parametrize("fp_rate", FP_RATES)
@pytest.mark.parametrize("label", list(CONFIGS))
def test_tracks_unchanged(now, label, fp_rate):
    key = f"{label} fp{fp_rate:g}"
    assert now[key] == BEFORE[key], f"{key}: tracks differ from the code before the speed-up"


def test_checksums_cover_every_adapter_and_pose():
    assert {name for name, _ in CONFIGS.values()} == {"botsort", "bytetrack", "ocsort"}
    assert sum(opts.get("cmc") == "pose" for _, opts in CONFIGS.values()) == 3
