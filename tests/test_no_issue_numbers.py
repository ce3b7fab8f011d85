"""Code and docs say what a rule or figure is, not which tracker ticket asked for it: an "issue N"
means nothing to a newcomer (the lead's check, kept as a test)."""
from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TICKET = re.compile(r"issue ?#?[0-9]+|#[0-9]{2}\b", re.I)
TEXT = {".py", ".md", ".sh", ".toml"}


def files() -> list[Path]:
    out = [REPO / "README.md", REPO / "Makefile", REPO / "pyproject.toml"]
    for top in ("detbench", "trackers", "tests", "benchmarks", "docs"):
        out += [p for p in (REPO / top).rglob("*") if p.suffix in TEXT and p.is_file()]
    return out


def test_the_pattern_on_hand_worked_lines():
    assert TICKET.search("tuned (issue 20)") and TICKET.search("see Issue #7") and TICKET.search("bar #25")
    assert not TICKET.search("https://github.com/nutonomy/nuscenes-devkit/issues/762")
    assert not TICKET.search("#1 in the list") and not TICKET.search("issues of the fixture")


def test_no_issue_numbers_in_code_or_docs():
    hits = [f"{p.relative_to(REPO)}:{i}: {line.strip()[:100]}"
            for p in files() for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
            if TICKET.search(line) and p != Path(__file__).resolve()]
    assert not hits, "say what the rule or figure is instead of its ticket number:\n" + "\n".join(hits)
