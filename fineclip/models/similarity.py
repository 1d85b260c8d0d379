"""PN similarity between representations and class prompts (Eq 1, Eq 8).

``s_c(f) = cos(f, t_p[c]) - cos(f, t_n[c])``, or ``cos(f, t_p[c])`` when the
label augmenter gives no negative prompts; ``p(c|f) = softmax_c(s_c / tau)``.
"""
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
    features = F.normalize(features, dim=-1)
    sims = features @ F.normalize(positive, dim=-1).t()
    if negative is not None:
        sims = sims - features @ F.normalize(negative, dim=-1).t()
    return sims


def class_probabilities(similarities: torch.Tensor,
                        temperature: float) -> torch.Tensor:
    """``p(c|f) = softmax_c(s_c(f) / tau)`` (Eq 1)."""
    return (similarities / temperature).softmax(dim=-1)
