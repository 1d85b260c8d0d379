"""Batch assembly, normalisation and device transfer."""
from .dfer_data_preprocessor import DFERDataPreprocessor

__all__ = ['DFERDataPreprocessor']
