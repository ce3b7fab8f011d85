"""Where ``detbench demo`` writes: its invocation's own runs folder, and ``--out``, published atomically.

Every artifact of one demo goes into a fresh folder, ``runs/demo/<time>-seed<N>-<suffix>/``
(:func:`new_invocation_dir`), so the demo never deletes or overwrites anything it did not create.
``--out`` may be missing, empty or an earlier demo's output (:func:`check_out`); the tables and
plots are copied there at the very end, atomically, and not at all when it already holds the same
results (:func:`publish`). Paths the demo records and prints are relative to the working directory
when they lie under it (:func:`shown`).
"""
from __future__ import annotations

import datetime as _dt
import os
import shutil
import tempfile
from pathlib import Path

from detbench.core import paths
from detbench.core.errors import InputError
from detbench.core.fileio import atomic_dir

SUMMARY = "demo_summary.json"


def shown(path: str | Path) -> str:
    """``path`` as ``demo_summary.json`` and the printed commands give it: relative to the working
    directory when it lies under it, else absolute."""
    path = Path(os.path.abspath(path))
    try:
        return str(path.relative_to(os.path.abspath(os.getcwd())))
    except ValueError:
        return str(path)


def check_out(out: Path | None) -> None:
    """``out`` may be missing, empty or an earlier demo's output (it holds ``demo_summary.json``);
    anything else is a user's folder the demo must not replace: InputError before any work."""
    if out is None or not out.exists():
        return
    if not out.is_dir():
        raise InputError(f"{out}: --out is a file, not a folder")
    if any(out.iterdir()) and not (out / SUMMARY).is_file():
        raise InputError(f"{out}: --out is not empty and holds no {SUMMARY} (not a demo's output); "
                         "the demo replaces --out as a whole, so give a new or empty folder")


def new_invocation_dir(seed: int) -> Path:
    """A fresh, unique folder under ``<runs>/demo/`` for everything this invocation writes."""
    parent = paths.runs_root() / "demo"
    parent.mkdir(parents=True, exist_ok=True)
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    root = Path(tempfile.mkdtemp(prefix=f"{stamp}-seed{seed}-", dir=parent))
    os.chmod(root, 0o777 & ~_umask())  # mkdtemp makes it 0700; colleagues may read a shared runs folder
    return root


def publish(src: Path, out: Path) -> bool:
    """Copy ``src`` to ``out`` atomically: ``out`` is replaced only once the copy is complete, and not
    at all when it already holds the same results (volatile parts aside:
    :func:`detbench.demo_results.same_results`). Returns whether ``out`` was written."""
    from detbench.demo_results import same_results

    if same_results(src, out):
        return False
    with atomic_dir(out) as tmp:
        shutil.copytree(src, tmp, dirs_exist_ok=True)
        mode = 0o777 & ~_umask()   # folders readable as the umask says (temporary folders are 0700)
        for d in [tmp, *(p for p in tmp.rglob("*") if p.is_dir())]:
            os.chmod(d, mode)
    return True


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
