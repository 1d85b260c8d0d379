"""Face analysers: frames in, iBUG-68 landmarks and LaPa parsing maps out."""
from .base import BaseFaceAnalyzer
from .facexformer import FaceXFormer, FaceXFormerAnalyzer
from .mediapipe_mesh import MediaPipeFaceAnalyzer

__all__ = [
    'BaseFaceAnalyzer', 'FaceXFormer', 'FaceXFormerAnalyzer',
    'MediaPipeFaceAnalyzer'
]
