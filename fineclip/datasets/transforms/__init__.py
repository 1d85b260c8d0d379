"""Data transforms: sampling, decoding, group augmentation, packing."""
from .augment import (GroupBrightness, GroupFlip, GroupRandomResizedCrop,
                      GroupResize, GroupRotate)
from .description import TokenizeDescription, with_description
from .face_maps import LoadFaceMaps, RenderFaceMaps, with_face_maps
from .formatting import PackDFERInputs
from .loading import DecodeFrames
from .sampling import SampleFrameIndices, segment_indices

__all__ = [
    'DecodeFrames', 'GroupBrightness', 'GroupFlip', 'GroupRandomResizedCrop',
    'GroupResize', 'GroupRotate', 'LoadFaceMaps', 'PackDFERInputs',
    'RenderFaceMaps', 'SampleFrameIndices',
    'segment_indices', 'TokenizeDescription', 'with_description',
    'with_face_maps'
]
