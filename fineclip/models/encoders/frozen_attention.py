"""Frozen CLIP self-attention computed from the module's own weights.

``nn.MultiheadAttention`` works sequence-first, so it transposes
batch-first tokens, and torch's ``matmul`` flattens such a transposed input
into one matrix product only when the weight needs a gradient: for a frozen
weight the input projection runs as a batched product over a broadcast
weight (1.1-1.6x slower than one ``addmm`` on CPU at ViT-B/16 shapes), and
the module's layout changes copy the tokens several times. Here the tokens
stay contiguous, the projections are plain ``linear`` calls and the heads go
to ``scaled_dot_product_attention`` as strided views: the same math,
``out_proj(softmax(q k^T / sqrt(d_head) + mask) v)``.
"""
from functools import partial
from typing import Optional

import torch
import torch.nn.functional as F
from open_clip.transformer import ResidualAttentionBlock
from torch import nn
from torch.utils.checkpoint import checkpoint


def is_plain_self_attention(attn: nn.MultiheadAttention) -> bool:
    """Whether ``attn`` is plain packed-projection self-attention.

    That is: one ``in_proj_weight`` for q, k and v, no learned key/value
    bias, no zero-attention slot and no dropout that would act (dropout
    only acts in training). open_clip's CLIP blocks are of this kind.
    """
    return (isinstance(attn, nn.MultiheadAttention)
            and attn._qkv_same_embed_dim and attn.in_proj_weight is not None
            and attn.bias_k is None and attn.bias_v is None
            and not attn.add_zero_attn
            and not (attn.training and attn.dropout > 0))


def self_attention(attn: nn.MultiheadAttention, x: torch.Tensor,
                   attn_mask: Optional[torch.Tensor] = None) -> torch.Tensor:
    """``attn`` applied to batch-first tokens ``x`` of shape ``(N, L, D)``.

    Args:
        attn: The attention module (its own weights are used).
        x: Batch-first tokens.
        attn_mask: Optional ``(L, L)`` float mask added to the attention
            scores (CLIP's causal text mask).

    Returns:
        Tensor: ``(N, L, D)``. Attention the direct path does not cover
        (separate q/k/v weights, ``bias_k``/``bias_v``, zero attention,
        dropout in training) runs through the module itself.
    """
    if attn_mask is not None:
        attn_mask = attn_mask.to(x.dtype)
    if not is_plain_self_attention(attn):
        if not attn.batch_first:
            x = x.transpose(0, 1)
        out = attn(x, x, x, need_weights=False, attn_mask=attn_mask)[0]
        return out if attn.batch_first else out.transpose(0, 1)
    n, length, width = x.shape
    heads = attn.num_heads
    qkv = F.linear(x, attn.in_proj_weight, attn.in_proj_bias)
    # (N, L, 3, H, d) -> three (N, H, L, d) views, no copy
    q, k, v = qkv.view(n, length, 3, heads, width // heads).permute(
        2, 0, 3, 1, 4)
    out = F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask)
    out = out.transpose(1, 2).reshape(n, length, width)
    return F.linear(out, attn.out_proj.weight, attn.out_proj.bias)


def residual_block(block: nn.Module, x: torch.Tensor,
                   attn_mask: Optional[torch.Tensor] = None
                   ) -> torch.Tensor:
    """One open_clip ``ResidualAttentionBlock`` on batch-first tokens,
    its attention through :func:`self_attention`.

    ``x + ls_1(attn(ln_1(x)))``, then ``+ ls_2(mlp(ln_2(.)))``, as the
    block's own ``forward``; any other block (a subclass with its own
    ``forward``, a custom block) is simply called.
    """
    if (type(block).forward is not ResidualAttentionBlock.forward
            or not getattr(block.attn, 'batch_first', False)):
        return block(x, attn_mask=attn_mask)
    x = x + block.ls_1(self_attention(block.attn, block.ln_1(x), attn_mask))
    return x + block.ls_2(block.mlp(block.ln_2(x)))


def adapted_layers(blocks, adapters=None) -> list:
    """``H_l = A_l(Layer_l(H_{l-1}))`` as a list of layer callables.

    Each frozen text block (through :func:`residual_block`) followed by its
    adapter, or alone where ``adapters`` is ``None``; both text towers run
    their layers this way (with :func:`run_layers`).
    """
    if adapters is None:
        adapters = [None] * len(blocks)

    def layer(block, adapter, x, attn_mask=None):
        x = residual_block(block, x, attn_mask=attn_mask)
        return x if adapter is None else adapter(x)
    return [partial(layer, block, adapter)
            for block, adapter in zip(blocks, adapters)]


def run_layers(layers, x: torch.Tensor, recompute: bool = False,
               **kwargs) -> torch.Tensor:
    """Applies ``layers`` in turn: ``x = layer(x, **kwargs)``.

    With ``recompute`` (gradient checkpointing), only each layer's input is
    kept for the backward pass and the layer runs again there: the
    activations of all frames (or prompts) of all layers are what fills
    memory, and the frozen layers cost no weight gradients, so one more
    forward pass buys most of that memory back. It applies only where a
    backward pass will follow (training with autograd on).
    """
    recompute = recompute and torch.is_grad_enabled()
    for layer in layers:
        if recompute:
            x = checkpoint(layer, x, use_reentrant=False, **kwargs)
        else:
            x = layer(x, **kwargs)
    return x

