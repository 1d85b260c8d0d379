"""Training-curve figure: one subplot per group of logged scalars."""
from typing import Dict, Optional, Sequence, Tuple

import numpy as np

Curve = Tuple[np.ndarray, np.ndarray]
MARKERS = ('o', 's', '^', 'D', 'v', 'P', 'X')
LINESTYLES = ('-', '--', '-.', ':')
#: Smallest y-range of a panel of metrics in [0, 1] (UAR, WAR, recall,
#: fusion weights): matplotlib would zoom two close values to fill the
#: panel, and a change of 0.01 would look like a collapse.
MIN_METRIC_SPAN = 0.2
#: Below this many points a panel says so: a line through two validations
#: says little about the course of training.
FEW_POINTS = 3


def metric_ylim(values: np.ndarray) -> Optional[Tuple[float, float]]:
    """A y-range of at least :data:`MIN_METRIC_SPAN` inside ``[0, 1]``
    around ``values``, or ``None`` when they are not all in ``[0, 1]`` (a
    loss, a learning rate: the automatic range is right) or already span
    that much."""
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    if not len(values) or values.min() < 0 or values.max() > 1:
        return None
    lo, hi = float(values.min()), float(values.max())
    if hi - lo >= MIN_METRIC_SPAN:
        return None
    middle = (lo + hi) / 2
    lo = min(max(0.0, middle - MIN_METRIC_SPAN / 2), 1 - MIN_METRIC_SPAN)
    return lo - 0.01, lo + MIN_METRIC_SPAN + 0.01


def few_points_note(curves: Dict[str, Curve]) -> Optional[str]:
    """What a panel of validation curves should say when it has fewer than
    :data:`FEW_POINTS` points (``None`` otherwise)."""
    most = max((len(xs) for xs, _ in curves.values()), default=0)
    if most >= FEW_POINTS:
        return None
    return (f'only {most} point{"s" if most != 1 else ""}: validate more '
            'often (train_cfg.val_interval) for a curve')


def legend_labels(curves: Dict[str, Curve]) -> Dict[str, str]:
    """Each curve's legend entry; a curve equal to one before it lies under
    that one, so its entry says so (``'WAR (= UAR)'`` on a balanced set)."""
    labels, seen = {}, []
    for key, (xs, ys) in curves.items():
        same = next((k for k, (x0, y0) in seen if len(x0) == len(xs)
                     and np.array_equal(x0, xs) and np.allclose(y0, ys)),
                    None)
        labels[key] = key if same is None else f'{key} (= {same})'
        seen.append((key, (xs, ys)))
    return labels


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
        labels = legend_labels(curves)
        for i, (key, (xs, ys)) in enumerate(curves.items()):
            # Few points (validation every few epochs) get markers, which a
            # bare line would hide; markers and dashes differ per curve so
            # equal curves (UAR = WAR on a balanced set) stay visible.
            marker = MARKERS[i % len(MARKERS)] if len(xs) <= 30 else None
            ax.plot(xs, ys, marker=marker, markersize=4, linewidth=1.2,
                    linestyle=LINESTYLES[i % len(LINESTYLES)],
                    markerfacecolor='none' if i % 2 else None,
                    label=labels[key])
        ax.set_title(name, fontsize=10)
        ax.set_xlabel(x_label)
        # Steps and epochs are whole numbers; a lone point (one
        # validation) gets room around it instead of a 0.1-wide axis.
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        xs_all = np.concatenate([xs for xs, _ in curves.values()])
        if len(xs_all) and xs_all.min() == xs_all.max():
            ax.set_xlim(xs_all[0] - 1, xs_all[0] + 1)
        ys_all = np.concatenate([ys for _, ys in curves.values()])
        ylim = metric_ylim(ys_all)
        if ylim is not None:
            ax.set_ylim(*ylim)
        note = few_points_note(curves) if x_label == 'epoch' or \
            name.startswith('validation') else None
        if note:
            ax.text(0.99, 0.03, note, transform=ax.transAxes, ha='right',
                    va='bottom', fontsize=7, color='0.35')
        ax.grid(alpha=0.3)
        # Outside the axes: a legend inside hides some of up to a dozen
        # curves (per-branch UAR, per-class recall).
        ax.legend(fontsize=7 if len(curves) > 6 else 8, loc='upper left',
                  bbox_to_anchor=(1.01, 1.0), borderaxespad=0)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.savefig(out_file, dpi=120, bbox_inches='tight')
    return out_file
