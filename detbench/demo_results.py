"""Whether a demo's tables and plots equal an earlier demo's, volatile parts aside.

``make demo`` publishes to the committed ``results/demo/``. Two runs with the same numbers still
write different bytes in a few *volatile* parts: the run's own folder
(``runs/demo/<time>-seed<N>-<random>``, in every path), times, dates and durations, the package
versions, the git commit and the command line of the provenance records, and the content hashes of
files that hold any of those (the prepared dataset's ``meta.json`` and the motion model's
``config.json``, hence the detection-cache and tuning keys). :func:`same_results` compares two
output folders with exactly those parts masked, so that :func:`detbench.demo_output.publish` can leave a
folder holding the same results untouched (``git status`` stays clean after a newcomer's first
``make demo``) and replace it whenever anything else differs: a number, a table's layout, a plot.
Plots are compared byte for byte (they are deterministic: :mod:`detbench.compare.plots`).
"""
from __future__ import annotations

import json
import re
from pathlib import Path

# keys of JSON records whose values are volatile (provenance, wall times): dropped before comparing
VOLATILE_KEYS = frozenset({"created", "git_commit", "versions", "command", "timings_s", "duration"})
# markdown sections (``## <title>``) that report wall times (the training report's "Duration")
VOLATILE_SECTIONS = frozenset({"Duration"})
# a path into a demo invocation's folder (detbench.demo_output.new_invocation_dir: <stamp>-seed<N>-<mkdtemp suffix>),
# relative or absolute, up to the folder's name
_RUN_PATH = re.compile(r"[^\s\"'`|,=\[\]()]*\d{8}-\d{6}-seed\d+-[A-Za-z0-9_]+")
_HASH = re.compile(r"(?<![0-9a-f])[0-9a-f]{16,64}(?![0-9a-f])")
_TEXT = (".md", ".json", ".csv", ".txt")


def masked_text(text: str) -> str:
    """``text`` with the run's folder and content hashes masked and volatile sections left out."""
    kept, skipping = [], False
    for line in text.splitlines():
        if line.startswith("## "):
            skipping = line[3:].strip() in VOLATILE_SECTIONS
        if not skipping:
            kept.append(line)
    return _HASH.sub("<hash>", _RUN_PATH.sub("<run>", "\n".join(kept)))


def _without_volatile(obj):
    if isinstance(obj, dict):
        return {k: _without_volatile(v) for k, v in obj.items() if k not in VOLATILE_KEYS}
    if isinstance(obj, list):
        return [_without_volatile(v) for v in obj]
    return obj


def comparable(path: Path) -> bytes | str:
    """What of ``path`` must be equal for two runs to have the same results."""
    if path.suffix == ".json":
        try:
            return masked_text(json.dumps(_without_volatile(json.loads(path.read_text(encoding="utf-8"))),
                                          indent=1, sort_keys=True))
        except ValueError:
            pass
    if path.suffix in _TEXT:
        return masked_text(path.read_text(encoding="utf-8", errors="replace"))
    return path.read_bytes()


def _files(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


def same_results(new: Path, old: Path) -> bool:
    """True when ``old`` holds the same files as ``new`` and each is :func:`comparable` equal."""
    new, old = Path(new), Path(old)
    if not old.is_dir():
        return False
    names = _files(new)
    return names == _files(old) and all(comparable(new / n) == comparable(old / n) for n in sorted(names))
