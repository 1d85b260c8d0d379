"""Modality branches: each turns one kind of input into a representation."""
from .face_maps import FaceMapBranch
from .frames import FramesBranch

__all__ = ['FaceMapBranch', 'FramesBranch']
