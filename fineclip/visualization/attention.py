"""Attention-map overlay on a clip's frames (FineCLIPER paper, Fig 6)."""
from typing import Optional, Sequence

import numpy as np


def upsample_map(grid_map: np.ndarray, height: int,
                 width: int) -> np.ndarray:
    """Bilinear upsampling of a ``(gh, gw)`` patch map to the frame size.

    Each patch value sits at its patch's centre (``align_corners=False``),
    so the map stays aligned with the pixels it was computed from.
    """
    import torch
    import torch.nn.functional as F
    tensor = torch.as_tensor(np.asarray(grid_map, dtype=np.float32))
    up = F.interpolate(tensor[None, None], size=(height, width),
                       mode='bilinear', align_corners=False)
    return up[0, 0].numpy()


def plot_attention_overlay(frames: np.ndarray, maps: np.ndarray,
                           out_file: str,
                           frame_titles: Optional[Sequence[str]] = None,
                           title: str = '', alpha: float = 0.5) -> str:
    """Writes the frames (top row) and the attention over them (bottom row)
    as a PNG, one column per frame.

    Args:
        frames: ``(T, H, W, 3)`` uint8 RGB frames.
        maps: ``(T, gh, gw)`` non-negative attention over the patch grid.
            They share one colour scale (0 to the clip's largest value), so
            frames can be compared.
        out_file: PNG path.
        frame_titles: One caption per frame (e.g. the frame index).
        title: Figure title.
        alpha: Opacity of the heat map over the frame.

    Returns:
        str: ``out_file``.
    """
    from matplotlib.figure import Figure

    frames, maps = np.asarray(frames), np.asarray(maps, dtype=float)
    if len(frames) != len(maps):
        raise ValueError(f'{len(frames)} frames but {len(maps)} maps')
    t, h, w = frames.shape[:3]
    vmax = max(float(maps.max()), 1e-12)
    # Constrained layout: the colour bar takes the same room from both
    # rows, so each overlay stays the size of the frame above it.
    fig = Figure(layout='constrained', figsize=(1.0 + 1.6 * t, 3.9))
    axes = fig.subplots(2, t, squeeze=False)
    for i in range(t):
        top, bottom = axes[0, i], axes[1, i]
        top.imshow(frames[i])
        bottom.imshow(frames[i])
        # The same extent as the frame: pixel edges line up.
        im = bottom.imshow(upsample_map(maps[i], h, w), cmap='jet',
                           alpha=alpha, vmin=0, vmax=vmax,
                           extent=(-0.5, w - 0.5, h - 0.5, -0.5))
        if frame_titles is not None:
            top.set_title(frame_titles[i], fontsize=8)
        for ax in (top, bottom):
            ax.set_xticks([])
            ax.set_yticks([])
    axes[0, 0].set_ylabel('frame', fontsize=8)
    axes[1, 0].set_ylabel('attention', fontsize=8)
    fig.colorbar(im, ax=axes.ravel().tolist(), fraction=0.02, pad=0.01,
                 shrink=0.5, anchor=(0, 0), label='attention')
    # The maps are a coarse token grid smoothed to the frame: say so, so
    # that nobody reads the smooth blobs as pixel-level attention.
    grid = (f'attention over a {maps.shape[1]}x{maps.shape[2]} patch-token '
            f'grid, bilinearly upsampled to {h}x{w} px')
    fig.suptitle(f'{title}\n{grid}' if title else grid, fontsize=9)
    fig.savefig(out_file, dpi=120, bbox_inches='tight')
    return out_file
