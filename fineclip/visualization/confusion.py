"""Confusion-matrix figure."""
from typing import Sequence

import numpy as np


def plot_confusion_matrix(matrix: Sequence[Sequence[int]],
                          class_names: Sequence[str], out_file: str,
                          title: str = '') -> str:
    """Writes a row-normalised confusion matrix with counts as a PNG.

    Args:
        matrix: ``(C, C)`` counts, rows are true classes.
        class_names: The C class names.
        out_file: PNG path.
        title: Figure title (UAR/WAR are a good choice).

    Returns:
        str: ``out_file``.
    """
    from matplotlib.figure import Figure

    counts = np.asarray(matrix, dtype=float)
    rows = counts.sum(axis=1, keepdims=True)
    normed = np.divide(counts, rows, out=np.zeros_like(counts), where=rows > 0)
    n = len(class_names)
    fig = Figure(figsize=(1.0 + 0.75 * n, 0.8 + 0.7 * n))
    ax = fig.subplots()
    im = ax.imshow(normed, cmap='Blues', vmin=0, vmax=1)
    ax.set_xticks(range(n), class_names, rotation=45, ha='right')
    ax.set_yticks(range(n), class_names)
    ax.set_xlabel('predicted')
    ax.set_ylabel('true')
    for i in range(n):
        for j in range(n):
            ax.text(j, i, f'{normed[i, j]:.2f}\n({int(counts[i, j])})',
                    ha='center', va='center', fontsize=7,
                    color='white' if normed[i, j] > 0.5 else 'black')
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04, label='recall')
    if title:
        ax.set_title(title)
    fig.tight_layout()
    fig.savefig(out_file, dpi=120)
    return out_file
