"""The adapted CLIP text forward both text towers share (paper Eq 2-4).

:class:`~.text_encoder.AdaptedTextEncoder` (77 tokens, the class prompts)
and :class:`~.long_clip_text_encoder.LongCLIPTextEncoder` (248 tokens, the
descriptions) differ in their token and position embeddings; from there on
both run ``H_l = A_l(Layer_l(H_{l-1}))`` over the frozen layers,
``ln_final``, pool the end-of-text token and apply ``text_projection``.
That part is written once, here.
"""
from typing import Callable, Optional, Sequence

import torch
from torch import nn

from .frozen_attention import adapted_layers, run_layers


def eot_pool(x: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
    """The end-of-text token of each sequence: CLIP's EOT has the largest
    id (open_clip's ``'argmax'`` pooling)."""
    return x[torch.arange(x.shape[0], device=x.device), tokens.argmax(dim=-1)]


def project_text(projection, pooled: torch.Tensor) -> torch.Tensor:
    """Applies a CLIP ``text_projection``: a matrix, an ``nn.Linear``, or
    ``None`` (no projection)."""
    if isinstance(projection, nn.Linear):
        return projection(pooled)
    if projection is not None:
        return pooled @ projection
    return pooled


def adapted_text_forward(
        tower: nn.Module, x: torch.Tensor, tokens: torch.Tensor,
        adapters: Optional[Sequence[nn.Module]],
        attn_mask: Optional[torch.Tensor] = None, recompute: bool = False,
        pool: Callable[[torch.Tensor, torch.Tensor],
                       torch.Tensor] = eot_pool) -> torch.Tensor:
    """Encodes embedded tokens with a frozen text tower and its adapters.

    Args:
        tower (nn.Module): Holds the frozen ``transformer`` (batch-first
            blocks), ``ln_final`` and ``text_projection`` (an open_clip
            ``CLIP`` or a copy of its text tower).
        x (Tensor): ``(N, L, W)`` token embeddings, position embeddings
            already added.
        tokens (Tensor): ``(N, L)`` token ids; they locate the pooled token.
        adapters (Sequence[nn.Module], optional): One adapter per layer,
            applied after it; ``None``: the plain frozen tower.
        attn_mask (Tensor, optional): ``(L, L)`` additive causal mask.
        recompute (bool): Gradient checkpointing of each layer (see
            :func:`~.frozen_attention.run_layers`).
        pool (Callable): ``(x, tokens) -> (N, W)`` pooling.

    Returns:
        Tensor: ``(N, D)`` projected features, not yet normalised (a tower
        may project them further first).
    """
    # Frozen layers still build a graph: gradients pass through them to the
    # adapters below.
    x = run_layers(adapted_layers(tower.transformer.resblocks, adapters), x,
                   recompute, attn_mask=attn_mask)
    x = tower.ln_final(x)
    return project_text(tower.text_projection, pool(x, tokens))
