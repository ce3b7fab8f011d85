"""Evaluations stored beside the results they score, keyed by content (:func:`evaluate_cached`).

Used by ``compare`` and ``tune``: a second run over the same result files, ground truth,
evaluation code and library versions reads metrics.json instead of scoring again, and says so
in the returned :class:`Evaluated`.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from detbench import codekeys
from detbench.artifacts import KeyedArtifact, content_key
from detbench.core.fileio import sha256_file
from detbench.data import layout
from detbench.evaluate.api import evaluate_folders


def evaluation_code_hash() -> dict:
    """The evaluation code and its libraries' versions (:func:`detbench.codekeys.code_key`): a
    changed metric must not be served from an older evaluation's metrics.json."""

    return codekeys.code_key(*codekeys.EVALUATE)


def evaluation_key(gt_dir: Path, res_dir: Path, classes: str = "per-class", iou: float = 0.5) -> str:
    """The key of ``res_dir``'s stored evaluation (see :func:`evaluate_cached`)."""
    return content_key({"results": {f.name: sha256_file(f) for f in sorted(res_dir.glob("*.txt"))},
                        "gt": layout.gt_hashes(gt_dir),
                        "code": evaluation_code_hash(),
                        "classes": classes, "iou": iou, "with": "hota_counts"})


@dataclass(frozen=True)
class Evaluated:
    """What :func:`evaluate_cached` returns: the metrics and whether they were served from the
    stored metrics.json (``reused``) or computed now."""

    metrics: dict
    reused: bool


def evaluate_cached(gt_dir: Path, res_dir: Path, classes: str = "per-class", iou: float = 0.5,
                    check: bool = False, executor=None) -> Evaluated:
    """``evaluate_folders`` with its result stored beside the results, keyed by the bytes of every
    file it reads (results, each sequence's gt.txt and seqinfo.ini), the evaluation code and its
    libraries' versions (:func:`evaluation_key`): a one-file
    :class:`detbench.artifacts.KeyedArtifact`, ``metrics.json`` = ``{key, checked, metrics}``.

    ``check``: run the motmetrics cross-check (off by default, as for ``detbench eval``). The
    check changes no number, only whether a disagreement raises, so it is not part of the key;
    a stored result is reused for ``check=True`` only if it was itself computed with the check.
    ``executor`` scores the sequences (:mod:`detbench.executors`; default: this process)."""

    art = KeyedArtifact(res_dir / "metrics.json", evaluation_key(gt_dir, res_dir, classes, iou), meta_name=None,
                        check=lambda a: _servable_metrics(a.meta(), check))
    if art.is_complete():
        return Evaluated(art.meta()["metrics"], reused=True)
    metrics = evaluate_folders(gt_dir, res_dir, classes=classes, iou=iou, hota_counts=True, check=check,
                               executor=executor)
    art.write({"checked": check, "metrics": metrics})
    return Evaluated(metrics, reused=False)


def _servable_metrics(stored: dict, check: bool) -> list[str]:
    """A stored metrics.json (key matched) serves a ``check=True`` call only if it was checked."""
    if "metrics" not in stored:
        return ["no metrics"]
    return [] if stored.get("checked", False) or not check else ["computed without the motmetrics check"]
