"""Training-curve figure: one subplot per group of logged scalars."""
from typing import Dict, Sequence, Tuple

import numpy as np

Curve = Tuple[np.ndarray, np.ndarray]
MARKERS = ('o', 's', '^', 'D', 'v', 'P', 'X')
LINESTYLES = ('-', '--', '-.', ':')


def plot_curves(groups: Sequence[Tuple[str, str, Dict[str, Curve]]],
                out_file: str, title: str = '') -> str:
    """Writes a column of line plots as a PNG.

    Args:
        groups: ``(subplot title, x label, {name: (xs, ys)})`` per subplot.
        out_file: PNG path.
        title: Figure title (the run it shows is a good choice).

    Returns:
        str: ``out_file``.
    """
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    if not groups:
        raise ValueError('No curves to plot.')
    # Constrained layout keeps the suptitle and outside legends clear.
    fig = Figure(layout='constrained',
                 figsize=(7.5, 1.0 + 2.6 * len(groups)))
    axes = fig.subplots(len(groups), 1, squeeze=False)
    for ax, (name, x_label, curves) in zip(axes[:, 0], groups):
        for i, (key, (xs, ys)) in enumerate(curves.items()):
            # Few points (validation every few epochs) get markers, which a
            # bare line would hide; markers and dashes differ per curve so
            # equal curves (UAR = WAR on a balanced set) stay visible.
            marker = MARKERS[i % len(MARKERS)] if len(xs) <= 30 else None
            ax.plot(xs, ys, marker=marker, markersize=4, linewidth=1.2,
                    linestyle=LINESTYLES[i % len(LINESTYLES)],
                    markerfacecolor='none' if i % 2 else None, label=key)
        ax.set_title(name, fontsize=10)
        ax.set_xlabel(x_label)
        # Steps and epochs are whole numbers; a lone point (one
        # validation) gets room around it instead of a 0.1-wide axis.
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        xs_all = np.concatenate([xs for xs, _ in curves.values()])
        if len(xs_all) and xs_all.min() == xs_all.max():
            ax.set_xlim(xs_all[0] - 1, xs_all[0] + 1)
        ax.grid(alpha=0.3)
        # Outside the axes: a legend inside hides some of up to a dozen
        # curves (per-branch UAR, per-class recall).
        ax.legend(fontsize=7 if len(curves) > 6 else 8, loc='upper left',
                  bbox_to_anchor=(1.01, 1.0), borderaxespad=0)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.savefig(out_file, dpi=120, bbox_inches='tight')
    return out_file
