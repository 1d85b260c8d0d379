"""A low-rank adapter in LoRA's manner, as an example of a plugin adapter.

``LowRankAdapter(x) = (alpha / rank) * up(down(x))`` (plus ``x`` with a
skip connection): LoRA's rank-``r`` update (Hu et al. 2022) applied to the
tokens where FineCLIPER's encoders insert their adapters, with no
nonlinearity in between. ``up`` starts at zero, so a new adapter is the
identity (with skip) or zero (without), as the adapter contract asks
(:mod:`fineclip.models.adapters.builder`).

Loaded only through a config's ``custom_imports``; every encoder then takes
it by one line, e.g.
``text_encoder=dict(adapter=dict(_delete_=True, type='LowRankAdapter',
rank=8))`` (see ``configs/plugins/fineclip_lora_adapter_synthetic.py``).
"""
from typing import Optional

import torch
from torch import nn

from fineclip.registry import ADAPTERS


@ADAPTERS.register_module()
class LowRankAdapter(nn.Module):
    """Rank-``r`` linear adapter: ``(alpha / r) * up(down(x))`` [+ ``x``].

    Args:
        width (int): Channel width of the tokens (given by the encoder).
        skip (bool): Whether to add the input (given by the encoder).
        rank (int): Rank ``r`` of the update.
        alpha (float, optional): LoRA's scale numerator; ``None``: ``rank``
            (a scale of 1).
    """

    def __init__(self, width: int, skip: bool = True, rank: int = 4,
                 alpha: Optional[float] = None):
        super().__init__()
        if width <= 0 or rank <= 0:
            raise ValueError(f'LowRankAdapter needs width > 0 and rank > 0, '
                             f'got {width}, {rank}')
        self.skip = skip
        self.scale = (rank if alpha is None else alpha) / rank
        self.down = nn.Linear(width, rank, bias=False)
        self.up = nn.Linear(rank, width, bias=False)
        nn.init.zeros_(self.up.weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.scale * self.up(self.down(x))
        return x + out if self.skip else out

    def extra_repr(self) -> str:
        return f'skip={self.skip}, scale={self.scale:g}'
