"""Every command block of README.md and docs/*.md is executed (or explicitly excused), so the docs
cannot drift.

The pages run in ``PAGES`` order (then any other docs/*.md, by name) in one temporary working
directory, so a page may use what an earlier one made (docs/training.md trains on the
``runs/data/mini`` that docs/data.md prepares; docs/formats.md converts docs/trackers.md's tracks).
README.md keeps only a command table: each ``detbench`` example in it must be a command of a tagged
block of some page (so it runs there, or is parsed) and must parse here with ``--help``.

Convention: the line right before each fenced block that holds commands (a ``bash`` block, or a
transcript whose lines start with ``$ ``) is one HTML comment, invisible on GitHub:

- ``<!-- readme-test: run -->``: run in order in one temporary working directory (runs/ there);
  ``| env NAME=VALUE`` sets a variable (a relative path that exists in the repository is made
  absolute), ``| before COMMAND`` runs a hidden set-up step first (what a reader did before).
  A command's argument naming a committed file (``weights/...``, ``tests/...``) is read from the
  repository, as a reader at its root would.
  In a command other than detbench, a word with ``*``, ``?`` or ``[`` that matches files is
  expanded as a shell would (sorted).
  A transcript command whose shown output starts with ``error:`` must exit 2 with that error
  (``...`` stands for any text); any other must exit 0 and print lines starting as shown.
- ``<!-- readme-test: options: REASON -->``: not run (REASON: it needs a GPU, real data, hours);
  every ``detbench`` command is parsed with ``--help`` appended, so command and option names
  must exist.
- ``<!-- readme-test: skip: REASON -->``: not run at all (e.g. the make targets themselves).

A command block without a tag fails this test. Other engineers edit these pages: keep the
tags with their blocks.
"""
from __future__ import annotations

import glob
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from detbench.cli import main

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
#: the order the pages run in (later pages use what earlier ones made); other docs/*.md follow by name
PAGES = ["README.md", "docs/data.md", "docs/training.md", "docs/trackers.md", "docs/formats.md"]
README_MAX_LINES = 150


def pages() -> list[Path]:
    rest = sorted(str(p.relative_to(REPO)) for p in (REPO / "docs").glob("*.md"))
    return [REPO / name for name in PAGES + [r for r in rest if r not in PAGES]]
BLOCK = re.compile(r"(?:<!--\s*readme-test:(?P<tag>[^>]*?)-->[ \t]*\n)?```(?P<lang>[\w-]*)\n(?P<body>.*?)```", re.S)


def blocks(text: str) -> list[dict]:
    out = []
    for m in BLOCK.finditer(text):
        body, lang = m.group("body"), m.group("lang")
        transcript = any(ln.startswith("$ ") for ln in body.splitlines())
        if not transcript and lang not in ("bash", "sh", "shell", "console"):
            continue  # a diagram or a table of output, not commands
        line = text[: m.start("body")].count("\n") + 1
        out.append({"line": line, "tag": (m.group("tag") or "").strip(), "body": body, "transcript": transcript})
    return out


def commands(block: dict) -> list[tuple[str, list[str]]]:
    """(command, expected output lines) of a block; bash blocks have no shown output."""
    lines = block["body"].splitlines()
    if block["transcript"]:
        out: list[tuple[str, list[str]]] = []
        for ln in lines:
            if ln.startswith("$ "):
                out.append((ln[2:], []))
            elif out:
                out[-1][1].append(ln)
        return out
    joined, cur = [], ""
    for ln in lines:
        if ln.rstrip().endswith("\\"):
            cur += ln.rstrip()[:-1] + " "
            continue
        cur += ln
        if cur.strip() and not cur.strip().startswith("#"):
            joined.append(cur.strip())
        cur = ""
    return [(c, []) for c in joined]


def parse_tag(tag: str) -> tuple[str, str, dict, list[str]]:
    """-> (mode, reason, env, before commands)."""
    parts = [p.strip() for p in tag.split("|")]
    head = parts[0]
    mode, _, reason = head.partition(":")
    env, before = {}, []
    for p in parts[1:]:
        key, _, value = p.partition(" ")
        if key == "env":
            name, _, val = value.partition("=")
            env[name.strip()] = str(REPO / val) if (REPO / val).exists() else val
        elif key == "before":
            before.append(value.strip())
        else:
            raise AssertionError(f"README tag {tag!r}: unknown part {key!r}")
    return mode.strip(), reason.strip(), env, before


COMMITTED = ("weights", "tests", "benchmarks", "results")   # folders of the repository a command may name


def _from_repository(arg: str) -> str:
    """``weights/demo_base/x.pth`` -> its absolute path in the repository (a reader runs the README
    from the repository's root; the test runs it in a temporary folder)."""
    first = Path(arg).parts[0] if arg and not os.path.isabs(arg) and Path(arg).parts else ""
    return str(REPO / arg) if first in COMMITTED and (REPO / arg).exists() and not os.path.exists(arg) else arg


def run_one(command: str, capsys) -> tuple[int, str, str]:
    argv = [_from_repository(os.path.expandvars(a)) for a in shlex.split(command, comments=True)]
    if argv and argv[0] == "detbench":
        capsys.readouterr()
        rc = main(argv[1:])
        out, err = capsys.readouterr()
        return rc, out, err
    argv = [m for a in argv for m in (sorted(glob.glob(a)) or [a] if any(c in a for c in "*?[") else [a])]
    if argv and argv[0] == "python":
        argv[0] = sys.executable
        if len(argv) > 1 and (REPO / argv[1]).is_file():  # a script of the repository
            argv[1] = str(REPO / argv[1])
    env = dict(os.environ, PYTHONPATH=str(REPO))
    p = subprocess.run(argv, capture_output=True, text=True, env=env)
    return p.returncode, p.stdout, p.stderr


def _pieces_in_order(pattern: str, text: str) -> bool:
    pos = 0
    for piece in (p for p in pattern.split("...") if p):
        i = text.find(piece, pos)
        if i < 0:
            return False
        pos = i + len(piece)
    return True


def check_output(command: str, expected: list[str], rc: int, out: str, err: str, page: str = "README.md") -> None:
    shown = [ln for ln in expected if ln.strip()]
    where = f"{page} command `{command}`"
    if shown and shown[0].startswith("error:"):
        assert rc == 2, f"{where}: expected exit 2, got {rc}\n{err}"
        line = err.strip().splitlines()[-1] if err.strip() else ""
        assert _pieces_in_order(shown[0], line), f"{where}: the page shows\n  {shown[0]}\nbut it printed\n  {line}"
        return
    assert rc == 0, f"{where}: exit {rc}\n{out}\n{err}"
    printed = {ln.split()[0] for ln in (out + err).splitlines() if ln.split()}
    for ln in shown:
        first = ln.split()[0]
        if first.isalpha():  # words (wrote, cache, init, ...), not table rows or numbers
            assert first in printed, f"{where}: the page shows a line starting {first!r}; output:\n{out}{err}"


def _name(page: Path) -> str:
    return str(page.relative_to(REPO))


@pytest.mark.parametrize("page", pages(), ids=_name)
def test_every_command_block_is_tagged(page):
    text = page.read_text(encoding="utf-8")
    untagged = [b["line"] for b in blocks(text) if not b["tag"]]
    assert not untagged, (f"{_name(page)}: command block(s) at line(s) {untagged} have no "
                          f"<!-- readme-test: ... --> tag (see tests/test_readme.py)")
    for b in blocks(text):
        mode, reason, _, _ = parse_tag(b["tag"])
        assert mode in ("run", "options", "skip"), f"{_name(page)}:{b['line']}: unknown mode {mode!r}"
        assert mode == "run" or reason, f"{_name(page)}:{b['line']}: a block that is not run needs a reason"


def test_readme_is_short():
    lines = README.read_text(encoding="utf-8").count("\n")
    assert lines <= README_MAX_LINES, f"README.md: {lines} lines, at most {README_MAX_LINES} (the rest goes to docs/)"


def _words(command: str) -> list[str]:
    return shlex.split(command, comments=True)


def test_readme_examples_run_in_the_pages(capsys):
    """The README's command table: each example is a command of a tagged ``run`` or ``options``
    block of some page, and its command and options exist."""
    in_blocks = {tuple(_words(c)) for page in pages() for b in blocks(page.read_text(encoding="utf-8"))
                 if parse_tag(b["tag"])[0] in ("run", "options") for c, _ in commands(b)}
    rows = [ln.split("|") for ln in README.read_text(encoding="utf-8").splitlines() if ln.startswith("| `")]
    examples = [m.group(1) for row in rows for m in [re.fullmatch(r"\s*`(detbench [^`]+)`\s*", row[3])] if m]
    assert len(examples) == len(rows) >= 15, "README.md: a command table row without a `detbench ...` example"
    for example in examples:
        assert tuple(_words(example)) in in_blocks, f"README.md: `{example}` is run in no page's command block"
        rc, _, err = run_one(shlex.join(_words(example) + ["--help"]), capsys)
        assert rc == 0, f"README.md: `{example}` does not parse:\n{err}"


@pytest.mark.slow
def test_readme_commands_work_as_written(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DETBENCH_RUNS", "runs")
    ran = 0
    for page, b in ((p, b) for p in pages() for b in blocks(p.read_text(encoding="utf-8"))):
        where = f"{_name(page)}:{b['line']}"
        mode, _, env, before = parse_tag(b["tag"])
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        if mode == "skip":
            continue
        if mode == "options":
            for command, _ in commands(b):
                argv = shlex.split(command, comments=True)
                if argv and argv[0] == "detbench":
                    rc, out, err = run_one(shlex.join(argv + ["--help"]), capsys)
                    assert rc == 0, f"{where}: `{command}` does not parse:\n{err}"
            continue
        for command in before:
            rc, out, err = run_one(command, capsys)
            assert rc == 0, f"{where}: set-up `{command}` failed ({rc}):\n{out}\n{err}"
        for command, expected in commands(b):
            rc, out, err = run_one(command, capsys)
            check_output(command, expected, rc, out, err, where)
            ran += 1
    assert ran >= 5
