"""Model sizes, parameter counts, official-checkpoint loading, and frozen means frozen (frozen: no grad and BatchNorm in eval mode; .pth loaded with weights_only=True)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from detbench.core.errors import InputError
from detbench.train.models import build_model, count_parameters, load_init, load_pth, trunk_keys
from detbench.train.recipes import get_recipe
from detbench.train.setup import make_optimizer


def test_yolox_l_parameter_counts_for_seven_classes():
    model = build_model("l", 7)
    model.freeze_trunk()
    assert count_parameters(model) == {"total": 54_152_612, "frozen": 46_599_040, "trainable": 7_553_572}


def test_official_checkpoint_loads_with_only_class_layers_skipped(tmp_path):
    torch.manual_seed(1)
    official = build_model("yolox-l", 80)
    path = tmp_path / "yolox_l.pth"
    # YOLOX's checkpoint layout, including the numpy scalar older trainers stored as best_ap
    torch.save({"start_epoch": 300, "model": official.state_dict(), "optimizer": None,
                "best_ap": np.float64(49.7), "curr_ap": np.float64(49.7)}, path)
    ckpt = load_pth(path)
    assert float(ckpt["best_ap"]) == 49.7
    torch.manual_seed(2)
    model = build_model("yolox_l", 7)
    loaded, skipped = load_init(model, ckpt["model"], path)
    assert sorted(skipped) == [f"head.cls_preds.{i}.{p}" for i in range(3) for p in ("bias", "weight")]
    assert len(loaded) == 744  # the seed's log: "Loaded 744 params, skipped 6"
    mine, theirs = model.state_dict(), official.state_dict()
    assert all(torch.equal(mine[k], theirs[k]) for k in loaded)
    assert mine["head.cls_preds.0.weight"].shape == (7, 256, 1, 1)


def test_other_model_size_and_pickled_objects_are_rejected(tmp_path):
    small = tmp_path / "s.pth"
    torch.save({"model": build_model("s", 80).state_dict()}, small)
    with pytest.raises(InputError, match="does not fit"):
        load_init(build_model("nano", 7), load_pth(small)["model"], small)
    evil = tmp_path / "evil.pth"
    torch.save({"model": {}, "x": np.random.default_rng(0)}, evil)  # needs full unpickling
    with pytest.raises(InputError, match="evil.pth: not a loadable weights-only"):
        load_pth(evil)
    with pytest.raises(InputError, match="unknown"):
        build_model("yolox-xxl", 7)


def test_frozen_trunk_is_bit_identical_after_training_while_head_changes():
    torch.manual_seed(0)
    recipe, _ = get_recipe("demo", input_size="64,96")
    model = build_model("nano", 7)
    model.freeze_trunk()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    opt = make_optimizer(model, recipe)
    for g in opt.param_groups:
        g["lr"] = 1e-2
    gen = torch.Generator().manual_seed(0)
    for _ in range(3):
        model.train()  # every train() call must leave the trunk's BN in eval mode
        assert not any(m.training for m in model.backbone.modules())
        imgs = torch.rand(2, 3, 64, 96, generator=gen) * 255
        targets = torch.zeros(2, 120, 5)
        targets[:, 0] = torch.tensor([2.0, 30.0, 30.0, 20.0, 16.0])
        out = model(imgs, targets)
        opt.zero_grad()
        out["total_loss"].backward()
        assert all(p.grad is None for p in model.backbone.parameters())
        opt.step()
    after = model.state_dict()
    trunk = trunk_keys(model)
    assert len(trunk) > 400 and any("running_mean" in k for k in trunk)
    assert all(torch.equal(before[k], after[k]) for k in trunk)  # weights and BN running statistics
    changed = [k for k in after if k not in trunk and not torch.equal(before[k], after[k])]
    assert "head.cls_preds.0.weight" in changed and any("running_mean" in k for k in changed)
    # the optimizer holds only the head's parameters
    n_opt = sum(p.numel() for g in opt.param_groups for p in g["params"])
    assert n_opt == count_parameters(model)["trainable"]


def test_reinit_cls_skips_only_the_class_layers_of_a_same_class_base():
    torch.manual_seed(0)
    base = build_model("yolox-nano", 7)
    state = {k: v.clone() + 1.0 if v.is_floating_point() else v.clone() for k, v in base.state_dict().items()}
    fresh = build_model("yolox-nano", 7)
    before = {k: v.clone() for k, v in fresh.state_dict().items()}
    loaded, skipped = load_init(fresh, state, "base.pth", reinit_cls=True)
    cls_keys = sorted(k for k in state if k.startswith("head.cls_preds."))
    assert sorted(skipped) == cls_keys and len(cls_keys) == 6      # weight + bias at 3 scales
    after = fresh.state_dict()
    for k in cls_keys:                                             # kept their fresh initialisation
        assert torch.equal(after[k], before[k])
    for k in loaded:
        assert torch.equal(after[k], state[k])
    assert get_recipe("demo")[0].reinit_cls and not get_recipe("stable_v3")[0].reinit_cls
    # without the flag the same base loads completely
    loaded_all, skipped_none = load_init(build_model("yolox-nano", 7), state, "base.pth")
    assert skipped_none == [] and len(loaded_all) == len(state)
