"""Motion-model checkpoints: ``runs/motion/<name>/{model.pth, config.json, meta.json}``.

``model.pth`` is a plain state dict (loaded with ``weights_only=True``); ``config.json`` holds
``model`` (the :class:`ModelConfig`), ``frame_rate``, ``data_hash``, ``train`` and ``metrics``.
"""
from __future__ import annotations

import json
from pathlib import Path

from detbench.core.errors import InputError
from detbench.core.fileio import atomic_dir, atomic_write_bytes, atomic_write_json
from detbench.core.paths import motion_root, run_dirs

TRAIN_HINT = "train one with: detbench train-motion --data runs/data/NAME"


def save(out_dir: Path, model, config: dict, meta: dict | None = None,
         extra_files: dict[str, bytes] | None = None) -> Path:
    """Write the model directory atomically (replacing an existing one); ``extra_files``
    (name -> bytes, e.g. the loss-curve PNG) go beside ``model.pth``."""
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
        raise InputError(f"{root}: no trained TrackSSM motion model; {TRAIN_HINT} "
                         f"(or pass weights=PATH)")
    return max(cands, key=lambda d: (d / "model.pth").stat().st_mtime)


def resolve(weights: str | None) -> Path:
    """``None`` -> the latest model dir; a dir or its ``model.pth`` -> that dir."""
    if weights is None:
        return latest_model_dir()
    p = Path(weights)
    if p.is_file() and p.name.endswith(".pth"):
        p = p.parent
    if not (p / "model.pth").is_file():
        raise InputError(f"{weights}: no TrackSSM model.pth there; {TRAIN_HINT}")
    return p


def read_config(d: Path) -> dict:
    """A model directory's config.json; a missing or malformed one raises InputError."""
    cfg_path = Path(d) / "config.json"
    try:
        config = json.loads(cfg_path.read_text(encoding="utf-8"))
        if not isinstance(config, dict) or not isinstance(config["model"], dict):
            raise TypeError("'model' must be an object")
        return config
    except FileNotFoundError:
        raise InputError(f"{cfg_path}: file not found (a motion model needs its config.json)") from None
    except (json.JSONDecodeError, KeyError, TypeError, UnicodeDecodeError) as e:
        raise InputError(f"{cfg_path}: malformed motion-model config ({type(e).__name__}: {e})") from None


def is_ground(weights: str | None) -> bool:
    """Whether the model ``weights`` resolves to is a ground-plane one (it needs each frame's camera)."""
    return bool(read_config(resolve(weights))["model"].get("ground", False))


def load(weights: str | None, device: str = "cpu"):
    """-> (model in eval mode, config dict). Shape mismatches and bad files raise InputError."""
    import torch

    from trackers.trackssm.model import ModelConfig, TrackSSM

    d = resolve(weights)
    config = read_config(d)
    try:
        model_cfg = ModelConfig.from_dict(config["model"])
    except TypeError as e:
        raise InputError(f"{d / 'config.json'}: malformed motion-model config ({type(e).__name__}: {e})") from None
    try:
        state = torch.load(d / "model.pth", map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - any unreadable file is the user's input problem
        raise InputError(f"{d / 'model.pth'}: not a readable state dict ({type(e).__name__})") from None
    model = TrackSSM(model_cfg)
    if not isinstance(state, dict):
        raise InputError(f"{d / 'model.pth'}: expected a state dict, got {type(state).__name__}")
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state))
    extra = sorted(set(state) - set(expected))
    wrong = [k for k in expected if k in state and tuple(state[k].shape) != tuple(expected[k].shape)]
    if missing or extra or wrong:
        what = (f"{len(missing)} missing, {len(extra)} unexpected, {len(wrong)} of another shape"
                + (f" (e.g. {wrong[0]}: {tuple(state[wrong[0]].shape)} vs {tuple(expected[wrong[0]].shape)})" if wrong else
                   f" (e.g. {(missing or extra)[0]})"))
        raise InputError(f"{d / 'model.pth'}: does not match the model in config.json: {what}")
    model.load_state_dict(state)
    return model.to(device).eval(), config
