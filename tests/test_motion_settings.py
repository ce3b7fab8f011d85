"""train_motion's options as frozen values: the recipe and the model fill their defaults from the
plane's recipe, then TrainConfig's; the signature stays short."""
from __future__ import annotations

import inspect

import pytest

from detbench.core.errors import InputError
from detbench.motion.settings import RECIPES, MotionModel, MotionRecipe, split_options
from detbench.motion.train import train_motion
from trackers.trackssm.train import TrainConfig


def test_train_motion_takes_at_most_eight_parameters():
    assert len(inspect.signature(train_motion).parameters) <= 8


def test_defaults_come_from_the_plane_then_train_config():
    ground = MotionRecipe().train_config(RECIPES["ground"], windows=1000, device="cpu")
    assert (ground.steps, ground.lr, ground.batch_size) == (2500, 3e-3, 64)
    image = MotionRecipe(seed=3).train_config(RECIPES["image"], windows=1000, device="cpu")
    assert image == TrainConfig(seed=3)      # the image plane sets sizes only
    assert MotionModel(ground=True).config(RECIPES["ground"]).d_model == 48
    paper = MotionModel().config(RECIPES["image"])
    assert (paper.d_model, paper.n_enc_layers, paper.n_dec_blocks) == (256, 6, 6)


def test_epochs_count_full_batches_of_the_windows():
    # 130 windows in batches of 64: 2 steps per pass; fewer windows than a batch: one step per pass
    assert MotionRecipe(epochs=3).train_config(RECIPES["image"], 130, "cpu").steps == 6
    assert MotionRecipe(epochs=3, batch_size=64).train_config(RECIPES["image"], 10, "cpu").steps == 3


def test_bad_options_say_what_is_wrong():
    with pytest.raises(InputError, match="not both"):
        MotionRecipe(steps=2, epochs=1)
    with pytest.raises(InputError, match="multiple of 4"):
        MotionModel(d_model=30).config(RECIPES["image"])
    with pytest.raises(InputError, match="unknown d_modle"):
        split_options({"d_modle": 64})


def test_split_options_sends_each_flag_to_its_value():
    recipe, model = split_options({"d_model": 64, "layers": 2, "residual_head": True, "lr": 1e-3,
                                   "batch_size": 64, "epochs": 20})
    assert recipe == MotionRecipe(lr=1e-3, batch_size=64, epochs=20)
    assert model == MotionModel(d_model=64, layers=2, residual_head=True)
