"""Motion-model checkpoints: a folder ``{model.pth, config.json, meta.json}`` (the harness writes
them as ``runs/motion/<name>/`` and finds them by name: :mod:`detbench.motion.weights`).

``model.pth`` is a plain state dict (loaded with ``weights_only=True``); ``config.json`` holds
``model`` (the :class:`ModelConfig`), ``frame_rate``, ``data_hash``, ``train`` and ``metrics``.
"""
from __future__ import annotations

import json
from pathlib import Path

from detbench.core.errors import InputError

TRAIN_HINT = "train one with: detbench train-motion --data runs/data/NAME"


def resolve(weights: str | None) -> Path:
    """A model folder or its ``model.pth`` -> that folder. ``None`` (no weights given) is an
    InputError: the harness names the model (:mod:`detbench.motion.weights` finds the latest)."""
    if weights is None:
        raise InputError(f"trackssm: no motion model given (weights=PATH of a runs/motion/<name> folder); {TRAIN_HINT}")
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
