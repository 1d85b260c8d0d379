"""CLIP models from open_clip, frozen, with weights by tag or path."""
from .builder import CLIPWeightsNotFoundError, build_clip

__all__ = ['CLIPWeightsNotFoundError', 'build_clip']
