"""What every face analyser provides to ``tools/data/extract_face_maps.py``."""
from typing import Dict

import numpy as np


class BaseFaceAnalyzer:
    """Turns a batch of video frames into landmarks and parsing maps.

    Subclasses implement :meth:`analyze`; the extraction tool feeds frames in
    batches of ``batch_size`` and writes one file per clip (format:
    :mod:`fineclip.datasets.face_maps`).

    Args:
        parsing_size (int): Side ``S`` of the parsing maps returned.
        batch_size (int): Frames per :meth:`analyze` call.
    """

    def __init__(self, parsing_size: int = 224, batch_size: int = 16):
        if parsing_size < 1 or batch_size < 1:
            raise ValueError('parsing_size and batch_size must be >= 1, got '
                             f'{parsing_size} and {batch_size}')
        self.parsing_size = parsing_size
        self.batch_size = batch_size

    def reset(self) -> None:
        """Called before each clip: analysers that track a face from frame
        to frame forget the previous clip here. Nothing by default."""

    def analyze(self, frames: np.ndarray) -> Dict[str, np.ndarray]:
        """Analyses frames of one clip.

        Args:
            frames: ``(N, H, W, 3)`` uint8 RGB frames.

        Returns:
            dict: ``landmarks`` ``(N, 68, 2)`` float32 iBUG-68 points
            normalised to the frame (``x / W``, ``y / H``), ``face_found``
            ``(N,)`` bool and ``parsing`` ``(N, S, S)`` uint8 LaPa labels
            covering the whole frame. Values for frames without a face are
            arbitrary; the tool fills them from the nearest frame with one.
        """
        raise NotImplementedError
