"""detbench analyze: every number in report.json against hand arithmetic on a generated log."""
from __future__ import annotations

import json
import math
import statistics

import pytest

from detbench.cli import main
from detbench.core.errors import InputError

IPE = 4  # iterations per epoch
D = [0.3, -0.1, 0.1, -0.3]  # per-iteration offsets: they sum to 0, so an epoch's mean is its base
BASE = {1: 10.0, 2: 7.0, 3: 5.0, 4: 4.6, 5: 4.2, 6: 4.4}  # epoch mean of total - l1 (before the spike)
L1 = 0.5  # joins in the finetune phase (epochs 5-6)
SPIKE = (4, 3, 8.0)  # epoch 4, iteration 3 gets +8.0
PHASES = [
    {"name": "warmup", "first_epoch": 1, "last_epoch": 2, "lr_start": 0.0, "lr_end": 0.001, "shape": "linear",
     "augment": True, "l1": False},
    {"name": "training", "first_epoch": 3, "last_epoch": 4, "lr_start": 0.001, "lr_end": 0.0004, "shape": "cosine",
     "augment": True, "l1": False},
    {"name": "finetune", "first_epoch": 5, "last_epoch": 6, "lr_start": 0.0004, "lr_end": 0.0001,
     "shape": "cosine", "augment": False, "l1": True},
]


def make_rows(base=BASE, spike=SPIKE, l1_epochs=(5, 6)):
    rows = []
    for ep in sorted(base):
        for it in range(1, IPE + 1):
            step = (ep - 1) * IPE + it
            wo = base[ep] + D[it - 1] + (spike[2] if (ep, it) == spike[:2] else 0.0)
            l1 = L1 if ep in l1_epochs else 0.0
            ph = next(p for p in PHASES if p["first_epoch"] <= ep <= p["last_epoch"])
            frac = ((ep - ph["first_epoch"]) * IPE + it) / ((ph["last_epoch"] - ph["first_epoch"] + 1) * IPE)
            lr = ph["lr_start"] + frac * (ph["lr_end"] - ph["lr_start"])  # linear, good enough for a picture
            rows.append({"epoch": ep, "iter": it, "step": step, "lr": lr, "total": wo + l1,
                         "iou": 0.3 * wo, "conf": 0.5 * wo, "cls": 0.2 * wo, "l1": l1, "num_fg": 10.0,
                         "images_per_s": 8.0 + step % 3, "memory_mb": 100.0 + step, "time": 1.5 * step,
                         "phase": ph["name"]})
    return rows


def write_run(root, name="r1", rows=None, recipe_extra=None, lines=None):
    d = root / "train" / name
    d.mkdir(parents=True)
    recipe = {"name": "demo", "epochs": 6, "batch_size": 8, "lr": 0.001, "mosaic_prob": 0.2,
              "phases": PHASES, "iters_per_epoch": IPE, **(recipe_extra or {})}
    (d / "recipe.json").write_text(json.dumps(recipe))
    (d / "run.json").write_text(json.dumps({"model_size": "nano"}))
    rows = make_rows() if rows is None else rows
    text = "\n".join(lines if lines is not None else [json.dumps(r) for r in rows])
    (d / "log.jsonl").write_text(text + ("\n" if text else ""))
    return d


def mean(v):
    return sum(v) / len(v)


def pstd(v):
    m = mean(v)
    return math.sqrt(sum((x - m) ** 2 for x in v) / len(v))


@pytest.fixture
def runs_root(tmp_path):
    return tmp_path / "runs"


def run_cli(*args):
    return main(["analyze", *map(str, args)])


def test_report_numbers_by_hand(runs_root, capsys):
    d = write_run(runs_root)
    (d / "epoch_5.pth").write_bytes(b"")
    assert run_cli("r1") == 0  # by name, under $DETBENCH_RUNS/train
    rep = json.loads((d / "analysis" / "report.json").read_text())
    rows = make_rows()
    tot = [r["total"] for r in rows]
    wo = [r["total"] - r["l1"] for r in rows]
    ep_tot = {e: mean([r["total"] for r in rows if r["epoch"] == e]) for e in BASE}
    ep_wo = {e: mean([r["total"] - r["l1"] for r in rows if r["epoch"] == e]) for e in BASE}
    # the spike lifts epoch 4's mean by 8/4 = 2
    assert ep_wo[4] == pytest.approx(6.6) and ep_tot[5] == pytest.approx(4.7) and ep_wo[1] == pytest.approx(10.0)

    # phases: first/last epoch means, change, % change, mean +- population std, components
    for ph, (a, b) in zip(rep["phases"], [(1, 2), (3, 4), (5, 6)]):
        assert (ph["first_epoch"], ph["last_epoch"]) == (a, b)
        t = ph["total"]
        assert t["first_epoch_mean"] == pytest.approx(ep_tot[a]) and t["last_epoch_mean"] == pytest.approx(ep_tot[b])
        assert t["change"] == pytest.approx(ep_tot[b] - ep_tot[a])
        assert t["pct_change"] == pytest.approx(100 * (ep_tot[b] - ep_tot[a]) / ep_tot[a])
        assert t["epoch_mean_mean"] == pytest.approx((ep_tot[a] + ep_tot[b]) / 2)
        assert t["epoch_mean_std"] == pytest.approx(abs(ep_tot[b] - ep_tot[a]) / 2)  # population std of 2 values
        assert ph["total_without_l1"]["epoch_mean_mean"] == pytest.approx((ep_wo[a] + ep_wo[b]) / 2)
        pr = [r for r in rows if a <= r["epoch"] <= b]
        assert ph["components"]["conf"] == pytest.approx(mean([r["conf"] for r in pr]))
        assert ph["components"]["l1"] == pytest.approx(mean([r["l1"] for r in pr]))
        assert ph["lr_logged_first"] == pytest.approx(pr[0]["lr"]) and ph["lr_logged_last"] == pytest.approx(pr[-1]["lr"])
    assert rep["phases"][0]["total"]["pct_change"] == pytest.approx(-30.0)  # 10 -> 7
    assert rep["phases"][2]["total"]["first_epoch_mean"] == pytest.approx(4.7)  # 4.2 + L1

    # overall
    ov = rep["overall"]
    assert ov["initial_loss"] == pytest.approx(10.3) and ov["final_loss"] == pytest.approx(4.4 - 0.3 + 0.5)
    assert ov["change"] == pytest.approx(4.6 - 10.3) and ov["pct_change"] == pytest.approx(100 * (4.6 - 10.3) / 10.3)

    # L1 joins at epoch 5 = step 17 (recipe and log agree)
    assert rep["l1"] == {"joins_epoch_recipe": 5, "joins_step_logged": 17, "joins_epoch_logged": 5}

    # stability: std/CV over all iterations and after warmup (epochs 3-6), verdict on total - l1
    st = rep["stability"]
    assert st["all"]["std"] == pytest.approx(pstd(tot)) and st["all"]["cv_pct"] == pytest.approx(100 * pstd(tot) / mean(tot))
    post = tot[2 * IPE:]
    assert st["post_warmup"]["n"] == 16 and st["post_warmup"]["cv_pct"] == pytest.approx(100 * pstd(post) / mean(post))
    cv = 100 * pstd(wo[2 * IPE:]) / mean(wo[2 * IPE:])
    assert st["series"] == "total_without_l1" and st["series_post_warmup"]["cv_pct"] == pytest.approx(cv)
    assert cv > 10 and st["verdict"] == "unstable"
    # spike: step 15 (epoch 4, iter 3) = 12.7 against the median of the 14 preceding values
    med = statistics.median(wo[:14])
    assert [(s["step"], s["epoch"]) for s in st["spikes"]] == [(15, 4)]
    assert st["spikes"][0]["value"] == pytest.approx(12.7) and st["spikes"][0]["rolling_median"] == pytest.approx(med)
    assert st["spike_count_post_warmup"] == 1

    # best epochs on total - l1: 5 (4.2), 6 (4.4), 3 (5.0), 4 (6.6), 2 (7.0)
    assert [(b["epoch"], b["phase"]) for b in rep["best_epochs"]] == [
        (5, "finetune"), (6, "finetune"), (3, "training"), (4, "training"), (2, "warmup")]
    assert [b["mean"] for b in rep["best_epochs"]] == pytest.approx([4.2, 4.4, 5.0, 6.6, 7.0])
    # last epoch 6 is 0.2 worse than epoch 5; finetune epoch-to-epoch std = 0.1 -> recommend epoch 5
    rec = rep["recommended"]
    assert rec["epoch"] == 5 and rec["exists"] is True
    assert rec["gap_last_vs_best"] == pytest.approx(0.2) and rec["noise_std"] == pytest.approx(0.1)

    # durations: time = 1.5 s per step
    du = rep["duration"]
    assert du["wall_s"] == pytest.approx(36.0) and du["epoch_s_mean"] == pytest.approx(6.0)
    assert du["images_per_s_mean"] == pytest.approx(mean([8.0 + s % 3 for s in range(1, 25)]))
    assert du["memory_mb_max"] == 124.0
    assert rep["run"]["truncated"] is False and rep["warnings"] == []

    md = (d / "analysis" / "report.md").read_text()
    assert "very stable" in md and "unstable" in md and "population" in md and "Recommended: epoch 5" in md
    for png in ("training_complete_analysis.png", "training_early_epochs.png", "lr_schedule.png"):
        assert (d / "analysis" / png).read_bytes()[:4] == b"\x89PNG"


def test_recommends_last_epoch_within_noise_and_very_stable(runs_root, tmp_path):
    # no L1, no spike; best = epoch 4 (4.90), last = epoch 6 (4.95): gap 0.05 <= finetune std(5.1, 4.95) = 0.075
    base = {1: 10.0, 2: 7.0, 3: 5.0, 4: 4.90, 5: 5.1, 6: 4.95}
    rows = make_rows(base=base, spike=(0, 0, 0.0), l1_epochs=())
    d = write_run(runs_root, rows=rows)
    assert run_cli(d, "--out", tmp_path / "o", "--no-plots") == 0
    rep = json.loads((tmp_path / "o" / "report.json").read_text())
    post = [r["total"] for r in rows][2 * IPE:]
    cv = 100 * pstd(post) / mean(post)
    st = rep["stability"]
    assert st["series"] == "total" and st["series_post_warmup"]["cv_pct"] == pytest.approx(cv)
    assert 4.5 < cv < 5 and st["verdict"] == "very stable" and st["spike_count"] == 0
    assert rep["l1"]["joins_step_logged"] is None
    rec = rep["recommended"]
    assert [b["epoch"] for b in rep["best_epochs"]] == [4, 6, 3, 5, 2]
    assert rec["epoch"] == 6 and rec["exists"] is False
    assert rec["gap_last_vs_best"] == pytest.approx(0.05) and rec["noise_std"] == pytest.approx(0.075)
    # a worse last epoch (5.3: gap 0.4 > std(5.1, 5.3) = 0.1) -> the best epoch instead
    base[6] = 5.3
    d2 = write_run(runs_root, name="r2", rows=make_rows(base=base, spike=(0, 0, 0.0), l1_epochs=()))
    assert run_cli("r2", "--no-plots") == 0
    rec = json.loads((d2 / "analysis" / "report.json").read_text())["recommended"]
    assert rec["epoch"] == 4 and rec["gap_last_vs_best"] == pytest.approx(0.4) and rec["noise_std"] == pytest.approx(0.1)


def test_truncated_and_corrupt_log(runs_root, capsys):
    lines = [json.dumps(r) for r in make_rows()]
    lines[5] = lines[5][:20]  # line 6 corrupt (cut mid-object)
    lines.insert(9, '{"epoch": 3, "step": "x", "total": 5.0}')  # line 10: non-numeric step
    lines = lines[:-2] + [lines[-2][:15]]  # killed run: last iteration missing, the one before truncated
    d = write_run(runs_root, lines=lines)
    assert run_cli(d, "--no-plots") == 0
    err = capsys.readouterr().err
    log = d / "log.jsonl"
    assert f"{log}:6:" in err and f"{log}:10:" in err and f"{log}:{len(lines)}:" in err
    rep = json.loads((d / "analysis" / "report.json").read_text())
    kept = [r for i, r in enumerate(make_rows()) if i != 5][:-2]
    assert rep["run"]["iterations"] == len(kept) == 21 and len(rep["warnings"]) == 3
    assert rep["run"]["truncated"] is True and rep["run"]["epochs_complete"] == 4  # epochs 2 and 6 are partial
    assert rep["overall"]["final_loss"] == pytest.approx(kept[-1]["total"])
    e2 = [r["total"] for r in kept if r["epoch"] == 2]
    assert len(e2) == 3 and rep["epochs"][1]["mean_total"] == pytest.approx(mean(e2))
    assert 2 not in [b["epoch"] for b in rep["best_epochs"]] and 6 not in [b["epoch"] for b in rep["best_epochs"]]
    assert "Warnings" in (d / "analysis" / "report.md").read_text()


def test_empty_log_and_missing_run(runs_root, capsys):
    d = write_run(runs_root, lines=[])
    assert run_cli(d) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "log.jsonl" in err and "no training iterations" in err
    assert not (d / "analysis").exists()
    assert run_cli("no_such_run") == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "no_such_run" in err
    from detbench.analysis.report import analyze_run
    with pytest.raises(InputError, match=r"1 bad line.*log\.jsonl:1: not valid JSON"):
        write_run(runs_root, name="g", lines=["garbage"])
        analyze_run("g")


def test_compare_two_runs(runs_root, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_run(runs_root, "a", recipe_extra={"mixup_prob": 0.15})
    rows_b = make_rows(base={e: v + 1.0 for e, v in BASE.items()}, spike=(0, 0, 0.0))
    write_run(runs_root, "b", rows=rows_b, recipe_extra={"batch_size": 32})
    assert run_cli("a", "b") == 0
    out = tmp_path / "results" / "analysis" / "a_vs_b"
    res = json.loads((out / "report.json").read_text())
    rows = {r["field"]: r["values"] for r in res["table"]["rows"]}
    assert res["table"]["columns"] == ["a", "b"]
    assert rows["batch_size"] == [8, 32] and rows["mixup_prob"] == [0.15, None]
    assert rows["initial loss"] == pytest.approx([10.3, 11.3])
    assert rows["best epoch"] == [5, 5] and rows["spikes post-warmup"] == [1, 0]
    md = (out / "report.md").read_text()
    assert "| mixup_prob | 0.15 | - |" in md
    for png in ("compare_loss.png", "compare_lr.png"):
        assert (out / png).read_bytes()[:4] == b"\x89PNG"
