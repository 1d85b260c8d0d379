"""Offline preprocessing backends (face analysers, video describers).

Registered into ``fineclip.registry.FACE_ANALYZERS`` and ``DESCRIBERS``; the
tools under ``tools/data/`` build them by name.
"""
from .face_analyzers import *  # noqa: F401,F403
from .describers import *  # noqa: F401,F403
