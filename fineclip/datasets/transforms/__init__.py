"""Data transforms: sampling, decoding, group augmentation, packing."""
from .augment import (GroupBrightness, GroupFlip, GroupRandomResizedCrop,
                      GroupResize, GroupRotate)
from .formatting import PackDFERInputs
from .loading import DecodeFrames
from .sampling import SampleFrameIndices, segment_indices

__all__ = [
    'DecodeFrames', 'GroupBrightness', 'GroupFlip', 'GroupRandomResizedCrop',
    'GroupResize', 'GroupRotate', 'PackDFERInputs', 'SampleFrameIndices',
    'segment_indices'
]
