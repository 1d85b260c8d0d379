"""Frozen CLIP ViT over video frames with AIM adapters (paper Eq 5-7).

Each frozen residual block of the image tower runs three steps (AIM layout):

1. temporal: tokens are regrouped so attention runs across the T frames at
   each patch position, reusing the block's frozen ``ln_1`` and attention;
   the result passes through the T-Adapter (no skip) and joins the residual;
2. spatial: ``x = x + S-Adapter(attn(ln_1(x)))`` (adapter with skip);
3. MLP: ``x = x + mlp(ln_2(x)) + s * MLP-Adapter(ln_2(x))`` (no skip).

A zero-initialised temporal embedding is added once before the blocks. With
every adapter zero-initialised, steps 1-3 reduce to the frozen block.
"""
from contextlib import nullcontext
from typing import Optional

import torch
import torch.nn.functional as F
from torch import nn

from fineclip.registry import ENCODERS
from ..adapters import adapter_config, build_adapter
from ..memory import ActivationPass, vit_tokens
from .frozen_attention import run_layers, self_attention


class AIMBlock(nn.Module):
    """Adapters around one frozen open_clip ``ResidualAttentionBlock``.

    The frozen block is referenced, not registered: it belongs to the CLIP
    model that the recognizer registers once, so its weights appear once in
    ``state_dict`` and ``parameters()`` however many encoders share them.

    Args:
        block (nn.Module): The frozen residual block.
        num_frames (int): Frames per clip (T).
        t_adapter, s_adapter, mlp_adapter (bool): Which adapters exist.
        mlp_scale (float): ``s`` in Eq 7.
        adapter (dict): Config of every adapter (``ADAPTERS``, see
            :mod:`fineclip.models.adapters.builder`); the block sets
            ``skip`` for each (only the S-Adapter has one).
    """

    def __init__(self, block: nn.Module, num_frames: int, t_adapter: bool,
                 s_adapter: bool, mlp_adapter: bool, mlp_scale: float,
                 adapter: dict):
        super().__init__()
        width = block.ln_1.normalized_shape[0]
        self.__dict__['block'] = block  # shared, see class docstring
        self.num_frames = num_frames
        self.mlp_scale = mlp_scale
        self.t_adapter = build_adapter(
            adapter, width, skip=False) if t_adapter else None
        self.s_adapter = build_adapter(
            adapter, width, skip=True) if s_adapter else None
        self.mlp_adapter = build_adapter(
            adapter, width, skip=False) if mlp_adapter else None

    def _attend(self, x: torch.Tensor) -> torch.Tensor:
        """The frozen self-attention on batch-first tokens ``(N, L, D)``,
        from the block's own weights (see :mod:`.frozen_attention`)."""
        return self_attention(self.block.attn, x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Runs the block on ``(B*T, L, D)`` frame tokens."""
        block = self.block
        if self.t_adapter is not None:
            bt, length, width = x.shape
            t = self.num_frames
            xt = x.view(bt // t, t, length, width).transpose(1, 2)
            xt = xt.reshape(-1, t, width)
            xt = self.t_adapter(self._attend(block.ln_1(xt)))
            xt = xt.view(bt // t, length, t, width).transpose(1, 2)
            x = x + xt.reshape(bt, length, width)
        spatial = self._attend(block.ln_1(x))
        if self.s_adapter is not None:
            spatial = self.s_adapter(spatial)
        x = x + block.ls_1(spatial)
        normed = block.ln_2(x)
        x = x + block.ls_2(block.mlp(normed))
        if self.mlp_adapter is not None:
            x = x + self.mlp_scale * self.mlp_adapter(normed)
        return x


@ENCODERS.register_module()
class AIMVideoEncoder(nn.Module):
    """Video embedding from a frozen CLIP image tower with AIM adapters.

    The frozen tower is referenced, not registered as a child: the model that
    builds the encoder registers the CLIP once (see ``FineCLIPER``).

    Args:
        visual (nn.Module): open_clip ``VisionTransformer`` (frozen).
        num_frames (int): Frames per clip (T); the temporal embedding has
            one row per frame.
        t_adapter, s_adapter, mlp_adapter (bool): Which adapters to insert.
        mlp_scale (float): Scale ``s`` of the MLP-Adapter (Eq 7), 0.5.
        adapter (dict, optional): Config of every adapter (``ADAPTERS``);
            ``None``: ``dict(type='Adapter', ratio=0.25)``.
        adapter_ratio (float, optional): Alias kept for older configs: sets
            ``adapter``'s ``ratio``.
        grad_checkpointing (bool): In training, keep only each block's input
            and recompute the block in the backward pass: activations of
            the T frames dominate memory, the frozen blocks cost no weight
            gradients, so this trades one more forward pass for memory.
    """

    def __init__(self,
                 visual: nn.Module,
                 num_frames: int = 16,
                 t_adapter: bool = True,
                 s_adapter: bool = True,
                 mlp_adapter: bool = True,
                 mlp_scale: float = 0.5,
                 adapter: Optional[dict] = None,
                 adapter_ratio: Optional[float] = None,
                 grad_checkpointing: bool = False):
        super().__init__()
        if getattr(visual, 'attn_pool', None) is not None:
            raise ValueError('AIMVideoEncoder needs a CLIP ViT pooled by its '
                             'class token; this tower uses attention pooling.')
        # Referenced, not registered: the recognizer owns the frozen CLIP.
        self.__dict__['visual'] = visual
        self.num_frames = num_frames
        self.grad_checkpointing = grad_checkpointing
        width = visual.conv1.out_channels
        self.temporal_embedding = nn.Parameter(torch.zeros(num_frames, width))
        adapter = adapter_config(adapter, adapter_ratio)
        self.blocks = nn.ModuleList(
            AIMBlock(block, num_frames, t_adapter, s_adapter, mlp_adapter,
                     mlp_scale, adapter)
            for block in visual.transformer.resblocks)

    @property
    def embed_dim(self) -> int:
        """Width of the output embedding."""
        proj = self.visual.proj
        return proj.shape[
            1] if proj is not None else self.visual.conv1.out_channels

    def memory_passes(self, images_per_frame: int = 1) -> list:
        """The encoder's activation pass per clip
        (:mod:`fineclip.models.memory`): ``images_per_frame`` images
        (modalities) for each of the T frames."""
        visual = self.visual
        return [ActivationPass('aim', self.num_frames * images_per_frame,
                               vit_tokens(visual), visual.conv1.out_channels,
                               len(self.blocks))]

    def _patch_tokens(self, frames: torch.Tensor) -> torch.Tensor:
        """Frozen patch embedding + class token + position embedding."""
        visual = self.visual
        # With a frozen tower nothing before the temporal embedding trains:
        # skip autograd there (a fully fine-tuned tower keeps it).
        frozen = not visual.conv1.weight.requires_grad
        with torch.no_grad() if frozen else nullcontext():
            x = visual.conv1(frames).flatten(2).transpose(1, 2)
            cls = visual.class_embedding.to(x.dtype).expand(x.shape[0], 1, -1)
            x = torch.cat([cls, x], dim=1)
            x = x + visual.positional_embedding.to(x.dtype)
        return x

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        """Encodes clips.

        Args:
            frames (Tensor): ``(B, T, 3, H, W)`` normalised frames.

        Returns:
            Tensor: ``(B, D)`` L2-normalised video embeddings ``v``.
        """
        b, t = frames.shape[:2]
        if t != self.num_frames:
            raise ValueError(
                f'AIMVideoEncoder was built for {self.num_frames} '
                f'frames per clip but got {t}.')
        x = self._patch_tokens(frames.flatten(0, 1))
        length, width = x.shape[1:]
        x = x.view(b, t, length, width) + self.temporal_embedding[:, None]
        x = self.visual.ln_pre(x.view(b * t, length, width))
        x = run_layers(self.blocks, x, self.grad_checkpointing
                       and self.training)
        cls = self.visual.ln_post(x[:, 0])
        if self.visual.proj is not None:
            cls = cls @ self.visual.proj
        return F.normalize(cls.view(b, t, -1).mean(dim=1), dim=-1)
