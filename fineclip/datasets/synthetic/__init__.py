"""Procedural cartoon-face videos in the DFEW, FERV39k and MAFW layouts (the
embedded dataset).

Lets the whole pipeline run without any real data: see
``docs/synthetic_data.md`` and ``tools/data/make_synthetic_dfer.py``.
"""
from .dynamics import (PROFILE_NAMES, SYNTHETIC_CLASSES, apex_profile,
                       describe_action_units, describe_frame)
from .face_model import ACTION_UNITS
from .layouts import (FERV39K_SYNTHETIC_CLASSES, MAFW_SYNTHETIC_CLASSES,
                      SYNTHETIC_LAYOUTS, generate_synthetic,
                      generate_synthetic_ferv39k, generate_synthetic_mafw)
from .render import PARSING_CLASSES
from .writer import generate_synthetic_dfew, synthesize_clip

__all__ = [
    'generate_synthetic', 'generate_synthetic_dfew',
    'generate_synthetic_ferv39k', 'generate_synthetic_mafw',
    'synthesize_clip', 'SYNTHETIC_CLASSES', 'FERV39K_SYNTHETIC_CLASSES',
    'MAFW_SYNTHETIC_CLASSES', 'SYNTHETIC_LAYOUTS', 'PROFILE_NAMES',
    'apex_profile', 'ACTION_UNITS', 'PARSING_CLASSES',
    'describe_action_units', 'describe_frame'
]
