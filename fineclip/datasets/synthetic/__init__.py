"""Procedural cartoon-face videos in the DFEW layout (the embedded dataset).

Lets the whole pipeline run without any real data: see
``docs/synthetic_data.md`` and ``tools/data/make_synthetic_dfer.py``.
"""
from .dynamics import (SYNTHETIC_CLASSES, describe_action_units,
                       describe_frame)
from .face_model import ACTION_UNITS
from .render import PARSING_CLASSES
from .writer import generate_synthetic_dfew, synthesize_clip

__all__ = [
    'generate_synthetic_dfew', 'synthesize_clip', 'SYNTHETIC_CLASSES',
    'ACTION_UNITS', 'PARSING_CLASSES', 'describe_action_units',
    'describe_frame'
]
