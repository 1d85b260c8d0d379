"""Figures: leaf utilities that draw from plain arrays."""
from .confusion import plot_confusion_matrix

__all__ = ['plot_confusion_matrix']
