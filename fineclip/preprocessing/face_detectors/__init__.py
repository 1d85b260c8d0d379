"""Face detectors and face tracking for inference on a user's videos.

Detectors register in ``fineclip.registry.FACE_DETECTORS``;
:func:`track_faces` turns their per-frame boxes into one face track.
"""
from .base import BaseFaceDetector, empty_detections
from .mtcnn import MTCNNFaceDetector
from .tracking import (FaceTrack, box_iou, crop_square, gaussian_smooth,
                       square_boxes, track_faces)

__all__ = [
    'BaseFaceDetector', 'FaceTrack', 'MTCNNFaceDetector', 'box_iou',
    'crop_square', 'empty_detections', 'gaussian_smooth', 'square_boxes',
    'track_faces'
]
