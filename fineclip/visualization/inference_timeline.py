"""The figure of one inferred video (``tools/infer.py --show``): the face
crops the model saw, the top classes, and the class timeline of the
sliding windows."""
import math
import os
import os.path as osp
from typing import Optional, Sequence

import numpy as np


def plot_inference_timeline(crops: np.ndarray, crop_times: Sequence[float],
                            title: str, out_file: str,
                            class_names: Sequence[str] = (),
                            window_centres: Optional[Sequence[float]] = None,
                            window_probs: Optional[np.ndarray] = None,
                            duration: Optional[float] = None) -> str:
    """Writes the crops (with their times) and, given windows, the
    probability of each class over time as a PNG.

    Args:
        crops: ``(T, S, S, 3)`` uint8 RGB face crops.
        crop_times: Their times in seconds.
        title: Figure title (the video and its top classes).
        out_file: PNG path (its folder is made).
        class_names: The C class names (needed with windows).
        window_centres: Times in seconds of the windows' centres; ``None``
            or empty draws the crops only.
        window_probs: ``(W, C)`` probabilities of the windows.
        duration: The time axis' end in seconds (the video's length).

    Returns:
        str: ``out_file``.
    """
    import matplotlib
    from matplotlib.figure import Figure

    with_plot = window_centres is not None and len(window_centres) > 0
    num = len(crops)
    cols = min(num, 8)
    rows = math.ceil(num / cols)
    plot_rows = 1 if with_plot else 0
    width = max(1.7 * cols, 6.0 if plot_rows else 0.0)
    # A Figure of its own (no pyplot): no global backend or figure state.
    fig = Figure(figsize=(width, 2.0 * rows + 2.8 * plot_rows + 0.5),
                 layout='constrained')
    grid = fig.add_gridspec(rows + plot_rows, cols,
                            height_ratios=[1] * rows + [1.4] * plot_rows)
    for i, (crop, when) in enumerate(zip(crops, crop_times)):
        ax = fig.add_subplot(grid[i // cols, i % cols])
        ax.imshow(crop)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_xlabel(f'{when:.2f} s', fontsize=8)
    fig.suptitle(title, fontsize=11)
    if with_plot:
        ax = fig.add_subplot(grid[rows, :])
        probs = np.asarray(window_probs)
        cmap = matplotlib.colormaps['tab10' if len(class_names) <= 10
                                    else 'tab20']
        for c, name in enumerate(class_names):
            ax.plot(window_centres, probs[:, c], marker='o', markersize=3,
                    label=name, color=cmap(c % cmap.N))
        if duration is not None:
            ax.set_xlim(0, duration)
        ax.set_ylim(0, 1)
        ax.set_xlabel('time (s), at window centres')
        ax.set_ylabel('probability')
        ax.grid(alpha=0.3)
        # outside the axes: inside, it would hide the lines it names
        ax.legend(fontsize=7, loc='upper left', bbox_to_anchor=(1.01, 1))
    os.makedirs(osp.dirname(osp.abspath(out_file)), exist_ok=True)
    fig.savefig(out_file, dpi=100)
    return out_file
