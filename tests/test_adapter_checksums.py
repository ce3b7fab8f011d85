"""The boxmot adapters (and ``cmc=pose``) write byte-identical tracks files to the code before
their speed-up, on the real fixture's detections.

The figures were worked out from main's code before the change (commit d87b659) with

    git archive d87b659 | tar -x -C /tmp/main && python tests/adapter_checksums.py --code /tmp/main

A change that alters tracks on purpose must update them, say why in its commit and show the
metrics before and after (benchmarks/README.md).
"""
from __future__ import annotations

import pytest
from adapter_checksums import CONFIGS, FP_RATES, checksums

BEFORE = {
    "botsort fp1": "a3382d485ea1b0c97f7962edaf6b102a2b47d01200b47fe9b51b862fa2259eb8",
    "botsort:cmc=pose fp1": "524fd1e5852ea9654f3d749ace5f38f1d9cd42e1d4d32de87e3e51ac6ba808e4",
    "bytetrack fp1": "0bcec76d513429697b7e3f3aea6c042499359b564f0feb4c4238dc59961121a5",
    "bytetrack:cmc=pose fp1": "47a1b0a6062cdfba32c3f135a2235a81c613738f6ed9bb6eb43e0a3179382364",
    "ocsort fp1": "bf0a5452baf19ead5eea9f6ae38ceadfe0ed9c7e9271213d7b8310d41c8f2431",
    "ocsort:cmc=pose fp1": "f297e3f883d5cb65b9dd2463d91f22140fe19700fb8c5a0154d899c635e26d1b",
    "botsort fp20": "f4a2fbbd9f44bf7cc8a6deda77c211fe416e57a404c86f6552e16124b61bef6f",
    "botsort:cmc=pose fp20": "8319ceb62cb831eb7773f6956746dd35262cda6a35b7efe6f4c94f00c9e9eee9",
    "bytetrack fp20": "b1db7cf160ac24da2c3f7d7953b99e09c0692acf91f032a83da3a8520da11d57",
    "bytetrack:cmc=pose fp20": "843100e34f8f4de35cded4cf67e4c75ff6a8a24af3308b4e73868781900ba0c8",
    "ocsort fp20": "aff8e0f27ad320945db880b58374c5b4ceb0e6c1928d005de333d85bee9cab9f",
    "ocsort:cmc=pose fp20": "792bff6c9da64f6d365374bfc2a4db5860b904edcf60dfbacc5fa8b059ca164f",
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
