"""Figures: leaf utilities that draw from plain arrays.

Each draws on a ``matplotlib.figure.Figure`` of its own and saves it with
``Figure.savefig``: no pyplot, so neither the backend nor pyplot's list of
open figures changes under the caller (a notebook, a training run).
"""
from .confusion import plot_confusion_matrix
from .recall_bars import plot_per_class_recall

__all__ = ['plot_confusion_matrix', 'plot_per_class_recall']
