"""The benchmark's FLOP count includes attention run by CPU SDPA kernels."""
import torch
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode

from fineclip.apis.benchmark import _missing_flop_formulas


def test_cpu_attention_flops_are_counted_forward_and_backward():
    n, heads, length, dim = 2, 3, 5, 8
    q, k, v = (torch.randn(n, heads, length, dim, requires_grad=True)
               for _ in range(3))
    counter = FlopCounterMode(display=False,
                              custom_mapping=_missing_flop_formulas())
    with counter:
        out = F.scaled_dot_product_attention(q, k, v)
    # q k^T and the weighted sum of v: two products of 2 * L * L * d each
    forward = 2 * (2 * n * heads * length * length * dim)
    assert counter.get_total_flops() == forward
    with counter:
        out.sum().backward()
    # backward: five such products (torch's SDPA backward formula)
    assert counter.get_total_flops() == forward * 5 // 2


def test_formulas_only_fill_what_torch_lacks():
    from torch.utils.flop_counter import flop_registry
    assert not set(_missing_flop_formulas()) & set(flop_registry)
