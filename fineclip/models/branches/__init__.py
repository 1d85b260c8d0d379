"""Modality branches: each turns one kind of input into a representation."""
from .base import BaseBranch
from .description import DescriptionBranch
from .face_maps import FaceMapBranch
from .frame_features import FrameFeaturesBranch
from .frames import FramesBranch

__all__ = ['BaseBranch', 'DescriptionBranch', 'FaceMapBranch',
           'FrameFeaturesBranch', 'FramesBranch']
