"""Frozen CLIP text tower with one adapter after every layer (paper Eq 2-4).

``H_l = A_l(Layer_l(H_{l-1}))``: each frozen layer is followed by an adapter
with a skip connection. Several independent adapter stacks can share the
frozen tower; FineCLIPER keeps one for the positive and one for the negative
prompts. The EOT token after ``ln_final`` is projected and L2-normalised.
"""
from contextlib import nullcontext
from functools import partial
from typing import Dict, Optional, Sequence

import open_clip
import torch
import torch.nn.functional as F
from open_clip.transformer import text_global_pool
from torch import nn

from fineclip.registry import ENCODERS
from ..adapters import adapter_config, build_adapter_stack
from ..memory import ActivationPass
from .text_tower import adapted_text_forward


@ENCODERS.register_module()
class AdaptedTextEncoder(nn.Module):
    """CLIP text encoder with per-layer adapter stacks.

    The frozen CLIP is referenced, not registered as a child: the model that
    builds the encoder registers it once.

    Args:
        clip (nn.Module): open_clip ``CLIP`` model (frozen) whose text tower
            (``token_embedding``, ``transformer``, ``ln_final``,
            ``text_projection``) is used.
        stacks (Sequence[str]): Names of the adapter stacks, e.g.
            ``('positive', 'negative')``. Empty: the plain frozen encoder.
        adapter (dict, optional): Config of every adapter (``ADAPTERS``,
            built with a skip connection); ``None``:
            ``dict(type='Adapter', ratio=0.25)``.
        adapter_ratio (float, optional): Alias kept for older configs: sets
            ``adapter``'s ``ratio``.
        grad_checkpointing (bool): In training, keep only each layer's input
            and recompute the layer in the backward pass (see
            :func:`~.frozen_attention.run_layers`).
    """

    def __init__(self, clip: nn.Module, stacks: Sequence[str] = ('positive',
                                                                 'negative'),
                 adapter: Optional[dict] = None,
                 adapter_ratio: Optional[float] = None,
                 grad_checkpointing: bool = False):
        super().__init__()
        if not getattr(clip.transformer, 'batch_first', True):
            raise ValueError('AdaptedTextEncoder needs an open_clip model '
                             'with batch-first transformer blocks.')
        self.__dict__['clip'] = clip  # shared, see class docstring
        width = clip.transformer.width
        layers = len(clip.transformer.resblocks)
        adapter = adapter_config(adapter, adapter_ratio)
        self.adapters = nn.ModuleDict({
            name: build_adapter_stack(adapter, width, layers, skip=True)
            for name in stacks
        })
        self.grad_checkpointing = grad_checkpointing
        self.context_length = clip.context_length
        self.tokenizer = open_clip.tokenizer.SimpleTokenizer(
            context_length=self.context_length)
        self._token_cache: Dict[tuple, torch.Tensor] = {}

    def memory_passes(self, num_classes: int) -> list:
        """The class prompts of one training step, one per class and
        adapter stack (:mod:`fineclip.models.memory`): a fixed cost, not
        per clip."""
        transformer = self.clip.transformer
        prompts = num_classes * max(len(self.adapters), 1)
        return [ActivationPass('text', prompts, self.context_length,
                               transformer.width, len(transformer.resblocks),
                               per_clip=False)]

    def tokenize(self, texts: Sequence[str]) -> torch.Tensor:
        """Tokenises texts to ``(N, context_length)`` token ids.

        The class prompts are the same every training step: their tokens
        are kept instead of running BPE again, on the text tower's device,
        so a step copies nothing to the GPU for them (a plain attribute,
        the cache is not moved by ``.to``: it follows the tower here).
        """
        key = tuple(texts)
        device = self.clip.token_embedding.weight.device
        tokens = self._token_cache.get(key)
        if tokens is None:
            tokens = self.tokenizer(list(texts))
        if tokens.device != device:
            tokens = tokens.to(device)
        self._token_cache[key] = tokens
        return tokens

    def embed_tokens(self, tokens: torch.Tensor) -> torch.Tensor:
        """Token ids ``(N, L)`` -> token embeddings ``(N, L, W)``, before
        position embeddings: where a prompt learner puts its context
        vectors (see :meth:`encode_embeddings`)."""
        clip = self.clip
        tokens = tokens.to(clip.token_embedding.weight.device)
        # Frozen embeddings precede every trainable part: no autograd
        # (unless the tower itself is fine-tuned).
        frozen = not clip.token_embedding.weight.requires_grad
        with torch.no_grad() if frozen else nullcontext():
            return clip.token_embedding(tokens)

    def encode_embeddings(self, x: torch.Tensor, tokens: torch.Tensor,
                          stack: str = None) -> torch.Tensor:
        """Encodes token embeddings, learnable ones included.

        Args:
            x (Tensor): ``(N, L, W)`` token embeddings, e.g. from
                :meth:`embed_tokens` with some rows replaced by learned
                context vectors.
            tokens (Tensor): ``(N, L)`` token ids of the same sequences;
                they say where each sequence's end-of-text token is.
            stack (str, optional): Which adapter stack to apply; ``None``
                runs the frozen tower without adapters.

        Returns:
            Tensor: ``(N, D)`` L2-normalised text features.
        """
        clip = self.clip
        if stack is not None and stack not in self.adapters:
            raise KeyError(f"No adapter stack '{stack}'; have "
                           f'{list(self.adapters)}')
        adapters = self.adapters[stack] if stack is not None else None
        tokens = tokens.to(x.device)
        x = x + clip.positional_embedding[:x.shape[1]].to(x.dtype)
        mask = clip.attn_mask
        if mask is not None:
            mask = mask[:x.shape[1], :x.shape[1]].to(x.dtype)
        pool = partial(text_global_pool, pool_type=clip.text_pool_type,
                       eos_token_id=getattr(clip, 'text_eos_id', None))
        pooled = adapted_text_forward(
            clip, x, tokens, adapters, mask,
            self.grad_checkpointing and self.training, pool=pool)
        return F.normalize(pooled, dim=-1)

    def forward(self, tokens: torch.Tensor, stack: str = None) -> torch.Tensor:
        """Encodes token ids.

        Args:
            tokens (Tensor): ``(N, L)`` token ids.
            stack (str, optional): Which adapter stack to apply; ``None``
                runs the frozen tower without adapters.

        Returns:
            Tensor: ``(N, D)`` L2-normalised text features.
        """
        return self.encode_embeddings(self.embed_tokens(tokens), tokens,
                                      stack)

    def encode_prompts(self, prompts: Dict[str, Sequence[str]]
                       ) -> Dict[str, torch.Tensor]:
        """Encodes each group of prompts with the adapter stack of its name
        (with the plain frozen tower when the encoder has no stacks)."""
        return {
            name: self(self.tokenize(texts),
                       stack=name if self.adapters else None)
            for name, texts in prompts.items()
        }
