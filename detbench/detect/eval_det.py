"""``eval_det``: detector AP of several detection caches side by side, written to one folder.

What ``detbench eval-det`` runs (the command parses options and prints the table): detectors
given by name are resolved once (:func:`detbench.detect.resolved.resolve`) and get their cache
from :func:`detbench.detect.resolved.detect` (computed when missing),
existing cache folders are scored as they are; every cache is scored with
:func:`detbench.detect.coco_eval.evaluate_cache` against the split's COCO ground truth.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable

from detbench.core import paths
from detbench.core.errors import InputError
from detbench.core.fileio import atomic_write_json, atomic_write_text, ensure_writable
from detbench.core.provenance import make_meta
from detbench.data.layout import find_dataset
from detbench.detect.cache import read_meta
from detbench.detect.coco_eval import evaluate_cache, markdown_table
from detbench.detect.options import resolve_device
from detbench.detect.resolved import detect, resolve

# progress(detector, done images, total images, sequence, images per second or None)
EvalDetProgress = Callable[[str, int, int, str, "float | None"], None]


@dataclass
class EvalDetResult:
    out_dir: Path               # holds eval.json, eval.md, results/<label>.json
    results: dict[str, dict]    # {label: evaluate_coco metrics + "cache"}, in the order given
    doc: dict                   # what eval.json holds
    used: list[str] = field(default_factory=list)  # per detector name: its run, checkpoint and cache

    @property
    def files(self) -> tuple[Path, Path]:
        """``eval.json`` and ``eval.md``."""
        return self.out_dir / "eval.json", self.out_dir / "eval.md"


def default_out_dir(labels: list[str], split: str) -> Path:
    """``runs/eval_det/<labels joined by _, at most 80 characters>_<split>`` (no ``/`` in it)."""
    return paths.runs_root() / "eval_det" / f"{'_'.join(labels)[:80]}_{split}".replace("/", "-")


def eval_det(data: str | Path | None, split: str = "val", detectors: list[str] = (), caches: list = (),
             run: str | None = None, conf: float = 0.01, nms: float = 0.65, batch_size: int = 8,
             device: str = "auto", cameras: list[str] | None = None, score_thr: float = 0.3,
             out: str | Path | None = None, json_path: str | Path | None = None,
             progress: EvalDetProgress | None = None) -> EvalDetResult:
    """Score ``detectors`` (checkpoint names or ``.pth`` paths of ``run``; their caches computed
    when missing with ``conf``, ``nms``, ``batch_size``, ``device`` (``auto``: cuda when present)
    and ``cameras``) and existing cache folders ``caches`` (which must be of ``split``) on the
    split of the prepared dataset ``data`` (:func:`detbench.data.layout.find_dataset`).

    Writes ``<out>/eval.json`` (top-level AP, AP50, ... when one detector; ``detectors`` always),
    ``<out>/eval.md`` and ``<out>/results/<label>.json``, plus ``json_path`` when given; ``out``
    defaults to :func:`default_out_dir`. Labels are the detector names, a cache's recorded
    detector (else its folder name), each suffixed ``@<first 6 characters of the cache folder>``
    when two labels coincide. Every detector name is checked before any work.
    ``progress(detector, done, total, sequence, images_per_s)``: called as a detector's images
    are detected (as :func:`detbench.detect.api.detect`'s callback, not on a cache hit).
    """

    names = list(detectors)
    if not names and not caches:
        raise InputError("eval-det: give --detector NAME[,NAME...] or --cache DIR")
    data_dir = find_dataset(data)
    reads = {"--data": data_dir, "--cache": list(caches), "detection caches": paths.detections_root()}
    for path, what in ((out, "eval-det report"), (json_path, "--json file")):
        if path:
            ensure_writable(path, what, inputs=reads)
    # every name resolved once and checked before any work, and before "auto" imports torch to
    # choose the device
    checked = [resolve(name, data_dir, split, run, conf=conf, nms=nms, device=device, cameras=cameras)
               for name in names]
    chosen = resolve_device(device) if checked else device
    resolved = [replace(det, device=chosen) for det in checked]
    todo, used = [], []  # (label, cache_dir), what each detector name resolved to
    for det in resolved:
        on_images = None if progress is None else (lambda *a, _n=det.name: progress(_n, *a))
        res = detect(det, batch_size=batch_size, progress=on_images)
        todo.append((det.name, res.cache_dir))
        used.append(res.used())
    for c in caches:
        meta = read_meta(c)
        if meta.get("split") != split:
            raise InputError(f"{Path(c) / 'meta.json'}: cache is of split {meta.get('split')!r}, not {split!r}")
        todo.append((str(meta.get("detector") or Path(c).name), Path(c)))
    labels = [t[0] for t in todo]
    if len(set(labels)) != len(labels):
        labels = [f"{lab}@{Path(c).name[:6]}" for lab, c in todo]
    out_dir = Path(out) if out else default_out_dir(labels, split)
    results, per = {}, {}
    for label, (_, cache_dir) in zip(labels, todo):
        metrics, coco = evaluate_cache(cache_dir, data_dir, split, score_thr)
        metrics["cache"] = str(cache_dir)
        results[label], per[label] = metrics, coco
    doc = make_meta("eval-det", options={"split": split, "score_thr": score_thr},
                    inputs={"data_dir": str(data_dir), "caches": {k: v["cache"] for k, v in results.items()}},
                    detectors=results)
    if len(results) == 1:
        doc.update({k: v for k, v in next(iter(results.values())).items()})
    md = f"# Detector AP: split {split}\n\n" + markdown_table(results)
    for label, coco in per.items():
        atomic_write_json(out_dir / "results" / f"{label}.json", coco, indent=None)
    atomic_write_json(out_dir / "eval.json", doc)
    atomic_write_text(out_dir / "eval.md", md)
    if json_path:
        atomic_write_json(json_path, doc)
    return EvalDetResult(out_dir, results, doc, used)
