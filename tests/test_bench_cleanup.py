"""benchmarks/bench_cleanup.py's "tuned for IDSW" rule: fewest IDSW among the tune points
whose HOTA is above today's default's, then the highest HOTA, then grid order."""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

from bench_cleanup import idsw_choice  # noqa: E402

ROWS = [{"options": {"p": 0}, "HOTA": 0.50, "IDSW": 10},   # fewest IDSW, but HOTA not above 0.50
        {"options": {"p": 1}, "HOTA": 0.55, "IDSW": 30},
        {"options": {"p": 2}, "HOTA": 0.52, "IDSW": 20},   # fewest IDSW above 0.50 ...
        {"options": {"p": 3}, "HOTA": 0.53, "IDSW": 20},   # ... tied: the higher HOTA wins
        {"options": {"p": 4}, "HOTA": 0.53, "IDSW": 20}]   # tied again: grid order


def test_fewest_idsw_above_the_default_hota():
    assert idsw_choice(ROWS, 0.50)["options"] == {"p": 3}
    assert idsw_choice(ROWS, 0.54)["options"] == {"p": 1}
    assert idsw_choice(ROWS, 0.55) is None  # nothing above: the caller keeps the HOTA choice
