"""MTCNN (facenet-pytorch) as a registered face detector.

facenet-pytorch ships MTCNN's weights inside its wheel, so nothing is
downloaded at run time. 2.5.3 is pinned: 2.6.0 requires ``torch<2.3``.
"""
from collections import defaultdict
from typing import List, Sequence

import cv2
import numpy as np
import torch

from fineclip.registry import FACE_DETECTORS

from .base import BaseFaceDetector, empty_detections

INSTALL_COMMAND = 'pip install facenet-pytorch==2.5.3'


def _load_mtcnn_class():
    """Imports facenet-pytorch's MTCNN, explaining a failure."""
    try:
        from facenet_pytorch import MTCNN
    except ImportError as err:
        raise ImportError(
            "MTCNNFaceDetector needs facenet-pytorch 2.5.3: pip install -e "
            f"'.[infer]' (or {INSTALL_COMMAND}); 2.6.0 pins torch<2.3."
        ) from err
    return MTCNN


@FACE_DETECTORS.register_module()
class MTCNNFaceDetector(BaseFaceDetector):
    """Multi-task cascaded CNN face detector (Zhang et al. 2016).

    Frames larger than ``max_side`` are shrunk before detection: MTCNN's
    cost grows with the image area, and a face big enough to recognise an
    expression on stays findable at 640 px. Boxes are returned in the
    original frame's pixels. Frames of one size are detected in one batch.

    Args:
        min_face_size (int): Smallest face searched for, in pixels of the
            (shrunk) detection image; smaller values add pyramid levels and
            cost time (20 is MTCNN's default, about 3x slower than 40).
        thresholds (Sequence[float]): Score thresholds of the three stages.
        max_side (int): Longest image side MTCNN sees (0: never shrink).
        batch_size (int): Frames per batch.
        device (str): ``'cpu'`` or ``'cuda'``.
    """

    def __init__(self,
                 min_face_size: int = 40,
                 thresholds: Sequence[float] = (0.6, 0.7, 0.7),
                 max_side: int = 640,
                 batch_size: int = 16,
                 device: str = 'cpu'):
        super().__init__(batch_size)
        if min_face_size < 12:
            # MTCNN's first stage has a 12-pixel receptive field.
            raise ValueError(f'min_face_size must be >= 12, got '
                             f'{min_face_size}')
        if max_side < 0:
            raise ValueError(f'max_side must be >= 0, got {max_side}')
        if len(thresholds) != 3:
            raise ValueError('thresholds must give the three stages, got '
                             f'{tuple(thresholds)}')
        mtcnn_class = _load_mtcnn_class()
        self.max_side = max_side
        self.device = torch.device(device)
        # keep_all: every face, not only the best; tracking picks one.
        self._mtcnn = mtcnn_class(min_face_size=min_face_size,
                                  thresholds=list(thresholds),
                                  keep_all=True, select_largest=False,
                                  device=self.device)

    def detect_batch(self, frames: List[np.ndarray]) -> List[np.ndarray]:
        """Detects faces (see :meth:`BaseFaceDetector.detect`)."""
        out = [empty_detections()] * len(frames)
        by_shape = defaultdict(list)
        for i, frame in enumerate(frames):
            by_shape[frame.shape].append(i)
        for (h, w, _), members in by_shape.items():
            scale = 1.0
            if self.max_side and max(h, w) > self.max_side:
                scale = self.max_side / max(h, w)
            size = (max(1, round(w * scale)), max(1, round(h * scale)))
            batch = np.stack([
                cv2.resize(frames[i], size, interpolation=cv2.INTER_AREA)
                if scale != 1.0 else frames[i] for i in members
            ])
            # the exact scale per axis after rounding the size
            factor = np.array([w / size[0], h / size[1]] * 2, np.float32)
            with torch.no_grad():
                boxes, probs = self._mtcnn.detect(batch)
            for i, box, prob in zip(members, boxes, probs):
                if box is None or len(box) == 0:
                    continue
                box = np.asarray(box, np.float32).reshape(-1, 4) * factor
                prob = np.asarray(prob, np.float32).reshape(-1, 1)
                out[i] = np.concatenate([box, prob], axis=1)
        return out
