"""EmoCLIP's frame sampling: temporal down-sampling, then a window of
``clip_len`` consecutive kept frames.

Facts from the official code (github.com/NickyFot/EmoCLIP,
``DataLoaders/utils.py``: ``TemporalDownSample`` then
``RandomSequence(on_load=True)``, used for training *and* testing):

1. keep frames ``0, f, 2f, ...`` (``f`` the down-sampling factor: 2 for
   MAFW training, 4 for the DFEW and FERV39k zero-shot tests);
2. draw a start ``s`` uniformly among the ``m`` kept frames and take
   ``clip_len`` of them from there, wrapping around to the first kept frame
   past the end;
3. a clip still shorter than ``clip_len`` (``m`` small) is padded at the end
   by mirroring (numpy's ``'reflect'``: the last frame is not repeated).

The official test also draws a random start; FineCLIP's ``test_mode``
starts at the first kept frame instead, so a test is repeatable (set
``test_mode=False`` in the test pipeline to draw as the official code does).
"""
import numpy as np
from mmcv.transforms import BaseTransform

from fineclip.registry import TRANSFORMS


def emoclip_indices(total: int, clip_len: int, downsample: int,
                    start: int = None) -> np.ndarray:
    """Frame indices of one EmoCLIP clip.

    Args:
        total (int): Frames in the clip.
        clip_len (int): Frames to return.
        downsample (int): Keep every ``downsample``-th frame.
        start (int, optional): Position of the window among the kept
            frames; ``None`` draws it uniformly.

    Returns:
        np.ndarray: ``(clip_len,)`` int indices in ``[0, total)``.
    """
    if total < 1:
        raise ValueError('Cannot sample frames from an empty clip.')
    kept = np.arange(0, total, downsample)
    m = len(kept)
    if start is None:
        start = np.random.randint(m)
    if not 0 <= start < m:
        raise ValueError(f'start must be in [0, {m}), got {start}')
    end = start + clip_len
    if end < m:
        window = kept[start:end]
    else:
        # Wrap around; for m < clip_len this takes all kept frames once
        # more at most (the official code does not repeat further).
        window = np.concatenate([kept[start:], kept[:end - m]])
    if len(window) < clip_len:
        window = np.pad(window, (0, clip_len - len(window)), mode='reflect')
    return window.astype(np.int64)


@TRANSFORMS.register_module()
class EmoCLIPSampleFrames(BaseTransform):
    """Picks ``clip_len`` frames as EmoCLIP does (see the module docstring).

    Reads ``total_frames``; writes ``frame_inds`` and ``num_frames``, as
    ``SampleFrameIndices`` does, so ``DecodeFrames`` follows.

    Args:
        clip_len (int): Frames per clip (32).
        downsample (int): Temporal down-sampling factor (2 or 4).
        test_mode (bool): Start at the first kept frame instead of a random
            one.
    """

    def __init__(self, clip_len: int = 32, downsample: int = 2,
                 test_mode: bool = False):
        if clip_len < 1 or downsample < 1:
            raise ValueError(f'clip_len and downsample must be >= 1, got '
                             f'{clip_len} and {downsample}')
        self.clip_len = clip_len
        self.downsample = downsample
        self.test_mode = test_mode

    def transform(self, results: dict) -> dict:
        results['frame_inds'] = emoclip_indices(
            results['total_frames'], self.clip_len, self.downsample,
            start=0 if self.test_mode else None)
        results['num_frames'] = self.clip_len
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(clip_len={self.clip_len}, '
                f'downsample={self.downsample}, '
                f'test_mode={self.test_mode})')
