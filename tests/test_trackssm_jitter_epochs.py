"""``train-motion --jitter-per-epoch K``: K jittered copies of the training set built once, pass e
over the windows trains on copy e mod K only, with one copy's batch order and step count."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from calibrated_toy import toy_scene

from detbench.core.errors import InputError
from detbench.motion.settings import RECIPES, MotionCallbacks, MotionModel, MotionRecipe
from detbench.motion.train import train_motion
from detbench.motion.windows import dataset_windows
from trackers.trackssm.data import FIELDS, GROUND_FIELDS, Windows, subset
from trackers.trackssm.model import ModelConfig, build_model
from trackers.trackssm.train import TrainConfig, batches, train

TINY = ModelConfig(d_model=16, n_enc_layers=1, n_dec_blocks=1, d_state=4, dt_rank=4, ffn_dim=32)


def test_batches_shift_pass_e_into_copy_e_mod_k_and_keep_one_copys_order():
    # 10 windows a copy in batches of 4: 2 batches a pass (2 windows dropped), 7 steps = passes
    # 0, 0, 1, 1, 2, 2, 3; with 3 copies pass 3 reads copy 0 again
    one = list(batches(10, 4, 7, torch.Generator().manual_seed(5)))
    three = list(batches(10, 4, 7, torch.Generator().manual_seed(5), copies=3))
    assert [int(b.min()) // 10 for b in three] == [0, 0, 1, 1, 2, 2, 0]
    assert [int(b.max()) // 10 for b in three] == [0, 0, 1, 1, 2, 2, 0]
    for b1, b3, offset in zip(one, three, [0, 0, 10, 10, 20, 20, 0]):
        assert torch.equal(b3, b1 + offset)
    # one copy is today's stream: seeded reshuffled passes cut into full batches
    gen = torch.Generator().manual_seed(5)
    today = [p[i:i + 4] for p in (torch.randperm(10, generator=gen) for _ in range(4)) for i in (0, 4)][:7]
    assert all(torch.equal(a, b) for a, b in zip(one, today))


def _capture_inputs(model):
    seen = []
    model.register_forward_pre_hook(lambda _m, args: seen.append(args[0].clone()))
    return seen


def test_pass_e_trains_on_copy_e_mod_k_with_the_same_targets(tmp_path):
    seq = toy_scene(tmp_path / "a")
    k = 3
    wins = dataset_windows([seq], calibration="require", jitter=0.05, seed=3, copies=k)
    n = len(wins) // k
    copies = [wins.take(np.arange(c * n, (c + 1) * n)) for c in range(k)]
    for c in copies[1:]:                       # the same exact targets, distinct jittered histories
        np.testing.assert_array_equal(c.target, copies[0].target)
        assert not np.allclose(c.hist[c.mask], copies[0].hist[copies[0].mask], atol=1e-4)
    batch = n // 2                             # two steps a pass; 8 steps = passes 0..3
    cfg = TrainConfig(steps=2 * (k + 1), batch_size=batch, flip=0.0, warmup_steps=1, seed=4)
    model = build_model(TINY, seed=0)
    seen = _capture_inputs(model)
    losses = train(model, wins, cfg, copies=k)
    assert len(losses) == cfg.steps            # one copy's step count: 2 a pass
    order = list(batches(n, batch, cfg.steps, torch.Generator().manual_seed(4)))   # one copy's order
    for step, (hist, idx) in enumerate(zip(seen, order)):
        copy = copies[(step // 2) % k]
        np.testing.assert_array_equal(hist.numpy(), copy.hist[idx.numpy()])
    # pass 3 (steps 7 and 8) reads copy 0 again, not a fourth draw
    np.testing.assert_array_equal(seen[6].numpy(), copies[0].hist[order[6].numpy()])
    assert len(wins) == 96
    with pytest.raises(ValueError, match="96 training windows do not split into 5 equal copies"):
        train(build_model(TINY), wins, cfg, copies=5)


def test_identical_copies_train_exactly_as_one_copy(tmp_path):
    """With K copies that are all the same windows the weights equal one copy's: the copies
    change which histories a pass reads, nothing of the schedule."""
    one = dataset_windows([toy_scene(tmp_path / "a")], calibration="require", jitter=0.05, seed=3)
    tiled = Windows.concat([one] * 3, 5)
    cfg = TrainConfig(steps=9, batch_size=8, warmup_steps=2, seed=1)
    a, b = build_model(TINY, seed=0), build_model(TINY, seed=0)
    assert train(a, one, cfg) == train(b, tiled, cfg, copies=3)
    for name, v in a.state_dict().items():
        assert torch.equal(v, b.state_dict()[name]), name


def test_subset_keeps_the_same_windows_in_every_copy(tmp_path):
    wins = dataset_windows([toy_scene(tmp_path / "a")], calibration="require", jitter=0.05, seed=3, copies=2)
    n = len(wins) // 2
    part = subset(wins, 5, seed=7, copies=2)
    assert len(part) == 10
    np.testing.assert_array_equal(part.target[:5], part.target[5:])
    keep = np.sort(np.random.default_rng(7).choice(n, 5, replace=False))
    for f in FIELDS + GROUND_FIELDS:
        np.testing.assert_array_equal(getattr(part, f)[5:], getattr(wins, f)[n + keep])


def _toy_dataset(root):
    for split, n in (("train", 2), ("val", 1)):
        for s in range(n):
            toy_scene(root / "sequences" / split, f"scene-{split}{s}_CAM_FRONT", seed=s + 10 * (split == "val"))
    return root


def test_train_motion_per_epoch_has_one_copys_windows_and_steps_and_records_k(tmp_path):
    data = _toy_dataset(tmp_path / "data" / "toy")
    model = MotionModel(d_model=16, layers=1, ground=True)
    plans = {}
    for k in (1, 3):
        recipe = MotionRecipe(epochs=4, batch_size=16, jitter=0.05, jitter_per_epoch=k)
        r = train_motion(data, recipe, model, name=f"k{k}",
                         callbacks=MotionCallbacks(on_plan=lambda p, k=k: plans.__setitem__(k, p)))
        cfg = json.loads((r.out_dir / "config.json").read_text())
        assert len(r.losses) == 16 and r.metrics["train_windows"] == 64    # 2 sequences x 32 windows
        assert cfg.get("jitter_per_epoch") == (k if k > 1 else None)
    # 64 windows in batches of 16: 4 steps a pass, 4 passes, with one copy or three
    assert (plans[1].steps, plans[1].train_windows, plans[1].epoch_copies) == (16, 64, 1)
    assert (plans[3].steps, plans[3].train_windows, plans[3].epoch_copies) == (16, 64, 3)
    assert MotionRecipe(epochs=4, batch_size=16).train_config(RECIPES["ground"], 64, "cpu").steps == 16


def test_bad_combinations_are_one_line_and_exit_2(tmp_path, capsys):
    from detbench.cli import main

    with pytest.raises(InputError, match="--jitter-per-epoch 3 with --jitter-copies 2: give one of them"):
        MotionRecipe(jitter=0.05, jitter_copies=2, jitter_per_epoch=3)
    with pytest.raises(InputError, match="--jitter-per-epoch 3 needs --jitter above 0"):
        MotionRecipe(jitter_per_epoch=3)
    with pytest.raises(InputError, match="--jitter-per-epoch 0: must be a whole number >= 1"):
        MotionRecipe(jitter=0.05, jitter_per_epoch=0)
    assert MotionRecipe(jitter_per_epoch=1).copies == 1 and MotionRecipe(jitter=0.1, jitter_per_epoch=4).copies == 4
    data = _toy_dataset(tmp_path / "data" / "toy")
    for extra in (["--jitter", "0.05", "--jitter-copies", "2"], []):
        assert main(["train-motion", "--data", str(data), "--jitter-per-epoch", "3", *extra]) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and "--jitter-per-epoch 3" in err
    assert not (tmp_path / "runs" / "motion").exists()
