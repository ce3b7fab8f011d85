"""TrackSSM motion model (Hu et al., 2024), clean-room pure PyTorch (CPU and CUDA).

Track histories ``(B, L, 8)`` (ground-plane: ``(B, L, 12)``), front-padded with a mask, in; one box
per decoder block out, the last the next frame's. Inputs, outputs and the network:
docs/tracker-internals.md, "The TrackSSM network".
"""
from __future__ import annotations

import copy
import math
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn


@dataclass(frozen=True)
class ModelConfig:
    """Sizes of the model; the defaults are the paper's code (about 5.13 M parameters)."""

    d_model: int = 256
    n_enc_layers: int = 6
    n_dec_blocks: int = 6
    d_state: int = 16
    d_conv: int = 4
    expand: int = 2
    dt_rank: int = 16
    ffn_dim: int = 512
    history: int = 5
    dt_min: float = 1e-3
    dt_max: float = 0.1
    dt_init_floor: float = 1e-4
    # Deviations from the paper's code (see TrackSSM's docstring); False everywhere = the paper.
    residual_head: bool = True   # blocks move the box by a zero-initialised delta (paper: sigmoid box)
    relative: bool = True        # deltas in units of the box's own size, in and out
    flow_input: bool = False     # add the flow feature to each decoder block's box embedding
    cv_anchor: bool = True       # the decoder starts from the constant-velocity box (paper: last box)
    ground: bool = False         # ground-plane inputs: ego-compensated history, calibrated-CV anchor

    @property
    def features(self) -> int:
        """Values per history step: 8, or 12 for a ground-plane model (its ego-compensated box
        and delta, then the box as the camera saw it, x1 y1 x2 y2 normalised: where the image's
        edges cut it, which compensation moves away from the edge)."""
        return 12 if self.ground else 8

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "ModelConfig":
        known = {k: v for k, v in d.items() if k in cls.__dataclass_fields__}
        # configs written before a deviation existed did not have it (and ran without it)
        for legacy in ("residual_head", "relative", "flow_input", "cv_anchor"):
            known.setdefault(legacy, False)
        return cls(**known)

    @classmethod
    def paper(cls, **overrides) -> "ModelConfig":
        """The paper's code exactly: absolute sigmoid head, raw deltas, flow only in dt/B/C."""
        return cls(**{"residual_head": False, "relative": False, "flow_input": False, "cv_anchor": False,
                      **overrides})


class RMSNorm(nn.Module):
    def __init__(self, dim: int, eps: float = 1e-5):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def _a_log(channels: int, d_state: int) -> torch.Tensor:
    return torch.log(torch.arange(1, d_state + 1, dtype=torch.float32)).repeat(channels, 1)


def causal_depthwise_conv(u: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    """What ``nn.Conv1d(C, C, k, groups=C, padding=k-1)`` over time, truncated to the input's
    length, computes for ``u`` (B, L, C): ``out[t] = bias + sum_j weight[:, 0, j] * u[t + j - k + 1]``
    (zeros before the start). Written as k shifted multiply-adds: on CPU, the depthwise
    convolution's backward pass was a tenth of a training step."""
    k, length = weight.shape[-1], u.shape[1]
    padded = F.pad(u, (0, 0, k - 1, 0))
    out = bias.expand_as(u)
    for j in range(k):
        out = out + padded[:, j:j + length] * weight[:, 0, j]
    return out


class MambaMixer(nn.Module):
    """Selective SSM over a short sequence (a Python loop over the <= 5 steps)."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        d_inner = cfg.expand * cfg.d_model
        self.d_inner, self.d_state, self.dt_rank = d_inner, cfg.d_state, cfg.dt_rank
        self.in_proj = nn.Linear(cfg.d_model, 2 * d_inner, bias=False)
        self.conv1d = nn.Conv1d(d_inner, d_inner, cfg.d_conv, groups=d_inner, padding=cfg.d_conv - 1)
        self.x_proj = nn.Linear(d_inner, cfg.dt_rank + 2 * cfg.d_state, bias=False)
        self.dt_proj = nn.Linear(cfg.dt_rank, d_inner, bias=True)
        self.A_log = nn.Parameter(_a_log(d_inner, cfg.d_state))
        self.D = nn.Parameter(torch.ones(d_inner))
        self.out_proj = nn.Linear(d_inner, cfg.d_model, bias=False)
        # dt: weight U(+-dt_rank^-0.5); bias = softplus^-1 of a log-uniform sample in [dt_min, dt_max]
        bound = cfg.dt_rank ** -0.5
        nn.init.uniform_(self.dt_proj.weight, -bound, bound)
        dt = torch.exp(torch.rand(d_inner) * (math.log(cfg.dt_max) - math.log(cfg.dt_min)) + math.log(cfg.dt_min))
        dt = dt.clamp(min=cfg.dt_init_floor)
        with torch.no_grad():
            self.dt_proj.bias.copy_(dt + torch.log(-torch.expm1(-dt)))

    def forward(self, x, mask):  # x (B, L, D), mask (B, L) float
        length = x.shape[1]
        u, z = self.in_proj(x).chunk(2, dim=-1)
        u = u * mask[..., None]  # padded steps feed zeros to the causal conv
        u = F.silu(causal_depthwise_conv(u, self.conv1d.weight, self.conv1d.bias))
        dt, b, c = self.x_proj(u).split([self.dt_rank, self.d_state, self.d_state], dim=-1)
        dt = F.softplus(self.dt_proj(dt)) * mask[..., None]  # zero step: state untouched
        a = -torch.exp(self.A_log)  # (d_inner, d_state)
        du = dt * u
        # One step at a time on (B, d_inner, d_state) slices, read out by multiply-and-sum:
        # materialising every step's decay at once and indexing it made autograd zero-fill
        # full-size gradients per step, and batched mat-vec products are slow on CPU (together
        # ~2x slower). Same recurrence, same numbers.
        h = du[:, 0, :, None] * b[:, 0, None, :]
        ys = [(h * c[:, 0, None, :]).sum(-1)]
        for t in range(1, length):
            h = torch.exp(dt[:, t, :, None] * a) * h + du[:, t, :, None] * b[:, t, None, :]
            ys.append((h * c[:, t, None, :]).sum(-1))
        y = torch.stack(ys, dim=1) + self.D * u
        y = y * F.silu(z)
        return self.out_proj(y)


class MambaBlock(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.norm = RMSNorm(cfg.d_model)
        self.mixer = MambaMixer(cfg)

    def forward(self, x, mask):
        return x + self.mixer(self.norm(x), mask)


class Encoder(nn.Module):
    """History (B, L, features) -> flow feature (B, d_model): the final-normed last step."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.embedding = nn.Parameter(torch.randn(cfg.features, cfg.d_model) * 0.02)  # bias-free 8 -> d_model
        self.layers = nn.ModuleList(MambaBlock(cfg) for _ in range(cfg.n_enc_layers))
        self.norm_f = RMSNorm(cfg.d_model)
        for layer in self.layers:  # GPT-2 style rescale of the residual output projections
            nn.init.kaiming_uniform_(layer.mixer.out_proj.weight, a=math.sqrt(5))
            with torch.no_grad():
                layer.mixer.out_proj.weight /= math.sqrt(cfg.n_enc_layers)

    def forward(self, hist, mask):
        x = hist @ self.embedding
        for layer in self.layers:
            x = layer(x, mask)
        return self.norm_f(x)[:, -1]


def sine_embedding(box: torch.Tensor, dim: int) -> torch.Tensor:
    """(B, 4) -> (B, 4*dim): per coordinate v, ``v*2pi / 10000^(2*floor(i/2)/dim)``, sin at even i, cos at odd i."""
    i = torch.arange(dim, device=box.device, dtype=box.dtype)
    freq = 10000 ** (2 * torch.div(i, 2, rounding_mode="floor") / dim)
    pos = box[..., None] * (2 * math.pi) / freq  # (B, 4, dim)
    out = torch.where(i.remainder(2) == 0, torch.sin(pos), torch.cos(pos))
    return out.flatten(-2)


MAX_LOG_SCALE = math.log(1000.0 / 16)  # clamp on a predicted log size change (as in Faster R-CNN)


class FlowSSMBlock(nn.Module):
    """One refinement step: (box, flow, h) -> (box', h')."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.residual, self.relative, self.flow_input = cfg.residual_head, cfg.relative, cfg.flow_input
        d = cfg.d_model
        self.d_state, self.dt_rank = cfg.d_state, cfg.dt_rank
        self.in_proj = nn.Linear(d, 2 * d, bias=False)
        self.x_proj = nn.Linear(d, cfg.dt_rank + 2 * cfg.d_state, bias=False)
        self.dt_proj = nn.Linear(cfg.dt_rank, d, bias=True)
        self.A_log = nn.Parameter(_a_log(d, cfg.d_state))
        self.D = nn.Parameter(torch.ones(d))
        self.linear1 = nn.Linear(d, cfg.ffn_dim)
        self.linear2 = nn.Linear(cfg.ffn_dim, d)
        self.norm2 = nn.LayerNorm(d)
        self.head = nn.Linear(d, 4)
        if self.residual:  # start as "the box stays where it is"
            nn.init.zeros_(self.head.weight)
            nn.init.zeros_(self.head.bias)

    def forward(self, box, flow, h):
        d = flow.shape[-1]
        emb = sine_embedding(box, d // 4)
        if self.flow_input:  # a direct path from the history to the head (not in the paper)
            emb = emb + flow
        u, g = self.in_proj(emb).chunk(2, dim=-1)
        u = F.silu(u)
        dt, b, c = self.x_proj(flow).split([self.dt_rank, self.d_state, self.d_state], dim=-1)
        dt = F.softplus(self.dt_proj(dt))[..., None]  # (B, d, 1)
        h = torch.exp(dt * -torch.exp(self.A_log)) * h + dt * b[:, None, :] * u[..., None]
        y = ((h * c[:, None, :]).sum(-1) + self.D * u) * F.silu(g)
        y = self.norm2(y + self.linear2(F.relu(self.linear1(y))))
        delta = self.head(y)
        if not self.residual:
            return torch.sigmoid(delta), h
        if self.relative:  # R-CNN box deltas: centre moves in box widths/heights, log size change
            wh = box[..., 2:]
            return torch.cat([box[..., :2] + delta[..., :2] * wh,
                              wh * torch.exp(delta[..., 2:].clamp(max=MAX_LOG_SCALE))], dim=-1), h
        out = box + delta
        return torch.cat([out[..., :2], out[..., 2:].clamp(min=1e-4)], dim=-1), h


def relative_features(hist: torch.Tensor) -> torch.Tensor:
    """``[cx, cy, w, h, dcx, dcy, dw, dh]`` -> ``[cx, cy, w, h, dcx/w, dcy/h, dw/w, dh/h]``: the
    motion in units of the box's own size, so near (big) and far (small) objects look alike.
    Padded rows (size 0) give 0, never inf. Columns after the eighth pass unchanged."""
    wh = hist[..., 2:4].clamp(min=1e-6)
    if hist.shape[-1] == 8:
        return torch.cat([hist[..., :4], hist[..., 4:] / wh.repeat(1, 1, 2)], dim=-1)
    return torch.cat([hist[..., :4], hist[..., 4:8] / wh.repeat(1, 1, 2), hist[..., 8:]], dim=-1)


class TrackSSM(nn.Module):
    """The whole model; ``forward(hist (B,L,8), mask (B,L)) -> (B, n_dec_blocks, 4)``.

    Deviations from the paper's code, each a :class:`ModelConfig` flag, none adding a parameter
    but ``ground`` (the paper-size count stays 5,129,496; ``ground`` widens the input by 4 values
    per step: 4 * d_model more); ``ModelConfig.paper()`` turns all off. The first two
    are on by default:

    * ``residual_head``: each block moves the box it refines by its 4-d head output instead of
      emitting a sigmoid box, the head zero-initialised, so the untrained model predicts the last
      box exactly (the paper's untrained sigmoid boxes are about half the image wide, and short
      training never recovers from that).
    * ``relative``: the history's deltas are divided by the box size, and the head's output is
      read as R-CNN deltas (centre shift in box widths/heights, log size change), so one motion
      pattern looks the same for a near and a far object.
    * ``cv_anchor``: the decoder's first box is the constant-velocity extrapolation of the
      history (``last + last delta``; the last box for a one-step history) instead of the last
      box, so with ``residual_head`` the untrained model *is* constant velocity and training
      learns corrections to it (trained from the last box, the paper-size model beat constant
      velocity by 0.17 on synthetic val but lost by 0.02 on the real fixture's 2 Hz tracks).
    * ``ground`` (off by default): the history is ego-compensated into the target frame's camera
      (each step also carries the box as seen, :attr:`ModelConfig.features`) and the anchor is
      *calibrated* constant velocity (:mod:`trackers.trackssm.ground`), given
      by the caller as ``forward``'s ``anchor``: untrained (with ``residual_head`` and
      ``cv_anchor``), the model predicts calibrated constant velocity exactly. Image-plane models
      never read an anchor.
    * ``flow_input`` (off by default): the encoder's flow feature is added to each block's box
      embedding; in the paper it only modulates the scan's dt/B/C. Tried as a more direct path
      from the history to the head; it learned *slower* (paper size, 200 steps: next-box IoU
      0.668 with it, 0.743 without), so the default keeps the paper's path.
    """

    def __init__(self, cfg: ModelConfig = ModelConfig()):
        super().__init__()
        if cfg.d_model % 4:
            raise ValueError(f"d_model must be a multiple of 4, got {cfg.d_model}")
        self.config = cfg
        self.encoder = Encoder(cfg)
        block = FlowSSMBlock(cfg)  # every block starts from the same weights, as in the paper's code
        self.blocks = nn.ModuleList(copy.deepcopy(block) for _ in range(cfg.n_dec_blocks))

    def start_box(self, hist: torch.Tensor, anchor: torch.Tensor | None = None) -> torch.Tensor:
        """The box the decoder refines: the last one, or (``cv_anchor``) the last plus its delta;
        a ground-plane model's ``cv_anchor`` box is the ``anchor`` given (calibrated constant
        velocity)."""
        last = hist[:, -1, :4]
        if not self.config.cv_anchor:
            return last
        if self.config.ground:
            if anchor is None:
                raise ValueError("a ground-plane model needs the calibrated constant-velocity anchor")
            box = anchor.to(hist.dtype)
        else:
            box = last + hist[:, -1, 4:]
        return torch.cat([box[..., :2], box[..., 2:].clamp(min=1e-6)], dim=-1)

    def forward(self, hist: torch.Tensor, mask: torch.Tensor | None = None,
                anchor: torch.Tensor | None = None) -> torch.Tensor:
        """``anchor`` (B, 4): a ground-plane model's calibrated constant-velocity box (image-plane
        models ignore it)."""
        width = self.config.features
        if hist.ndim != 3 or hist.shape[-1] != width:
            raise ValueError(f"history must have shape (B, L, {width}), got {tuple(hist.shape)}")
        n, length = hist.shape[:2]
        if n == 0 or length == 0:
            return hist.new_zeros(n, len(self.blocks), 4)
        mask = hist.new_ones(n, length) if mask is None else mask.to(hist.dtype)
        feats = relative_features(hist) if self.config.relative else hist
        flow = self.encoder(feats, mask)
        box = self.start_box(hist, anchor)
        h = hist.new_zeros(n, self.config.d_model, self.config.d_state)
        out = []
        for block in self.blocks:
            box, h = block(box.detach(), flow, h.detach())
            out.append(box)
        return torch.stack(out, dim=1)


def build_model(cfg: ModelConfig = ModelConfig(), seed: int = 0) -> TrackSSM:
    """A freshly initialised model; the same seed gives the same weights on every machine."""
    state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    try:
        return TrackSSM(cfg)
    finally:
        torch.random.set_rng_state(state)


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
