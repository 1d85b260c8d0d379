"""Which frames of a clip the model sees.

Two rules, chosen by ``SampleFrameIndices(rule=...)``:

- ``'segments'`` (FineCLIP's, the default): T equal segments of the clip;
  the middle frame of each for testing, a random frame of each for
  training (:func:`segment_indices`).
- ``'dfer_clip'`` (the official DFER-CLIP code's, which its configs use):
  at test time frame ``int(tick / 2 + tick * i)`` with ``tick = n / T``;
  for training a random offset below ``n // T`` added to ``i * (n // T)``,
  one draw of ``np.random.randint`` for all T (so equal indices for an
  equal NumPy seed) (:func:`dfer_clip_indices`).

Both give all frames, then the last one repeated, to a clip of at most T
frames. The rules differ for most lengths (the middle of a segment is
rounded differently: 276 of the lengths 1-300 at test time), see
docs/baselines_dfer_clip.md.
"""
import numpy as np
from mmcv.transforms import BaseTransform

from fineclip.registry import TRANSFORMS


def segment_indices(total: int, num_frames: int, random: bool) -> np.ndarray:
    """TSN-style frame indices: one per equal segment of the clip.

    Args:
        total (int): Frames in the clip.
        num_frames (int): Frames to sample (T).
        random (bool): A random frame in each segment (training) or the
            segment's middle frame (testing).

    Returns:
        np.ndarray: ``(T,)`` int indices in ``[0, total)``, non-decreasing.
        A clip with fewer than T frames yields all of its frames, then
        repeats the last one (edge padding).
    """
    if total < 1:
        raise ValueError('Cannot sample frames from an empty clip.')
    if total < num_frames:
        return np.minimum(np.arange(num_frames), total - 1)
    edges = np.linspace(0, total, num_frames + 1)
    starts = np.floor(edges[:-1]).astype(int)
    ends = np.maximum(np.floor(edges[1:]).astype(int), starts + 1)
    if random:
        return np.random.randint(starts, ends)
    return (starts + ends - 1) // 2


def dfer_clip_indices(total: int, num_frames: int,
                      random: bool) -> np.ndarray:
    """The official DFER-CLIP frame indices (its data loader's rule).

    Args:
        total (int): Frames in the clip (n).
        num_frames (int): Frames to sample (T).
        random (bool): The training rule (a random frame in each of T
            segments of ``n // T`` frames, the frames past ``T * (n // T)``
            never drawn) instead of the test rule (frame
            ``int(tick / 2 + tick * i)``, ``tick = n / T``, for n > T).

    Returns:
        np.ndarray: ``(T,)`` int indices in ``[0, total)``. A clip of at
        most T frames (below T for training) yields all of its frames, then
        repeats the last one.
    """
    if total < 1:
        raise ValueError('Cannot sample frames from an empty clip.')
    step = total // num_frames
    if random and step > 0:
        # one draw of T offsets, as the official loader draws them
        return (np.arange(num_frames) * step
                + np.random.randint(step, size=num_frames))
    if not random and total > num_frames:
        tick = total / float(num_frames)
        return np.array([int(tick / 2.0 + tick * i)
                         for i in range(num_frames)])
    return np.minimum(np.arange(num_frames), total - 1)


#: ``SampleFrameIndices.rule`` -> the function that computes the indices.
SAMPLING_RULES = {'segments': segment_indices, 'dfer_clip': dfer_clip_indices}


@TRANSFORMS.register_module()
class SampleFrameIndices(BaseTransform):
    """Picks ``num_frames`` frame indices, one per segment of the clip.

    Reads ``total_frames``; writes ``frame_inds`` and ``num_frames``.

    Args:
        num_frames (int): Frames per clip (T), 16 in the paper.
        test_mode (bool): The deterministic test rule instead of a random
            frame per segment.
        rule (str): ``'segments'`` (FineCLIP's, :func:`segment_indices`)
            or ``'dfer_clip'`` (the official DFER-CLIP code's,
            :func:`dfer_clip_indices`).
    """

    def __init__(self, num_frames: int = 16, test_mode: bool = False,
                 rule: str = 'segments'):
        if num_frames < 1:
            raise ValueError(f'num_frames must be >= 1, got {num_frames}')
        if rule not in SAMPLING_RULES:
            raise ValueError(f"SampleFrameIndices: rule '{rule}' is not one "
                             f'of {sorted(SAMPLING_RULES)}')
        self.num_frames = num_frames
        self.test_mode = test_mode
        self.rule = rule

    def transform(self, results: dict) -> dict:
        results['frame_inds'] = SAMPLING_RULES[self.rule](
            results['total_frames'], self.num_frames, not self.test_mode)
        results['num_frames'] = self.num_frames
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(num_frames={self.num_frames}, '
                f'test_mode={self.test_mode}, rule={self.rule!r})')
