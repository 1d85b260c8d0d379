"""Data containers shared by datasets, models and metrics."""
from .data_sample import DFERDataSample

__all__ = ['DFERDataSample']
