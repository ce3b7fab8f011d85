"""Where TrackSSM motion models live: ``runs/motion/<name>/``, written by training and found by
name here, so that the tracker (:mod:`trackers.trackssm`) is given a resolved folder.

``weights`` unset means the most recently written model; the harness makes it explicit
(:func:`with_default_weights`) before it builds a tracker from the user's options.
"""
from __future__ import annotations

from pathlib import Path

from detbench.core.errors import InputError
from detbench.core.fileio import atomic_dir, atomic_write_bytes, atomic_write_json
from detbench.core.paths import motion_root, run_dirs
from trackers.trackssm.checkpoint import TRAIN_HINT, resolve


def save_model(out_dir: Path, model, config: dict, meta: dict | None = None,
               extra_files: dict[str, bytes] | None = None) -> Path:
    """Write a motion-model folder atomically (replacing an existing one): ``model.pth`` (the
    state dict), ``config.json`` (``model``: the :class:`~trackers.trackssm.model.ModelConfig`,
    then ``config``), ``meta.json`` and ``extra_files`` (name -> bytes, e.g. the loss curve)."""
    import io

    import torch

    out_dir = Path(out_dir)
    with atomic_dir(out_dir) as tmp:
        buf = io.BytesIO()
        torch.save({k: v.detach().cpu() for k, v in model.state_dict().items()}, buf)
        atomic_write_bytes(tmp / "model.pth", buf.getvalue())
        atomic_write_json(tmp / "config.json", {"model": model.config.to_dict(), **config})
        if meta is not None:
            atomic_write_json(tmp / "meta.json", meta)
        for fname, blob in (extra_files or {}).items():
            atomic_write_bytes(tmp / fname, blob)
    return out_dir


def latest_model_dir() -> Path:
    """The most recently written ``runs/motion/<name>/`` holding a model.pth (a run folder:
    dot-folders, :func:`detbench.core.paths.run_dirs`, are never one)."""
    root = motion_root()
    cands = [d for d in run_dirs(root) if (d / "model.pth").is_file()]
    if not cands:
        raise InputError(f"{root}: no trained TrackSSM motion model; {TRAIN_HINT} (or pass weights=PATH)")
    return max(cands, key=lambda d: (d / "model.pth").stat().st_mtime)


def resolve_weights(weights: str | Path | None) -> Path:
    """``None`` -> the latest model folder; a folder or its ``model.pth`` -> that folder."""
    return latest_model_dir() if weights is None else resolve(str(weights))


def uses_motion_model(tracker: str) -> bool:
    """Whether ``tracker`` is a registered TrackSSM (it reads a motion model: ``trackssm``,
    ``trackssm-gated``); an unknown name is not (its caller says it is unknown)."""
    from trackers import TRACKERS, tracker_class
    from trackers.trackssm.tracker import TrackSSMTracker

    return tracker in TRACKERS and issubclass(tracker_class(tracker), TrackSSMTracker)


def weights_unset(options: dict | None) -> bool:
    """Whether ``options`` leave TrackSSM's ``weights`` unset: absent, ``none`` or empty."""
    w = (options or {}).get("weights")
    return w is None or str(w).lower() in ("none", "")


def with_default_weights(tracker: str, options: dict | None) -> dict | None:
    """``options`` of ``tracker`` with TrackSSM's unset ``weights`` (:func:`weights_unset`)
    made the latest model's folder; other trackers' options as they are, and so are TrackSSM's
    when there is no model (the tracker then says that none was given, after checking the other
    options)."""
    if weights_unset(options) and uses_motion_model(tracker):
        try:
            return {**(options or {}), "weights": str(latest_model_dir())}
        except InputError:
            return options
    return options
