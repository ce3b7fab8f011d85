"""YOLOX model sizes, building, ``--init`` loading and freezing of the trunk (backbone + neck).

The model is the ``yolox`` package's (pixeltable-yolox) ``YoloxModule`` with the official
state-dict keys, so official ``yolox_*.pth`` files load. :class:`DetModel` only changes two
behaviours, so that frozen means frozen (``requires_grad=False`` alone
leaves BatchNorm updating its running statistics in every ``train()`` step, so the "frozen" trunk
drifts):

- ``train()`` keeps the frozen trunk in eval mode (BatchNorm running statistics never move);
- ``forward`` runs the frozen trunk under ``torch.no_grad()`` (no activations kept for backward).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from yolox.models import YoloxModule

from detbench.core.errors import InputError


@dataclass(frozen=True)
class ModelSize:
    depth: float
    width: float
    depthwise: bool = False


# name -> size; the cheap member for CI is "nano".
SIZES: dict[str, ModelSize] = {
    "yolox-nano": ModelSize(0.33, 0.25, depthwise=True),
    "yolox-tiny": ModelSize(0.33, 0.375),
    "yolox-s": ModelSize(0.33, 0.50),
    "yolox-m": ModelSize(0.67, 0.75),
    "yolox-l": ModelSize(1.0, 1.0),
    "yolox-x": ModelSize(1.33, 1.25),
}


def canonical_size(name: str) -> str:
    """``l``, ``yolox_l``, ``YOLOX-L`` -> ``yolox-l``; InputError listing the sizes when unknown."""
    key = name.strip().lower().replace("_", "-")
    if not key.startswith("yolox-"):
        key = "yolox-" + key
    if key not in SIZES:
        raise InputError(f"model size {name!r}: unknown (choose one of {', '.join(SIZES)})")
    return key


class DetModel(YoloxModule):
    """YoloxModule whose trunk can be frozen (parameters without grad, BN in eval, run under no_grad)."""

    frozen_trunk: bool = False

    def freeze_trunk(self) -> None:
        self.frozen_trunk = True
        for p in self.backbone.parameters():
            p.requires_grad_(False)
        self.backbone.eval()

    def use_loss(self, kind: str) -> None:
        """The training loss: "batched" (detbench.train.simota, the default of every recipe) or "yolox"
        (YOLOX's per-image SimOTA, the reference); same assignments, same state-dict keys."""
        from detbench.train.simota import use_loss

        use_loss(self.head, kind)

    def train(self, mode: bool = True):
        super().train(mode)
        if self.frozen_trunk:
            self.backbone.eval()
        return self

    def forward(self, x, targets=None):
        if self.frozen_trunk:
            with torch.no_grad():
                fpn_outs = self.backbone(x)
        else:
            fpn_outs = self.backbone(x)
        if not self.training:
            return self.head(fpn_outs)
        total, iou, conf, cls, l1, num_fg = self.head(fpn_outs, targets, x)
        # YOLOX's head reports positives per ground-truth box; the counts themselves (tensors, no
        # host sync) let several processes normalise by the global batch (ddp.global_loss)
        gts = (targets.sum(dim=2) > 0).sum().float()
        fg = torch.round(num_fg * gts.clamp(min=1.0))
        return {"total_loss": total, "iou_loss": iou, "l1_loss": l1, "conf_loss": conf,
                "cls_loss": cls, "num_fg": num_fg, "fg": fg, "gts": gts}


def build_model(size: str, num_classes: int) -> DetModel:
    """A freshly initialised YOLOX of ``size`` (official init: BN eps 1e-3 / momentum 0.03, prior 0.01)."""
    from yolox.config import YoloxConfig

    spec = SIZES[canonical_size(size)]
    cfg = YoloxConfig(name="detbench", num_classes=num_classes, depth=spec.depth, width=spec.width,
                      depthwise=spec.depthwise)
    base = cfg.get_model()
    model = DetModel(base.backbone, base.head)
    model.train()
    return model


def trunk_keys(model: torch.nn.Module) -> list[str]:
    return [k for k in model.state_dict() if k.startswith("backbone.")]


def head_keys(model: torch.nn.Module) -> list[str]:
    return [k for k in model.state_dict() if not k.startswith("backbone.")]


def load_pth(path: str | Path) -> dict:
    """``torch.load(weights_only=True)``, allowing only the numpy scalar types official YOLOX files hold."""
    from yolox.utils.checkpoint import _numpy_scalar_globals  # the exact allow-list, nothing more

    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: checkpoint not found")
    try:
        with torch.serialization.safe_globals(_numpy_scalar_globals()):
            obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - any unreadable file is one user-facing line
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise InputError(f"{path}: not a loadable weights-only checkpoint ({first[:160]})") from None
    if not isinstance(obj, dict):
        raise InputError(f"{path}: checkpoint is not a dict")
    return obj


def load_init(model: torch.nn.Module, state: dict, path: str | Path,
              reinit_cls: bool = False) -> tuple[list[str], list[str]]:
    """Load every matching tensor of ``state`` (read from ``path``) into ``model``.

    Tensors whose shape differs only because of the class count (``head.cls_preds.*``) are skipped and
    keep their fresh initialisation (with ``reinit_cls`` they are skipped even when they fit). Any other mismatch or missing key means another model size:
    InputError. Returns (loaded keys, skipped keys).
    """
    own = model.state_dict()
    loaded, skipped, bad = [], [], []
    for key, value in own.items():
        if key not in state:
            bad.append(f"{key} missing")
        elif reinit_cls and key.startswith("head.cls_preds."):
            skipped.append(key)
        elif state[key].shape == value.shape:
            loaded.append(key)
        elif key.startswith("head.cls_preds."):
            skipped.append(key)
        else:
            bad.append(f"{key} {tuple(state[key].shape)} != {tuple(value.shape)}")
    if bad:
        raise InputError(f"{path}: does not fit this model size ({len(bad)} tensors, e.g. {bad[0]})")
    model.load_state_dict({k: state[k] for k in loaded}, strict=False)
    return loaded, skipped


def count_parameters(model: torch.nn.Module) -> dict[str, int]:
    total = sum(p.numel() for p in model.parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return {"total": total, "trainable": trainable, "frozen": total - trainable}
