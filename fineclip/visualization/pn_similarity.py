"""Per-class PN similarity figure (FineCLIPER paper, Fig 5)."""
from typing import Optional, Sequence

import numpy as np

POSITIVE_COLOR = '#2ca02c'
NEGATIVE_COLOR = '#d62728'


def plot_pn_similarity(class_names: Sequence[str],
                       positive: Sequence[Sequence[float]],
                       negative: Optional[Sequence[Sequence[float]]],
                       out_file: str, title: str = '',
                       style: str = 'bar') -> str:
    """Writes, per class, the clips' cosine similarity with the class's
    positive (green) and negative (red) prompt as a PNG.

    Args:
        class_names: The C class names.
        positive: Per class, the similarities of its clips with its
            positive prompt.
        negative: The same with its negative prompt; ``None`` draws the
            positive side only (a model without negative prompts).
        out_file: PNG path.
        title: Figure title.
        style: ``'bar'`` (mean with std error bars, clips as dots) or
            ``'box'`` (quartile boxes).

    Returns:
        str: ``out_file``.
    """
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    if style not in ('bar', 'box'):
        raise ValueError(f"style must be 'bar' or 'box', got '{style}'")
    sides = [('positive', positive, POSITIVE_COLOR)]
    if negative is not None:
        sides.append(('negative', negative, NEGATIVE_COLOR))
    n = len(class_names)
    width = 0.8 / len(sides)
    fig = Figure(figsize=(1.6 + 0.95 * n, 3.8))
    ax = fig.subplots()
    rng = np.random.default_rng(0)  # jitter of the dots, reproducible
    for k, (label, values, color) in enumerate(sides):
        centers = np.arange(n) + (k - (len(sides) - 1) / 2) * width
        values = [np.asarray(v, dtype=float) for v in values]
        if style == 'box':
            kept = [(c, v) for c, v in zip(centers, values) if len(v)]
            if kept:
                ax.boxplot([v for _, v in kept],
                           positions=[c for c, _ in kept],
                           widths=width * 0.85, patch_artist=True,
                           showfliers=True,
                           boxprops=dict(facecolor=color, alpha=0.6),
                           medianprops=dict(color='black'),
                           flierprops=dict(markersize=3))
            continue
        means = [v.mean() if len(v) else np.nan for v in values]
        stds = [v.std() if len(v) else 0. for v in values]
        ax.bar(centers, means, width * 0.9, yerr=stds, capsize=3,
               color=color, alpha=0.75, label=label)
        for c, v in zip(centers, values):
            ax.scatter(c + rng.uniform(-width / 4, width / 4, len(v)), v,
                       s=6, color='black', alpha=0.5, linewidths=0,
                       zorder=3)
    ax.axhline(0, color='grey', linewidth=0.8)
    ax.set_xticks(range(n), class_names, rotation=30, ha='right')
    ax.set_xlim(-0.6, n - 0.4)
    ax.set_ylabel('cosine similarity with\nthe class\'s prompt')
    ax.legend(handles=[Patch(color=c, alpha=0.75, label=f'{lab} prompt')
                       for lab, _, c in sides], fontsize=8, loc='best')
    ax.grid(axis='y', alpha=0.3)
    if title:
        ax.set_title(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(out_file, dpi=120)
    return out_file
