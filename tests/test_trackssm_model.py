"""TrackSSM network: size, shapes, masking, init and checkpoint I/O (values worked out by hand)."""
from __future__ import annotations

import math

import pytest
import torch

from detbench.core.errors import InputError
from detbench.motion.weights import save_model
from trackers.trackssm import checkpoint
from trackers.trackssm.model import ModelConfig, TrackSSM, build_model, count_parameters, sine_embedding

SMALL = ModelConfig(d_model=32, n_enc_layers=2, n_dec_blocks=3, d_state=4, dt_rank=4, ffn_dim=64)


def test_parameter_count_at_paper_sizes_by_hand():
    d, di, s, r, k = 256, 512, 16, 16, 4          # d_model, d_inner = 2*d, d_state, dt_rank, conv width
    enc_layer = (d * 2 * di        # in_proj 256 -> 1024, no bias
                 + di * k + di     # depthwise conv weight (512,1,4) + bias
                 + di * (r + 2 * s)  # x_proj 512 -> 48
                 + r * di + di     # dt_proj 16 -> 512 + bias
                 + di * s + di     # A_log, D
                 + di * d          # out_proj 512 -> 256
                 + d)              # RMSNorm
    encoder = 8 * d + 6 * enc_layer + d          # input map, 6 layers, final norm
    dec_block = (d * 2 * d + d * (r + 2 * s) + r * d + d + d * s + d
                 + d * 512 + 512 + 512 * d + d   # FFN
                 + 2 * d                         # LayerNorm
                 + d * 4 + 4)                    # head
    assert enc_layer == 438_016 and dec_block == 416_516
    expected = encoder + 6 * dec_block
    assert expected == 5_129_496
    assert count_parameters(TrackSSM(ModelConfig())) == expected


@pytest.fixture(scope="module")
def paper_model():
    return build_model(ModelConfig.paper()).eval()   # the paper's sigmoid head: boxes inside (0, 1)


@pytest.mark.parametrize("batch", [0, 1, 7])
def test_forward_cpu_float32_all_history_lengths(batch, paper_model):
    model = paper_model
    for length in range(1, 6):
        hist = torch.rand(batch, 5, 8) * 0.5 + 0.2
        mask = torch.zeros(batch, 5, dtype=torch.bool)
        mask[:, 5 - length:] = True
        hist[~mask] = 0
        with torch.no_grad():
            out = model(hist, mask)
        assert out.shape == (batch, 6, 4) and out.dtype == torch.float32
        assert torch.isfinite(out).all() and ((out > 0) & (out < 1)).all()


def test_padded_history_equals_unpadded_and_tracks_are_independent():
    model = build_model(SMALL, seed=3).eval()
    g = torch.Generator().manual_seed(1)
    short = torch.rand(1, 2, 8, generator=g)
    padded = torch.cat([torch.full((1, 3, 8), 7.0), short], dim=1)   # junk in padded steps
    mask = torch.tensor([[False, False, False, True, True]])
    other = torch.rand(4, 5, 8, generator=g)
    with torch.no_grad():
        alone = model(short)
        in_batch = model(torch.cat([padded, other]), torch.cat([mask, torch.ones(4, 5, dtype=torch.bool)]))
    assert torch.allclose(in_batch[:1], alone, rtol=1e-5, atol=1e-6)
    assert torch.allclose(in_batch[1:], model(other).detach(), rtol=1e-5, atol=1e-6)


def test_sine_embedding_values_by_hand():
    emb = sine_embedding(torch.tensor([[0.25, 0.0, 0.5, 1.0]]), 64)
    assert emb.shape == (1, 256)
    assert emb[0, 0].item() == pytest.approx(1.0)                 # sin(0.25 * 2pi)
    assert emb[0, 1].item() == pytest.approx(0.0, abs=1e-6)       # cos(0.25 * 2pi / 10000^0)
    assert emb[0, 2].item() == pytest.approx(math.sin(0.25 * 2 * math.pi / 10000 ** (2 / 64)), rel=1e-5)
    assert emb[0, 64].item() == 0.0 and emb[0, 65].item() == 1.0  # cy = 0: sin 0, cos 0


def test_init_follows_mamba_and_blocks_start_identical(paper_model):
    model = paper_model
    mixer = model.encoder.layers[0].mixer
    assert torch.allclose(mixer.A_log[3].exp(), torch.arange(1, 17, dtype=torch.float32))
    assert torch.all(mixer.D == 1)
    dt = torch.nn.functional.softplus(mixer.dt_proj.bias)
    assert dt.min() >= 1e-4 and dt.max() <= 0.1 + 1e-6
    b0, b5 = model.blocks[0].state_dict(), model.blocks[5].state_dict()
    assert all(torch.equal(b0[k], b5[k]) for k in b0)


def test_blocks_are_detached_from_each_other():
    model = build_model(SMALL)
    out = model(torch.rand(3, 5, 8))
    out[:, -1].sum().backward()
    # block 1's output feeds block 6 only as a detached box/state: no gradient reaches it
    assert all(p.grad is None or not p.grad.any() for p in model.blocks[0].parameters())
    assert model.blocks[-1].head.weight.grad.any()
    assert model.encoder.embedding.grad is not None   # the flow feature is shared by every block


def test_checkpoint_roundtrip_and_bad_checkpoints(tmp_path):
    model = build_model(SMALL, seed=5).eval()
    d = save_model(tmp_path / "m", model, {"frame_rate": 2.0})
    loaded, cfg = checkpoint.load(str(d))
    x = torch.rand(2, 5, 8)
    assert torch.equal(loaded(x), model(x))
    assert cfg["model"]["d_model"] == 32
    # another shape: config says d_model 64 but the weights are 32 wide
    other = build_model(ModelConfig(d_model=64, n_enc_layers=2, n_dec_blocks=3, d_state=4, dt_rank=4, ffn_dim=64))
    save_model(tmp_path / "other", other, {})
    (tmp_path / "other" / "model.pth").write_bytes((d / "model.pth").read_bytes())
    with pytest.raises(InputError, match="does not match the model in config.json"):
        checkpoint.load(str(tmp_path / "other"))
    with pytest.raises(InputError, match="no TrackSSM model.pth"):
        checkpoint.load(str(tmp_path / "missing"))
    (tmp_path / "m" / "model.pth").write_bytes(b"not a checkpoint")
    with pytest.raises(InputError, match="not a readable state dict"):
        checkpoint.load(str(tmp_path / "m"))


def test_no_trained_model_says_how_to_train_one():
    from detbench.motion.weights import resolve_weights

    with pytest.raises(InputError, match="detbench train-motion --data runs/data/NAME"):
        checkpoint.load(None)        # the tracker is given no model: the harness names one
    with pytest.raises(InputError, match="no trained TrackSSM motion model; train one with: detbench train-motion"):
        resolve_weights(None)        # the harness finds none under runs/motion/


def test_rejects_bad_history_shape():
    with pytest.raises(ValueError, match=r"\(B, L, 8\)"):
        TrackSSM(SMALL)(torch.rand(2, 5, 4))


def test_residual_head_variant_starts_at_the_last_box_with_the_same_size():
    cfg = ModelConfig(residual_head=True)
    assert count_parameters(TrackSSM(cfg)) == 5_129_496
    model = build_model(ModelConfig(d_model=32, n_enc_layers=2, n_dec_blocks=3, d_state=4, dt_rank=4,
                                    ffn_dim=64, residual_head=True, cv_anchor=False))
    hist = torch.rand(4, 5, 8)
    with torch.no_grad():
        out = model(hist)
    assert torch.equal(out, hist[:, None, -1, :4].expand(4, 3, 4))
