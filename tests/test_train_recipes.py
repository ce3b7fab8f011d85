"""The study's three recipes, every field, against a table written from the study's own files.

Source (the comment column): "3.1" = the seed study's YOLOX Exp files
(Andream1912/BotSort-vs-TrackSSM-on-Nuscenes, yolox_finetuning/configs/yolox_l_nuscenes_*.py; "Smooth"
as run at commit 9814836), "3.2" = its custom training loops (yolox_finetuning/scripts/train_*.py),
"summary" = its Stable V3 training summary, which wins where it states a value (HSV 1.0
and the 1e-4 mid-point of Stable V3's LR). The loops: head-only (backbone + neck frozen), SGD
nesterov, no EMA, no AMP, no multi-scale in the custom loops.
"""
from __future__ import annotations

import dataclasses

import pytest

from detbench.core.classes import CLASSES
from detbench.train.recipes import RECIPES, Recipe

FIELDS = [f.name for f in dataclasses.fields(Recipe)]

#   field            Stable V3        Clean V2          Smooth (as run)   where it comes from
TABLE = [
    ("model",        "yolox-l",       "yolox-l",        "yolox-l"),       # 3.1 depth 1.0 / width 1.0
    ("input_size",   (800, 1440),     (800, 1440),      (800, 1440)),     # 3.1 input/test size
    ("epochs",       30,              10,               30),              # 3.1 max_epoch
    ("batch_size",   32,              8,                32),              # 3.1 batch
    ("optimizer",    "sgd",           "sgd",            "sgd"),           # 3.2 SGD
    ("momentum",     0.9,             0.9,              0.9),             # 3.1
    ("nesterov",     True,            True,             True),            # 3.2 "SGD nesterov"
    ("weight_decay", 5e-4,            5e-4,             5e-4),            # 3.1
    ("lr",           3e-4,            1.25e-4,          5e-4),            # 3.1 basic_lr_per_img x batch
    ("lr_mid",       1e-4,            6.25e-6,          5e-6),            # summary (V3); 3.1 lr x min_lr_ratio
    ("lr_final",     3e-5,            6.25e-6,          5e-6),            # summary (V3); flat min_lr tail
    ("warmup_epochs", 3,              1,                1),               # 3.1
    ("noaug_epochs", 8,               2,                2),               # 3.1 (summary: last 8 for V3)
    ("ema",          False,           False,            False),           # 3.2: no EMA in the loops
    ("ema_decay",    0.9998,          0.9998,           0.9998),          # unused with EMA off
    ("freeze",       "trunk",         "trunk",          "trunk"),         # 3.2 backbone + neck frozen
    ("reinit_cls",   False,           False,            False),           # 3.1 only the 80-class cls_preds skipped
    ("mosaic_prob",  0.2,             0.5,              0.5),             # 3.1
    ("mixup_prob",   0.15,            0.5,              0.5),             # 3.1
    ("hsv_prob",     1.0,             0.5,              0.5),             # summary 1.0 (file 0.4) for V3; 3.1
    ("flip_prob",    0.5,             0.5,              0.5),             # 3.1
    ("degrees",      3.0,             5.0,              5.0),             # 3.1
    ("translate",    0.08,            0.1,              0.1),             # 3.1
    ("shear",        0.5,             1.0,              1.0),             # 3.1
    ("mosaic_scale", (0.85, 1.15),    (0.8, 1.2),       (0.8, 1.2)),      # 3.1
    ("mixup_scale",  (0.85, 1.15),    (0.8, 1.2),       (0.8, 1.2)),      # 3.1
    ("max_labels",   120,             120,              120),             # YOLOX's loader: TrainTransform(max_labels=120)
    ("loss",         "batched",       "batched",        "batched"),       # YOLOX's assignments (test_train_simota)
    ("num_workers",  4,               4,                4),               # 3.1 says 0: speed only, not results
    ("seed",         0,               0,                0),               # the study was unseeded
    ("classes",      CLASSES,         CLASSES,          CLASSES),         # 3.1 num_classes 7
]


def test_table_covers_every_recipe_field():
    assert [row[0] for row in TABLE] == [f for f in FIELDS if f != "name"]


@pytest.mark.parametrize("column,name", [(1, "stable_v3"), (2, "clean_v2"), (3, "smooth")])
def test_study_recipe_matches_the_notes(column, name):
    recipe = RECIPES[name]
    assert recipe.name == name
    wrong = {}
    for row in TABLE:
        got, want = getattr(recipe, row[0]), row[column]
        same = got == pytest.approx(want, rel=1e-12) if isinstance(want, float) else got == want
        if not same:
            wrong[row[0]] = (got, want)
    assert wrong == {}


def test_an_improved_recipe_keeps_ema_under_its_own_name():
    ema = RECIPES["stable_v3_ema"]
    assert ema.ema and dataclasses.replace(ema, name="stable_v3", ema=False) == RECIPES["stable_v3"]


def test_set_batch_size_alone_replaces_the_field_and_twice_is_an_input_error(tmp_path, monkeypatch):
    from detbench.core.errors import InputError
    from detbench.train import state

    monkeypatch.chdir(tmp_path)
    start = state.open_run("r", "demo", None, None, None, None, False, {"batch_size": "4"}, lambda *_: None)
    assert start.recipe.batch_size == 4
    assert start.recipe.lr == state.get_recipe("demo")[0].lr  # --set does not rescale the LR
    with pytest.raises(InputError, match="batch_size given twice"):
        state.open_run("r2", "demo", None, None, None, 8, False, {"batch_size": "4"}, lambda *_: None)
