"""Face analysers: frames in, iBUG-68 landmarks and LaPa parsing maps out."""
from .base import BaseFaceAnalyzer
from .facexformer import FaceXFormer, FaceXFormerAnalyzer

__all__ = ['BaseFaceAnalyzer', 'FaceXFormer', 'FaceXFormerAnalyzer']
