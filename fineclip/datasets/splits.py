"""Stratified splits: every split tool of the package draws through these
two functions, so folds and hold-outs follow one rule.

Both take the random generator from the caller (``np.random.Generator`` or
the legacy ``RandomState``: only ``permutation`` is used), which keeps each
caller's stream, and so its outputs, as they were.
"""
from typing import Iterable, Optional

import numpy as np


def _class_members(labels: np.ndarray, rng, classes: Optional[Iterable]):
    """Each class's sample indices, shuffled, class by class in order."""
    for label in (np.unique(labels) if classes is None else classes):
        yield rng.permutation(np.flatnonzero(labels == label))


def stratified_folds(labels, num_folds: int, rng,
                     classes: Optional[Iterable] = None) -> np.ndarray:
    """Fold index (``0..num_folds-1``) per sample.

    Each class's samples are shuffled and dealt round-robin over the folds,
    the deal continuing where the previous class stopped, so every fold
    holds each class within one sample and the fold sizes differ by at
    most one.

    Args:
        labels: ``(N,)`` class per sample.
        num_folds: Number of folds.
        rng: Source of the shuffles (``permutation``).
        classes: Class order of the deal (default: the sorted labels).

    Returns:
        np.ndarray: ``(N,)`` int64 fold indices.
    """
    labels = np.asarray(labels)
    folds = np.empty(len(labels), np.int64)
    offset = 0
    for members in _class_members(labels, rng, classes):
        folds[members] = (offset + np.arange(len(members))) % num_folds
        offset += len(members)
    return folds


def stratified_holdout(labels, fraction: float, rng,
                       classes: Optional[Iterable] = None,
                       keep_both_sides: bool = False) -> np.ndarray:
    """Which samples a stratified hold-out sets aside.

    Per class, ``round(fraction * n)`` of its shuffled samples are held
    out.

    Args:
        labels: ``(N,)`` class per sample.
        fraction: Share of each class to hold out.
        rng: Source of the shuffles (``permutation``).
        classes: Class order of the draws (default: the sorted labels).
        keep_both_sides: Hold out at least one sample of each class and
            never all of them (a test split that sees every class).

    Returns:
        np.ndarray: ``(N,)`` bool, True where held out.
    """
    labels = np.asarray(labels)
    held_out = np.zeros(len(labels), bool)
    for members in _class_members(labels, rng, classes):
        count = int(round(fraction * len(members)))
        if keep_both_sides:
            count = int(np.clip(count, 1, len(members) - 1))
        held_out[members[:count]] = True
    return held_out
