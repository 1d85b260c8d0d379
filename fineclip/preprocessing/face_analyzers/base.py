"""What every face analyser provides to ``tools/data/extract_face_maps.py``."""
from typing import Any, Callable, Dict, Optional

import numpy as np


class BaseFaceAnalyzer:
    """Turns a batch of video frames into landmarks and parsing maps.

    Subclasses implement :meth:`analyze`; the extraction tool feeds frames in
    batches of ``batch_size`` and writes one file per clip (format:
    :mod:`fineclip.datasets.face_maps`). An analyser whose per-frame CPU
    work (cropping, resizing) need not wait for the network can hand it to
    the extraction's loader workers through :meth:`batch_preparer` and
    :meth:`analyze_prepared`.

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

    def batch_preparer(self) -> Optional[Callable[[np.ndarray], Any]]:
        """CPU work on a batch of decoded frames that may run in another
        process, ahead of the analysis.

        The extraction's loader workers decode each clip and, if this
        returns a callable, apply it to every batch of ``batch_size``
        frames; :meth:`analyze_prepared` then gets its result, in frame
        order. The callable must be small, picklable and independent of
        the analyser's state (it runs in the workers, on copies). Default:
        None, the workers only decode and :meth:`analyze` gets the frames.
        """
        return None

    def analyze_prepared(self, prepared: Any) -> Dict[str, np.ndarray]:
        """:meth:`analyze` on what :meth:`batch_preparer`'s callable made
        of a batch (the frames themselves by default)."""
        return self.analyze(prepared)
