"""The batched SimOTA assignment and loss against YOLOX's per-image code (the reference)."""
from __future__ import annotations

import copy

import pytest
import torch

from detbench.train.models import build_model
from detbench.train.simota import assign, use_loss

C = 7
INPUT = (128, 192)  # (h, w): 16x24 + 8x12 + 4x6 = 504 anchors


def _anchors():
    xs, ys, st = [], [], []
    for s in (8, 16, 32):
        h, w = INPUT[0] // s, INPUT[1] // s
        yv, xv = torch.meshgrid(torch.arange(h), torch.arange(w), indexing="ij")
        xs.append(xv.reshape(-1).float())
        ys.append(yv.reshape(-1).float())
        st.append(torch.full((h * w,), float(s)))
    return torch.cat(xs), torch.cat(ys), torch.cat(st)


def _batch(seed: int, b: int = 4, g_max: int = 12):
    """Random predictions near the anchors and padded ground truth: empty images, crowded ones,
    overlapping boxes (anchors claimed twice), boxes at the border, tiny and huge boxes."""
    gen = torch.Generator().manual_seed(seed)
    xs, ys, st = _anchors()
    a = xs.numel()
    cx, cy = (xs + 0.5) * st, (ys + 0.5) * st
    jitter = torch.randn(b, a, 2, generator=gen) * st[None, :, None] * 0.4
    wh = torch.exp(torch.randn(b, a, 2, generator=gen) * 0.7) * st[None, :, None] * 2.0
    boxes = torch.cat([torch.stack([cx, cy], -1)[None] + jitter, wh], -1)
    cls = torch.randn(b, a, C, generator=gen) * 2.0
    obj = torch.randn(b, a, 1, generator=gen) * 2.0
    labels = torch.zeros(b, g_max, 5)
    for i in range(b):
        n = [0, g_max, 3, 7, 1, 5][(seed + i) % 6]
        for j in range(n):
            w = float(torch.empty(1).uniform_(4, 120, generator=gen))
            h = float(torch.empty(1).uniform_(4, 100, generator=gen))
            x = float(torch.empty(1).uniform_(0, INPUT[1], generator=gen))
            y = float(torch.empty(1).uniform_(0, INPUT[0], generator=gen))
            if j == 2 and n > 3:  # a near-duplicate of box 1: both want the same anchors
                x, y, w, h = (float(v) + 3.0 for v in labels[i, 1, 1:5])
            labels[i, j] = torch.tensor([float(torch.randint(0, C, (1,), generator=gen)), x, y, w, h])
            if seed % 2:  # a trained-looking head: predictions near the box around it (dynamic k > 1)
                near = ((cx - x).abs() < 2.5 * st) & ((cy - y).abs() < 2.5 * st)
                noise = 1 + 0.15 * torch.randn(int(near.sum()), 4, generator=gen)
                boxes[i, near] = torch.tensor([x, y, w, h]) * noise
    return labels, boxes, cls, obj, xs, ys, st


def _reference(head, labels, boxes, cls, obj, xs, ys, st):
    """YOLOX's own per-image assignment, as its get_losses calls it."""
    fgs, matched, ious = [], [], []
    nlabel = (labels.sum(2) > 0).sum(1)
    for i in range(labels.shape[0]):
        n = int(nlabel[i])
        if n == 0:
            fgs.append(torch.zeros(xs.numel(), dtype=torch.bool))
            matched.append(torch.zeros(0, dtype=torch.long))
            ious.append(torch.zeros(0))
            continue
        _, fg, iou, gt_inds, _ = head.get_assignments(
            i, n, labels[i, :n, 1:5], labels[i, :n, 0], boxes[i], st[None], xs[None], ys[None], cls, obj)
        fgs.append(fg)
        matched.append(gt_inds)
        ious.append(iou)
    return fgs, matched, ious


@pytest.fixture(scope="module")
def head():
    return build_model("nano", C).head


def test_assignment_equals_yolox_per_image_on_seeded_batches(head):
    positives = multiple = big_k = 0
    for seed in range(12):
        labels, boxes, cls, obj, xs, ys, st = _batch(seed)
        got = assign(labels, boxes, cls, obj, xs, ys, st)
        ref_fg, ref_gt, ref_iou = _reference(head, labels, boxes, cls, obj, xs, ys, st)
        for i in range(labels.shape[0]):
            assert torch.equal(got.fg[i], ref_fg[i]), (seed, i)
            assert torch.equal(got.matched_gt[i][got.fg[i]], ref_gt[i]), (seed, i)
            assert torch.equal(got.matched_iou[i][got.fg[i]], ref_iou[i]), (seed, i)
            positives += int(ref_fg[i].sum())
        multiple += int((got.claims > 1).sum())  # rule 4 is exercised, not only rules 1-3
        big_k += int((got.dynamic_k > 3).sum())
    assert positives > 500 and multiple > 40 and big_k > 40, (positives, multiple, big_k)


def test_anchor_wanted_by_two_boxes_goes_to_the_cheaper_one(head):
    labels, boxes, cls, obj, xs, ys, st = _batch(0, b=1, g_max=2)
    labels[0] = torch.tensor([[1.0, 60.0, 60.0, 40.0, 40.0], [1.0, 61.0, 61.0, 40.0, 40.0]])
    got = assign(labels, boxes, cls, obj, xs, ys, st)
    ref_fg, ref_gt, _ = _reference(head, labels, boxes, cls, obj, xs, ys, st)
    assert torch.equal(got.fg[0], ref_fg[0]) and torch.equal(got.matched_gt[0][got.fg[0]], ref_gt[0])
    assert (got.claims[0] > 1).sum() > 0 and set(ref_gt[0].tolist()) == {0, 1}  # shared, both keep some


def _losses(model, kind, feats, labels, use_l1):
    model = copy.deepcopy(model)
    use_loss(model.head, kind)
    model.head.use_l1 = use_l1
    model.train()
    out = model.head(feats, labels, None)
    out[0].backward()
    grads = {n: p.grad.clone() for n, p in model.head.named_parameters() if p.grad is not None}
    return [float(v.detach() if torch.is_tensor(v) else v) for v in out], grads


@pytest.mark.parametrize("use_l1", [False, True])
def test_losses_and_gradients_equal_yolox(use_l1):
    torch.manual_seed(0)
    model = build_model("nano", C)
    gen = torch.Generator().manual_seed(3)
    chans = [int(256 * 0.25), int(512 * 0.25), int(1024 * 0.25)]
    feats = [torch.randn(4, c, INPUT[0] // s, INPUT[1] // s, generator=gen) for c, s in zip(chans, (8, 16, 32))]
    labels = _batch(5)[0]
    ours, g_ours = _losses(model, "batched", feats, labels, use_l1)
    ref, g_ref = _losses(model, "yolox", feats, labels, use_l1)
    assert ours[0] > 1.0 and (ours[4] > 0) == use_l1
    assert ours == pytest.approx(ref, rel=1e-4)  # total, iou, obj, cls, l1, positives per box
    assert set(g_ours) == set(g_ref)
    for name in g_ref:
        scale = g_ref[name].abs().max().item()
        assert (g_ours[name] - g_ref[name]).abs().max().item() <= 1e-4 * scale + 1e-7, name


@pytest.mark.parametrize("use_l1", [False, True])
def test_batched_loss_has_no_data_dependent_control_flow(use_l1):
    """Assignment and loss traced as one graph each (a ``.item()``, ``nonzero``, boolean indexing or
    per-image loop would break it): nothing in the loss waits for the device. YOLOX's loss cannot be."""
    import torch._dynamo

    from detbench.train.simota import batched_get_losses

    labels, boxes, cls, obj, xs, ys, st = _batch(1)
    torch._dynamo.reset()
    compiled = torch.compile(assign, backend="eager", fullgraph=True)
    got, ref = compiled(labels, boxes, cls, obj, xs, ys, st), assign(labels, boxes, cls, obj, xs, ys, st)
    assert torch.equal(got.fg, ref.fg) and torch.equal(got.matched_gt, ref.matched_gt)

    torch.manual_seed(0)
    model = build_model("nano", C)
    use_loss(model.head, "batched")
    model.head.use_l1 = use_l1
    model.train()
    seen = {}
    real = type(model.head).get_losses
    type(model.head).get_losses = lambda self, *a, **k: seen.setdefault("args", (a, k)) and real(self, *a, **k)
    try:
        model(torch.rand(2, 3, *INPUT) * 255, labels[:2])
    finally:
        type(model.head).get_losses = real
    args, kw = seen["args"]
    eager = batched_get_losses(model.head, *args, **kw)
    traced = torch.compile(lambda *a: batched_get_losses(model.head, *a, **kw), backend="eager",
                           fullgraph=True)(*args)
    def values(out):  # the losses are tensors that need grad, the foreground count a float
        return [float(v.detach()) if torch.is_tensor(v) else float(v) for v in out]

    assert values(traced) == pytest.approx(values(eager), rel=1e-6)
    torch._dynamo.reset()
    with pytest.raises((torch._dynamo.exc.Unsupported, torch._dynamo.exc.UserError), match="data-dependent"):
        torch.compile(lambda *a: type(model.head).__mro__[1].get_losses(model.head, *a, **kw), backend="eager",
                      fullgraph=True)(*args)
