"""Metrics for DFER."""
from .dfer_metric import DFERMetric, confusion_matrix, uar_war

__all__ = ['DFERMetric', 'confusion_matrix', 'uar_war']
