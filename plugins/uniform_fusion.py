"""Example plugin: a fusion strategy that weighs every branch equally.

A baseline for the adaptive fusion of Eq 9: with ``w_m = 1 / M`` the fused
representation is the plain mean of the branches. It is loaded only by
configs that name this module in ``custom_imports``.
"""
import torch

from fineclip.models.fusions import BaseFusion
from fineclip.registry import FUSIONS


@FUSIONS.register_module()
class UniformFusion(BaseFusion):
    """Equal weight ``1 / M`` for each of the M branches, for every sample."""

    def branch_weights(self, similarities):
        first = next(iter(similarities.values()))
        num_branches = len(similarities)
        return torch.full((first.shape[0], num_branches), 1. / num_branches,
                          device=first.device)
