"""PN similarity between representations and class prompts (Eq 1, Eq 8).

``s_c(f) = cos(f, t_p[c]) - cos(f, t_n[c])``, or ``cos(f, t_p[c])`` when the
label augmenter gives no negative prompts; ``p(c|f) = softmax_c(s_c / tau)``.

Both are computed in fp32 whatever autocast is active: ``tau = 0.01``
multiplies the similarities by 100, and a bf16 similarity (8 bits of
mantissa) rounds them by up to ~0.004, i.e. 0.4 logits after the division:
enough to flip predictions between close classes.
"""
import contextlib
from typing import Optional

import torch
import torch.nn.functional as F


def pn_similarity(features: torch.Tensor, positive: torch.Tensor,
                  negative: Optional[torch.Tensor] = None) -> torch.Tensor:
    """Computes ``s_c(f)`` for every sample and class.

    Args:
        features (Tensor): ``(B, D)`` representations (any norm).
        positive (Tensor): ``(C, D)`` positive prompt features ``t_p``.
        negative (Tensor, optional): ``(C, D)`` negative prompt features.

    Returns:
        Tensor: ``(B, C)`` similarities in ``[-2, 2]`` (``[-1, 1]`` without
        negatives).
    """
    with _full_precision(features):
        features = F.normalize(features.float(), dim=-1)
        sims = features @ F.normalize(positive.float(), dim=-1).t()
        if negative is not None:
            sims = sims - features @ F.normalize(negative.float(), dim=-1).t()
    return sims


def class_probabilities(similarities: torch.Tensor,
                        temperature: float) -> torch.Tensor:
    """``p(c|f) = softmax_c(s_c(f) / tau)`` (Eq 1), in fp32."""
    with _full_precision(similarities):
        return (similarities.float() / temperature).softmax(dim=-1)


def _full_precision(tensor: torch.Tensor):
    """Switches autocast off on ``tensor``'s device type for the block.

    A device type without autocast (``meta``, used for shape-only runs)
    has nothing to switch off, and ``torch.autocast`` would refuse it.
    """
    if not torch.amp.is_autocast_available(tensor.device.type):
        return contextlib.nullcontext()
    return torch.autocast(tensor.device.type, enabled=False)
