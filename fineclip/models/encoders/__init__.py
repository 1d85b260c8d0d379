"""Encoders: CLIP towers wrapped with adapters."""
from .long_clip_text_encoder import LongCLIPTextEncoder
from .text_encoder import AdaptedTextEncoder
from .video_encoder import AIMBlock, AIMVideoEncoder

__all__ = [
    'AdaptedTextEncoder', 'AIMBlock', 'AIMVideoEncoder', 'LongCLIPTextEncoder'
]
