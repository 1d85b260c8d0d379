import math

import pytest
import torch
import torch.nn.functional as F

from fineclip.models.fusions import AdaptiveFusion, FixedFusion
from fineclip.models.similarity import class_probabilities, pn_similarity


def test_pn_similarity_matches_formula_on_hand_made_vectors():
    f = torch.tensor([[1., 0.], [0., 2.]])
    t_p = torch.tensor([[1., 0.], [1., 1.]])
    t_n = torch.tensor([[0., 1.], [-1., 0.]])
    s = pn_similarity(f, t_p, t_n)
    r = 1 / math.sqrt(2)
    # s_c(f) = cos(f, t_p[c]) - cos(f, t_n[c])
    expected = torch.tensor([[1. - 0., r - (-1.)],
                             [0. - 1., r - 0.]])
    assert torch.allclose(s, expected, atol=1e-6)
    assert torch.allclose(pn_similarity(f, t_p), expected + torch.tensor(
        [[0., -1.], [1., 0.]]), atol=1e-6)


def test_probabilities_are_softmax_over_temperature():
    s = torch.tensor([[0.2, 0.1, -0.3]])
    p = class_probabilities(s, 0.01)
    assert torch.allclose(p, torch.softmax(s / 0.01, dim=-1))
    assert torch.allclose(p.sum(), torch.tensor(1.))


def _sim_fn():
    t_p = torch.eye(3)
    return lambda f: pn_similarity(f, t_p, -t_p)


def test_adaptive_fusion_weights_follow_eq9():
    feats = {'video': torch.tensor([[1., 0., 0.]]),
             'face': torch.tensor([[1., 1., 1.]])}
    fused, w, sims = AdaptiveFusion()(feats, _sim_fn())
    r = torch.tensor([[sims['video'].max(), sims['face'].max()]])
    assert torch.allclose(w, r.softmax(dim=1))
    expected = (w[0, 0] * F.normalize(feats['video'], dim=-1) +
                w[0, 1] * F.normalize(feats['face'], dim=-1))
    assert torch.allclose(fused, expected)
    assert not w.requires_grad


def test_fusion_loss_is_weighted_sum_of_branch_ce():
    sims = {'video': torch.tensor([[0.5, 0.1, 0.0]]),
            'face': torch.tensor([[0.0, 0.3, 0.2]])}
    w = torch.tensor([[0.25, 0.75]])
    y = torch.tensor([1])
    out = AdaptiveFusion.loss(sims, w, y, temperature=0.1)
    expected = (0.25 * F.cross_entropy(sims['video'] / 0.1, y) +
                0.75 * F.cross_entropy(sims['face'] / 0.1, y))
    assert torch.allclose(out['loss'], expected)
    assert torch.isclose(out['w_face'], torch.tensor(0.75))
    assert not any('loss' in k for k in out if k != 'loss')


def test_fixed_fusion_shares_the_rest_evenly():
    sims = {n: torch.zeros(2, 3) for n in ('video', 'face', 'text')}
    w = FixedFusion(alpha=0.6).branch_weights(sims)
    assert torch.allclose(w, torch.tensor([[0.6, 0.2, 0.2]] * 2))
    assert torch.equal(FixedFusion(0.3).branch_weights(
        {'video': torch.zeros(1, 3)}), torch.ones(1, 1))
    with pytest.raises(ValueError):
        FixedFusion(alpha=1.5)
    with pytest.raises(KeyError, match='primary'):
        FixedFusion(primary='video').branch_weights({'face': sims['face']})


def test_single_branch_gets_full_weight():
    feats = {'video': torch.randn(4, 3)}
    fused, w, _ = AdaptiveFusion()(feats, _sim_fn())
    assert torch.allclose(w, torch.ones(4, 1))
    assert torch.allclose(fused, F.normalize(feats['video'], dim=-1))


def test_pn_logits_under_bf16_autocast_equal_the_fp32_ones():
    """Eq 1/8 run in fp32 inside autocast: at tau = 0.01 a bf16 product
    would move the logits by tenths (the fp32 reference differs from the
    bf16 matmul by far more than the tolerance here)."""
    torch.manual_seed(0)
    f = torch.randn(6, 64)
    t_p, t_n = torch.randn(7, 64), torch.randn(7, 64)
    reference = pn_similarity(f, t_p, t_n) / 0.01
    with torch.autocast('cpu', dtype=torch.bfloat16):
        logits = pn_similarity(f.bfloat16(), t_p, t_n) / 0.01
        probs = class_probabilities(pn_similarity(f, t_p, t_n), 0.01)
        half = (F.normalize(f, dim=-1) @ F.normalize(t_p, dim=-1).t()
                - F.normalize(f, dim=-1) @ F.normalize(t_n, dim=-1).t())
    assert logits.dtype == probs.dtype == torch.float32
    # features given in bf16 are upcast: only their own rounding remains
    bf16_input = pn_similarity(f.bfloat16().float(), t_p, t_n) / 0.01
    assert torch.allclose(logits, bf16_input, rtol=1e-5, atol=1e-5)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        same_input = pn_similarity(f, t_p, t_n) / 0.01
    assert torch.allclose(same_input, reference, rtol=1e-5, atol=1e-5)
    assert torch.allclose(probs, torch.softmax(reference, -1), atol=1e-6)
    # what the fp32 guard prevents: the bf16 product is far off
    assert half.dtype == torch.bfloat16
    assert (half.float() / 0.01 - reference).abs().max() > 1e-2


def test_fused_logits_and_loss_under_bf16_autocast_equal_the_fp32_ones():
    """Every division by tau of FineCLIPER's step (the fusion loss per
    branch, the fused logits) sees fp32 similarities inside CPU bf16
    autocast: the same numbers as without autocast, to 1e-5 relative."""
    torch.manual_seed(1)
    t_p, t_n = torch.randn(7, 32), torch.randn(7, 32)
    feats = {n: torch.randn(5, 32) for n in ('video', 'parsing', 'text')}
    labels = torch.arange(5) % 7

    def step():
        similarity = lambda f: pn_similarity(f, t_p, t_n)  # noqa: E731
        fused, weights, sims = AdaptiveFusion()(feats, similarity)
        loss = AdaptiveFusion.loss(sims, weights, labels, 0.01)['loss']
        return similarity(fused) / 0.01, loss

    logits, loss = step()
    with torch.autocast('cpu', dtype=torch.bfloat16):
        half_logits, half_loss = step()
    assert half_logits.dtype == half_loss.dtype == torch.float32
    torch.testing.assert_close(half_logits, logits, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(half_loss, loss, rtol=1e-5, atol=0)


def test_pn_logits_stay_fp32_under_fake_cuda_bf16_autocast(monkeypatch):
    """The same guard on a fake CUDA device (no driver): fake tensors have
    no values, so the ops autocast hands down are recorded instead; every
    one of them (matmuls, difference, division by tau, softmax) is fp32,
    while a plain matmul in the same autocast region runs in bf16."""
    from torch._subclasses.fake_tensor import FakeTensorMode
    from torch.utils._python_dispatch import TorchDispatchMode

    class Dtypes(TorchDispatchMode):
        def __init__(self):
            super().__init__()
            self.ops = []

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            out = func(*args, **(kwargs or {}))
            if isinstance(out, torch.Tensor):  # not prim.device and such
                dtypes = {a.dtype for a in args
                          if isinstance(a, torch.Tensor)}
                self.ops.append((func.__name__, dtypes, out.dtype))
            return out

    # autocast('cuda') only asks whether CUDA is there before switching on
    # (as in test_fake_cuda_device.py)
    monkeypatch.setattr(torch.cuda.amp.common,
                        'amp_definitely_not_available', lambda: False)
    monkeypatch.setattr(torch.cuda, 'is_bf16_supported',
                        lambda *args, **kwargs: True)
    with FakeTensorMode():
        f = torch.randn(4, 16, device='cuda')
        t_p, t_n = (torch.randn(7, 16, device='cuda') for _ in range(2))
        with torch.autocast('cuda', dtype=torch.bfloat16):
            plain = f @ t_p.t()
            with Dtypes() as recorded:
                logits = pn_similarity(f, t_p, t_n) / 0.01
                probs = class_probabilities(pn_similarity(f, t_p, t_n), 0.01)
    assert plain.dtype == torch.bfloat16  # autocast is on
    assert logits.device.type == 'cuda'
    assert logits.dtype == probs.dtype == torch.float32
    names = [name for name, _, _ in recorded.ops]
    assert any(n.startswith('mm') for n in names), names
    assert any(n.startswith('div') for n in names), names
    not_fp32 = [op for op in recorded.ops
                if op[1] - {torch.float32} or op[2] != torch.float32]
    assert not_fp32 == []
