"""Which frames of a clip the model sees."""
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


@TRANSFORMS.register_module()
class SampleFrameIndices(BaseTransform):
    """Picks ``num_frames`` frame indices by segments (DFER-CLIP sampling).

    Reads ``total_frames``; writes ``frame_inds`` and ``num_frames``.

    Args:
        num_frames (int): Frames per clip (T), 16 in the paper.
        test_mode (bool): Middle of each segment instead of a random frame.
    """

    def __init__(self, num_frames: int = 16, test_mode: bool = False):
        if num_frames < 1:
            raise ValueError(f'num_frames must be >= 1, got {num_frames}')
        self.num_frames = num_frames
        self.test_mode = test_mode

    def transform(self, results: dict) -> dict:
        results['frame_inds'] = segment_indices(
            results['total_frames'], self.num_frames, not self.test_mode)
        results['num_frames'] = self.num_frames
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(num_frames={self.num_frames}, '
                f'test_mode={self.test_mode})')
