"""Whole training runs on CPU: layout, kill-and-resume, NaN stop, detector names, export, DDP, CLI."""
from __future__ import annotations

import json
import os
import socket

import pytest
import torch
from test_train_data import make_dataset

TINY = dict(recipe="demo", epochs=3, batch_size=4, input_size="64,96", num_workers=0,
            tensorboard=False, echo=lambda *_: None)


@pytest.fixture
def data(tmp_path):
    return make_dataset(tmp_path / "ds", 8)


class Killed(Exception):
    """What a test's ``on_step`` raises to stop a run like a kill right after a step."""


def train_killed_after(step, data, **kw):
    """``train(data, **kw)`` stopped like a kill right after global step ``step`` (nothing of that
    step saved): (run directory, the ``StepInfo`` of every step done)."""
    from detbench.train.trainer import train

    seen = []

    def on_step(info):
        seen.append(info)
        if info.step >= step:
            raise Killed

    with pytest.raises(Killed):
        train(data, on_step=on_step, **kw)
    return seen[-1].run_dir, seen


def _state(run_dir, epoch):
    from detbench.train.checkpoint import read_checkpoint
    return read_checkpoint(run_dir / f"epoch_{epoch}.pth")[1]


def test_kill_and_resume_matches_an_uninterrupted_run(data):
    from detbench.train.trainer import train

    full = train(data, name="full", ema=True, **TINY)
    # 8 images / batch 4 = 2 iterations per epoch; latest.pth every step; "killed" after step 4, whose
    # latest.pth write never happened: the resume starts mid-epoch 2 (after step 3) and redoes step 4
    cut, seen = train_killed_after(4, data, name="cut", ema=True, save_every=1, **TINY)
    assert json.loads((cut / "log.jsonl").read_text().splitlines()[-1])["step"] == 4
    # on_step was told every step as log.jsonl has it
    logged = [json.loads(ln) for ln in (cut / "log.jsonl").read_text().splitlines()]
    losses = ("total", "iou", "conf", "cls", "l1", "num_fg")
    assert [(i.epoch, i.iter, i.step, i.lr, i.phase, i.losses) for i in seen] == \
        [(r["epoch"], r["iter"], r["step"], r["lr"], r["phase"], {k: r[k] for k in losses}) for r in logged]
    assert not (cut / "epoch_2.pth").exists()
    seen = []   # progress: (step, total steps, description, info) at the start and per logged step
    train(data, name="cut", resume=True, progress=lambda *a: seen.append(a),
          **{k: v for k, v in TINY.items() if k in ("tensorboard", "echo")})
    assert seen[0] == (3, 6, "", "") and [a[:3] for a in seen[1:]] == [(4, 6, "epoch 2/3"), (5, 6, "epoch 3/3"),
                                                                      (6, 6, "epoch 3/3")]
    a = [json.loads(ln) for ln in (full / "log.jsonl").read_text().splitlines()]
    b = [json.loads(ln) for ln in (cut / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in b] == [1, 2, 3, 4, 5, 6] == [r["step"] for r in a]
    assert [(r["epoch"], r["iter"], r["lr"], r["total"]) for r in a] == [(r["epoch"], r["iter"], r["lr"], r["total"]) for r in b]
    sa, sb = _state(full, 3), _state(cut, 3)
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    la, lb = torch.load(full / "latest.pth", weights_only=True), torch.load(cut / "latest.pth", weights_only=True)
    assert la["step"] == lb["step"] == 6 and la["ema_updates"] == lb["ema_updates"] == 6
    assert all(torch.equal(la["ema"][k], lb["ema"][k]) for k in la["ema"])
    # the run's files follow docs/contracts.md section 2
    recipe = json.loads((full / "recipe.json").read_text())
    assert recipe["iters_per_epoch"] == 2
    assert [(p["name"], p["first_epoch"], p["last_epoch"], p["augment"], p["l1"]) for p in recipe["phases"]] == \
        [("warmup", 1, 1, True, False), ("training", 2, 2, True, False), ("finetune", 3, 3, False, True)]
    assert set(a[0]) == {"epoch", "iter", "step", "lr", "total", "iou", "conf", "cls", "l1", "num_fg",
                         "images_per_s", "memory_mb", "time", "phase"}
    assert a[0]["lr"] == pytest.approx(5e-4 / 2)  # demo LR 1e-3 x 4/8, step 1 of a 2-step warmup
    assert [r["l1"] > 0 for r in a] == [False] * 4 + [True] * 2
    run = json.loads((full / "run.json").read_text())
    assert run["model_size"] == "yolox-nano" and run["input_size"] == [64, 96] and run["frozen_base"]["sha256"]


def test_detector_names_load_and_export(data, tmp_path):
    from detbench.core.errors import InputError
    from detbench.train.checkpoint import load_detector, resolve_detector
    from detbench.train.models import build_model
    from detbench.train.trainer import train

    run = train(data, name="r", **TINY)
    assert resolve_detector("epoch2") == run / "epoch_2.pth"  # default: the latest run
    assert resolve_detector("epoch3", run="r") == run / "epoch_3.pth"
    with pytest.raises(InputError, match=r"available: epoch1, epoch2, epoch3"):
        resolve_detector("epoch9")
    model, info = load_detector(run / "epoch_3.pth")
    assert not model.training and info["num_classes"] == 7 and info["input_size"] == (64, 96)
    assert info["model_size"] == "yolox-nano" and info["epoch"] == 3 and len(info["sha256"]) == 64
    out = model(torch.zeros(1, 3, 64, 96))
    assert out.shape == (1, 8 * 12 + 4 * 6 + 2 * 3, 5 + 7)
    # export: a standalone file that a stock YoloxModule of the same size loads strictly
    from click.testing import CliRunner

    from detbench.commands.export import command
    res = CliRunner().invoke(command, ["epoch3", "--run", "r", "-o", str(tmp_path / "x.pth")])
    assert res.exit_code == 0, res.output
    stock = build_model("nano", 7)
    stock.load_state_dict(torch.load(tmp_path / "x.pth", weights_only=True)["model"], strict=True)
    assert all(torch.equal(stock.state_dict()[k], model.state_dict()[k]) for k in model.state_dict())
    # a checkpoint of another class count
    bad = tmp_path / "coco80.pth"
    torch.save({"model": build_model("nano", 80).state_dict(), "detbench": {
        "model_size": "yolox-nano", "num_classes": 80, "class_names": [], "input_size": [64, 96], "epoch": 1}}, bad)
    with pytest.raises(InputError, match="coco80.pth: checkpoint has 80 classes, detbench needs 7"):
        load_detector(bad)
    # a frozen base that changed under the checkpoint
    (run / "frozen_base.pth").write_bytes((run / "frozen_base.pth").read_bytes() + b"\0")
    with pytest.raises(InputError, match="frozen base .* changed"):
        load_detector(run / "epoch_1.pth")


def test_nan_loss_stops_and_keeps_the_last_good_checkpoint(data):
    from detbench.train.trainer import TrainingError, train

    cut, _ = train_killed_after(3, data, name="cut", **TINY)  # epoch 1 done, "killed" after step 3
    # a head whose objectness bias is inf: the loss is not finite from the first step
    state = torch.load(cut / "epoch_1.pth", weights_only=True)
    state["model"]["head.obj_preds.0.bias"].fill_(float("inf"))
    torch.save(state, cut / "poisoned.pth")  # beside its frozen base
    with pytest.raises(TrainingError, match=r"non-finite loss at epoch 1 iter 1 \(step 1.*none written"):
        train(data, name="bad", init=cut / "poisoned.pth", **TINY)
    assert not list((cut.parent / "bad").glob("epoch_*.pth"))
    # NaN after a good epoch: the resumed run stops; epoch_1.pth and latest.pth stay as they were
    latest = torch.load(cut / "latest.pth", weights_only=True)
    latest["model"]["head.obj_preds.0.bias"].fill_(float("nan"))
    torch.save(latest, cut / "latest.pth")
    before = (cut / "epoch_1.pth").read_bytes(), (cut / "latest.pth").read_bytes()
    with pytest.raises(TrainingError, match=r"epoch 2 iter 1 \(step 3.*last good checkpoint: epoch_1.pth"):
        train(data, name="cut", resume=True, tensorboard=False, echo=lambda *_: None)
    assert ((cut / "epoch_1.pth").read_bytes(), (cut / "latest.pth").read_bytes()) == before


def test_train_uses_the_batched_loss_and_reads_losses_every_n_steps(data, monkeypatch):
    import detbench.train.simota as simota
    from detbench.train.trainer import TrainingError, train

    calls = []
    real = simota.assign
    monkeypatch.setattr(simota, "assign", lambda *a, **k: calls.append(1) or real(*a, **k))
    # SGD: the same settings as the DDP test below (AdamW turns float noise into whole steps)
    batched = train(data, name="batched", **DDP)
    assert len(calls) == 6  # one batched assignment per step, for the whole batch
    yolox = train(data, name="yolox", loss="yolox", **DDP)
    assert len(calls) == 6
    late = train(data, name="late", log_every=4, **DDP)  # read back at steps 2 (epoch end), 4, 6
    rows = {n: [json.loads(ln) for ln in (r / "log.jsonl").read_text().splitlines()]
            for n, r in (("batched", batched), ("yolox", yolox), ("late", late))}
    keys = ("epoch", "iter", "step", "lr", "phase", "total", "iou", "conf", "cls", "l1", "num_fg")
    assert [[r[k] for k in keys] for r in rows["late"]] == [[r[k] for k in keys] for r in rows["batched"]]
    for k in ("total", "iou", "conf", "cls", "l1", "num_fg"):  # the same training as with YOLOX's loss
        assert [r[k] for r in rows["batched"]] == pytest.approx([r[k] for r in rows["yolox"]], rel=1e-3, abs=1e-6), k
    a, b = _state(batched, 3), _state(yolox, 3)
    diffs = {k: (a[k] - b[k]).abs().max().item() for k in a if a[k].is_floating_point()}
    assert max(diffs.values()) < 1e-5, sorted(diffs.items(), key=lambda kv: -kv[1])[:5]
    # a non-finite loss read back late still stops before any checkpoint is written
    state = torch.load(batched / "epoch_1.pth", weights_only=True)
    state["model"]["head.obj_preds.0.bias"].fill_(float("inf"))
    torch.save(state, batched / "poisoned.pth")
    with pytest.raises(TrainingError, match=r"non-finite loss at epoch 1 iter 1 \(step 1.*none written"):
        train(data, name="bad", init=batched / "poisoned.pth", log_every=4, **DDP)
    assert not list((batched.parent / "bad").glob("epoch_*.pth"))


# SGD (AdamW would magnify float noise in near-zero gradients into whole steps), an LR large enough
# that the head moves far beyond the tolerance, augmentation on (seeded per sample: rank-independent).
DDP = dict(recipe="stable_v3", model="yolox-nano", epochs=3, batch_size=4, input_size="64,96",
           num_workers=0, lr=0.4, lr_mid=0.2, lr_final=0.1, tensorboard=False,
           echo=lambda *_: None)


def _ddp_worker(rank, port, data, runs, out):
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), WORLD_SIZE="2",
                      LOCAL_RANK=str(rank), DETBENCH_RUNS=runs)
    torch.set_num_threads(1)
    from detbench.train.trainer import train

    run = train(data, name="ddp", **DDP)
    torch.save({"rank": rank, "run": str(run)}, f"{out}/rank{rank}.pt")


@pytest.mark.slow  # two spawned processes re-import torch + yolox
def test_two_gloo_processes_train_the_same_head_as_one_process(data, tmp_path):
    """Same global batch (4 = 2 x 2), same images per step, same seeds: the same weights.

    Needs both halves of the fix: the loss normalised by the positives of the whole global batch
    (not each rank's), and the head's BatchNorm statistics over the global batch (synchronised).
    """
    import torch.multiprocessing as mp

    from detbench.train.trainer import train

    one = train(data, name="one", **DDP)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    runs = os.environ["DETBENCH_RUNS"]
    mp.spawn(_ddp_worker, args=(port, str(data), runs, str(tmp_path)), nprocs=2, join=True)
    two = torch.load(tmp_path / "rank0.pt", weights_only=True)["run"]
    log1 = [json.loads(ln) for ln in open(f"{one}/log.jsonl")]
    log2 = [json.loads(ln) for ln in open(f"{two}/log.jsonl")]
    assert [r["step"] for r in log2] == [1, 2, 3, 4, 5, 6]  # one line per global step, written by rank 0 only
    assert json.loads(open(f"{two}/run.json").read())["options"]["world_size"] == 2
    # the logged losses are the global batch's, as in the one-process run
    for k in ("total", "iou", "conf", "cls", "l1", "num_fg"):
        assert [r[k] for r in log2] == pytest.approx([r[k] for r in log1], rel=1e-4, abs=1e-6), k
    from detbench.train.checkpoint import read_checkpoint
    from detbench.train.models import build_model

    torch.manual_seed(0)
    init = build_model("nano", 7).state_dict()
    a, b = read_checkpoint(one / "epoch_3.pth")[1], read_checkpoint(f"{two}/epoch_3.pth")[1]
    heads = [k for k in a if k.startswith("head.") and a[k].is_floating_point()]
    assert len(heads) > 50 and set(heads) <= set(b)
    moved = max((a[k] - init[k]).abs().max().item() for k in heads)
    assert moved > 0.05  # training moved the head far beyond the tolerance below
    for k in heads:
        assert torch.allclose(a[k], b[k], rtol=1e-4, atol=1e-5), (k, (a[k] - b[k]).abs().max().item())


def test_cli_reports_bad_input_in_one_line(data):
    from detbench.cli import main

    assert main(["train", "--data", str(data), "--recipe", "demo", "--set", "mosiac_prob=1"]) == 2
    assert main(["train", "--data", str(data / "nope"), "--recipe", "demo"]) == 2
