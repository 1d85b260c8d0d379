"""Pretraining of the tiny CLIP behind the embedded default."""
from .tiny_clip import pretrain_tiny_clip, tiny_clip_ready

__all__ = ['pretrain_tiny_clip', 'tiny_clip_ready']
