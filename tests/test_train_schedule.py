"""The three-phase LR schedule (per iteration, not YOLOX's yoloxwarmcos) and the recipe registry."""
from __future__ import annotations

import math

import pytest

from detbench.core.errors import InputError
from detbench.train.recipes import get_recipe
from detbench.train.schedule import build_phases, lr_at, phase_of_epoch

I = 666  # the seed's iterations per epoch (21,332 images // 32)


@pytest.fixture
def phases():
    recipe, _ = get_recipe("stable_v3")
    return build_phases(recipe)


def test_stable_v3_lr_at_the_named_points(phases):
    # position 0 is 0; step 1 (iteration 0) runs at 3e-4 * 1 / (3 * 666)
    assert lr_at(0, phases, I) == 0.0
    assert lr_at(1, phases, I) == pytest.approx(3e-4 / (3 * I), rel=1e-12)
    assert lr_at(I, phases, I) == pytest.approx(1e-4, rel=1e-12)  # end of epoch 1: a third of the way up
    assert lr_at(3 * I, phases, I) == pytest.approx(3e-4, rel=1e-12)  # end of epoch 3
    assert lr_at(22 * I, phases, I) == pytest.approx(1e-4, rel=1e-12)  # end of epoch 22
    assert lr_at(30 * I, phases, I) == pytest.approx(3e-5, rel=1e-12)  # end of epoch 30
    # figures from the reference notes (sched_compare.py): 2.402e-4 at epoch 10, 9.7e-5 at 23, 6.5e-5 at 26
    assert lr_at(10 * I, phases, I) == pytest.approx(2.402e-4, abs=5e-8)
    assert lr_at(23 * I, phases, I) == pytest.approx(9.7e-5, abs=5e-7)
    assert lr_at(26 * I, phases, I) == pytest.approx(6.5e-5, rel=1e-12)


def test_lr_is_continuous_at_phase_boundaries(phases):
    for boundary, value in ((3 * I, 3e-4), (22 * I, 1e-4)):
        before, at, after = (lr_at(s, phases, I) for s in (boundary - 1, boundary, boundary + 1))
        assert at == pytest.approx(value, rel=1e-12)
        # one step either side moves by about one step's worth of the local slope, never a jump
        assert abs(at - before) < 3e-4 / (3 * I) * 1.0001
        assert abs(after - at) < 1e-6
    # the cosine formula of the next phase, evaluated at its own start, equals the previous end
    p_train, p_fine = phases[1], phases[2]
    assert p_train.lr_start == phases[0].lr_end and p_fine.lr_start == p_train.lr_end


def test_phases_match_the_recipe(phases):
    got = [(p.name, p.first_epoch, p.last_epoch, p.lr_start, p.lr_end, p.shape, p.augment, p.l1) for p in phases]
    assert got == [("warmup", 1, 3, 0.0, 3e-4, "linear", True, False),
                   ("training", 4, 22, 3e-4, 1e-4, "cosine", True, False),
                   ("finetune", 23, 30, 1e-4, 3e-5, "cosine", False, True)]
    # augmentation stops at epoch 23 exactly, not one epoch early as YOLOX's trainer does
    assert phase_of_epoch(phases, 22).augment and not phase_of_epoch(phases, 23).augment


def test_batch_and_epoch_scaling():
    r, notes = get_recipe("stable_v3", batch_size=16)
    assert (r.lr, r.lr_mid, r.lr_final) == pytest.approx((1.5e-4, 5e-5, 1.5e-5))
    assert "LR x 0.5" in notes[0]
    r, _ = get_recipe("stable_v3", epochs=6)  # 3 * 0.2 -> 1, 8 * 0.2 = 1.6 -> 2, training the rest
    assert (r.warmup_epochs, r.epochs - r.warmup_epochs - r.noaug_epochs, r.noaug_epochs) == (1, 3, 2)
    r, _ = get_recipe("stable_v3", epochs=3)  # at least one epoch each
    assert (r.warmup_epochs, r.noaug_epochs) == (1, 1)
    with pytest.raises(InputError, match="too few"):
        get_recipe("stable_v3", epochs=2)


def test_recipe_values_and_rejections():
    r, _ = get_recipe("stable_v3")
    assert (r.model, r.input_size, r.epochs, r.batch_size, r.optimizer, r.momentum, r.nesterov) == \
        ("yolox-l", (800, 1440), 30, 32, "sgd", 0.9, True)
    assert (r.weight_decay, r.ema, r.mosaic_prob, r.mixup_prob, r.hsv_prob, r.flip_prob, r.freeze) == \
        (5e-4, False, 0.2, 0.15, 1.0, 0.5, "trunk")  # every field: test_train_recipes.py
    with pytest.raises(InputError, match="unknown key.*mosiac_prob"):
        get_recipe("stable_v3", mosiac_prob=0.5)
    with pytest.raises(InputError, match="unknown"):
        get_recipe("stable_v4")
    with pytest.raises(InputError, match="multiples of 32"):
        get_recipe("demo", input_size="100,96")
    assert get_recipe("demo", input_size="64,96")[0].input_size == (64, 96)
    assert math.isclose(get_recipe("demo", mosaic_prob="0.5")[0].mosaic_prob, 0.5)
