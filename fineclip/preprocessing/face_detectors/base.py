"""What every face detector provides to :mod:`fineclip.apis.inference`."""
from typing import List, Sequence, Union

import numpy as np

Frames = Union[np.ndarray, Sequence[np.ndarray]]


def empty_detections() -> np.ndarray:
    """A frame without faces: a ``(0, 5)`` float32 array."""
    return np.zeros((0, 5), np.float32)


class BaseFaceDetector:
    """Finds every face in a batch of frames.

    Subclasses implement :meth:`detect_batch`; :meth:`detect` checks the
    frames and cuts them into batches of ``batch_size``. Tracking one face
    through a video is left to :func:`~.tracking.track_faces`, so any
    detector can be swapped in (``FACE_DETECTORS`` registry).

    Args:
        batch_size (int): Frames per :meth:`detect_batch` call.
    """

    def __init__(self, batch_size: int = 16):
        if batch_size < 1:
            raise ValueError(f'batch_size must be >= 1, got {batch_size}')
        self.batch_size = batch_size

    def detect(self, frames: Frames) -> List[np.ndarray]:
        """Detects faces in frames.

        Args:
            frames: ``(N, H, W, 3)`` uint8 RGB array, or a sequence of
                ``(H, W, 3)`` RGB frames (sizes may differ).

        Returns:
            One ``(K, 5)`` float32 array per frame: ``x1, y1, x2, y2`` in
            the frame's pixels (``x2``/``y2`` exclusive) and a confidence in
            ``[0, 1]``; ``K`` may be 0.
        """
        frames = list(frames)
        for frame in frames:
            if frame.ndim != 3 or frame.shape[-1] != 3:
                raise ValueError('frames must be (H, W, 3) RGB, got shape '
                                 f'{frame.shape}')
        out = []
        for start in range(0, len(frames), self.batch_size):
            batch = frames[start:start + self.batch_size]
            found = self.detect_batch(batch)
            if len(found) != len(batch):
                raise RuntimeError(f'{type(self).__name__} returned '
                                   f'{len(found)} results for {len(batch)} '
                                   'frames')
            out.extend(np.asarray(f, np.float32).reshape(-1, 5)
                       for f in found)
        return out

    def detect_batch(self, frames: List[np.ndarray]) -> List[np.ndarray]:
        """Detects faces in at most ``batch_size`` frames (see
        :meth:`detect`); what subclasses implement."""
        raise NotImplementedError
