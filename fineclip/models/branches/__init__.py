"""Modality branches: each turns one kind of input into a representation."""
from .frames import FramesBranch

__all__ = ['FramesBranch']
