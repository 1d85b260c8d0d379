"""Fusion of the branches' representations (Sec 3.4, Eq 9-11; appendix A.4).

Every branch m gives a representation ``f_m``. A fusion strategy weighs the
branches per sample (``w``, shape ``(B, M)``), forms the fused representation
``f = sum_m w_m f_m`` (Eq 10) used for prediction, and the training loss
``L = mean_batch sum_m w_m CE(s(f_m) / tau, y)`` (Eq 11).
"""
from typing import Callable, Dict, Tuple

import torch
import torch.nn.functional as F
from torch import nn

from fineclip.registry import FUSIONS

SimilarityFn = Callable[[torch.Tensor], torch.Tensor]


class BaseFusion(nn.Module):
    """Shared mechanics; subclasses only decide the branch weights."""

    def branch_weights(self, similarities: Dict[str,
                                                torch.Tensor]) -> torch.Tensor:
        """Returns ``(B, M)`` weights, columns in ``similarities`` order."""
        raise NotImplementedError

    def forward(
        self, features: Dict[str, torch.Tensor], similarity: SimilarityFn
    ) -> Tuple[torch.Tensor, torch.Tensor, Dict[str, torch.Tensor]]:
        """Fuses the branches.

        Args:
            features: ``{branch: (B, D)}`` representations.
            similarity: maps ``(B, D)`` features to ``(B, C)`` PN
                similarities ``s(f)`` (Eq 8).

        Returns:
            tuple: fused ``(B, D)`` representation (Eq 10), ``(B, M)``
            weights, and ``{branch: (B, C)}`` per-branch similarities.
        """
        if not features:
            raise ValueError('Fusion needs at least one branch.')
        sims = {name: similarity(feat) for name, feat in features.items()}
        weights = self.branch_weights(sims)
        stacked = torch.stack(
            [F.normalize(f, dim=-1) for f in features.values()], dim=1)
        fused = (weights.unsqueeze(-1) * stacked).sum(dim=1)
        return fused, weights, sims

    @staticmethod
    def loss(similarities: Dict[str, torch.Tensor], weights: torch.Tensor,
             labels: torch.Tensor,
             temperature: float) -> Dict[str, torch.Tensor]:
        """Eq 11: per-branch cross-entropy weighted per sample.

        Returns:
            dict: ``loss`` (the total, what is optimised), and for each branch
            ``ce_{name}`` and ``w_{name}`` (batch means), for the log only.
        """
        total, logs = 0., {}
        for m, (name, sims) in enumerate(similarities.items()):
            ce = F.cross_entropy(sims / temperature, labels, reduction='none')
            total = total + weights[:, m] * ce
            logs[f'ce_{name}'] = ce.mean().detach()
            logs[f'w_{name}'] = weights[:, m].mean().detach()
        return {'loss': total.mean(), **logs}


@FUSIONS.register_module()
class AdaptiveFusion(BaseFusion):
    """Eq 9: ``r_m = max_c s_c(f_m)``, ``w = softmax_m(r)``.

    Branches that match some class prompt more confidently get more weight,
    per sample.

    Args:
        detach (bool): Stop gradients through the weights (default), so a
            branch cannot lower its loss by lowering its own weight.
    """

    def __init__(self, detach: bool = True):
        super().__init__()
        self.detach = detach

    def branch_weights(self, similarities):
        confidence = torch.stack(
            [s.max(dim=-1).values for s in similarities.values()], dim=1)
        weights = confidence.softmax(dim=1)
        return weights.detach() if self.detach else weights


@FUSIONS.register_module()
class FixedFusion(BaseFusion):
    """Appendix A.4: ``w_primary = alpha``, the others share ``1 - alpha``.

    Args:
        alpha (float): Weight of the primary branch, in [0, 1].
        primary (str): Name of the primary branch (the video frames).
    """

    def __init__(self, alpha: float = 0.5, primary: str = 'video'):
        super().__init__()
        if not 0. <= alpha <= 1.:
            raise ValueError(
                f'FixedFusion alpha must be in [0, 1], got {alpha}')
        self.alpha = alpha
        self.primary = primary

    def branch_weights(self, similarities):
        names = list(similarities)
        if self.primary not in names:
            raise KeyError(f"FixedFusion primary branch '{self.primary}' is "
                           f'not among the branches {names}.')
        batch = next(iter(similarities.values())).shape[0]
        device = next(iter(similarities.values())).device
        if len(names) == 1:
            return torch.ones(batch, 1, device=device)
        rest = (1. - self.alpha) / (len(names) - 1)
        row = torch.tensor(
            [self.alpha if n == self.primary else rest for n in names],
            device=device)
        return row.expand(batch, -1)
