"""Describers: per-clip text about facial movements (FineCLIPER+).

Registered into ``fineclip.registry.DESCRIBERS``;
``tools/data/generate_descriptions.py`` builds them by name.
"""
from .base import BaseDescriber, ClipInput, segment_middles
from .landmark_motion import LandmarkMotionDescriber, describe_landmarks
from .video_llava import VideoLlavaDescriber

__all__ = [
    'BaseDescriber', 'ClipInput', 'segment_middles',
    'LandmarkMotionDescriber', 'describe_landmarks', 'VideoLlavaDescriber'
]
