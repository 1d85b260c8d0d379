"""Batch assembly, normalisation and device transfer."""
from .dfer_data_preprocessor import DEFAULT_IMAGE_KEYS, DFERDataPreprocessor

__all__ = ['DEFAULT_IMAGE_KEYS', 'DFERDataPreprocessor']
