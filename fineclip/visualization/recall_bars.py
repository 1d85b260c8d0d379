"""Per-class recall bar chart."""
from typing import Sequence, Tuple


def plot_per_class_recall(rows: Sequence[Tuple[str, float, float]],
                          out_file: str, title: str = '') -> str:
    """Writes a bar chart of per-class recall (mean with std error bars).

    Args:
        rows: ``(class name, mean recall, std)`` per class, in [0, 1].
        out_file: PNG path.
        title: Figure title.

    Returns:
        str: ``out_file``.
    """
    from matplotlib.figure import Figure

    names = [r[0] for r in rows]
    means = [100 * r[1] for r in rows]
    stds = [100 * r[2] for r in rows]
    # One run has no spread to show: no error bars (and no promise of them).
    spread = any(s > 0 for s in stds)
    fig = Figure(figsize=(1.2 + 0.8 * len(rows), 3.6))
    ax = fig.subplots()
    bars = ax.bar(range(len(rows)), means, yerr=stds if spread else None,
                  capsize=4, color='#4c78a8')
    for bar, mean, std in zip(bars, means, stds):
        ax.text(bar.get_x() + bar.get_width() / 2, mean + std + 1.5,
                f'{mean:.1f}', ha='center', va='bottom', fontsize=8)
    ax.set_xticks(range(len(rows)), names, rotation=30, ha='right')
    ax.set_ylabel('recall (%), mean ± sample std' if spread else 'recall (%)')
    ax.set_ylim(0, max(110, max(m + s for m, s in zip(means, stds)) + 10))
    if title:
        ax.set_title(title)
    fig.tight_layout()
    fig.savefig(out_file, dpi=120)
    return out_file
