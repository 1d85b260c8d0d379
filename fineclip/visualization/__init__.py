"""Figures: leaf utilities that draw from plain arrays."""
from .confusion import plot_confusion_matrix
from .recall_bars import plot_per_class_recall

__all__ = ['plot_confusion_matrix', 'plot_per_class_recall']
