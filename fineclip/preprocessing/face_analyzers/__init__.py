"""Face analysers: frames in, iBUG-68 landmarks and LaPa parsing maps out."""
from .base import BaseFaceAnalyzer

__all__ = ['BaseFaceAnalyzer']
