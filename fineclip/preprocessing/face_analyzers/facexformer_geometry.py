"""FaceXFormer input crops and the mapping of its outputs onto the frame.

The authors' inference crops the face (detector box grown by 50 %, clipped
to the image), resizes it to 224 x 224 (bicubic, PIL), scales it to [0, 1]
and normalises it with the ImageNet mean and std; landmarks come out in
[-1, 1] over the crop and parsing as 224 x 224 logits over the crop. The
crop and resize run on the CPU (in the extraction's loader workers, see
:class:`FaceXFormerCropper`); the normalisation and the resampling of the
label maps onto the frame grid are tensor operations that run where the
network does.
"""
from dataclasses import dataclass
from typing import Optional, Sequence, Tuple

import numpy as np
import torch
from PIL import Image
from torch import Tensor

INPUT_SIZE = 224
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
BOX_MARGIN = 0.5

Box = Tuple[int, int, int, int]
BoxLike = Sequence[float]


def expand_box(box: BoxLike, width: int, height: int,
               margin: float = BOX_MARGIN) -> Box:
    """Grows a face box as the authors' inference does, in integer pixels.

    The box grows by ``margin`` of its width and height (half on each side),
    is clipped to the frame and truncated to integers (the crop PIL makes).

    Args:
        box: ``(x0, y0, x1, y1)`` in pixels.
        width: Frame width.
        height: Frame height.
        margin: Fraction of the box size added.

    Returns:
        ``(x0, y0, x1, y1)`` integers with at least one pixel each way.
    """
    x0, y0, x1, y1 = (float(v) for v in box)
    dx, dy = (x1 - x0) * margin / 2, (y1 - y0) * margin / 2
    x0, y0 = int(max(0.0, x0 - dx)), int(max(0.0, y0 - dy))
    x1, y1 = int(min(width, x1 + dx)), int(min(height, y1 + dy))
    x0, y0 = min(x0, width - 1), min(y0, height - 1)
    return x0, y0, max(x1, x0 + 1), max(y1, y0 + 1)


def crop_and_resize(frame: np.ndarray, box: Box) -> np.ndarray:
    """The ``(224, 224, 3)`` uint8 face crop (PIL crop, bicubic resize, as
    the authors' torchvision transform on PIL images does)."""
    crop = Image.fromarray(frame).crop(box)
    return np.asarray(crop.resize((INPUT_SIZE, INPUT_SIZE), Image.BICUBIC))


def normalise(crops: Tensor) -> Tensor:
    """``(N, 224, 224, 3)`` uint8 crops -> ``(N, 3, 224, 224)`` float32
    network inputs: scaled to [0, 1], ImageNet mean and std, on the crops'
    device. Every operation is an element-wise float32 one whose result is
    correctly rounded, so the inputs equal those of the earlier numpy path;
    255 is a tensor on that device, not a Python number, because CUDA
    divides by a CPU scalar as a multiplication by its rounded reciprocal.
    """
    mean = torch.tensor(IMAGENET_MEAN, device=crops.device)
    std = torch.tensor(IMAGENET_STD, device=crops.device)
    scale = torch.full((), 255.0, device=crops.device)
    x = crops.to(torch.float32) / scale
    return ((x - mean) / std).permute(0, 3, 1, 2)


def crop_to_input(frame: np.ndarray, box: Box) -> Tensor:
    """One frame's ``(3, 224, 224)`` network input: crop, resize,
    normalise (:func:`crop_and_resize`, :func:`normalise`)."""
    crop = torch.from_numpy(crop_and_resize(frame, box).copy())
    return normalise(crop[None])[0]


def landmarks_to_frame(points: np.ndarray, boxes: Sequence[Box],
                       width: int, height: int) -> np.ndarray:
    """Maps crop landmarks in [-1, 1] to frame-normalised ``(x/W, y/H)``.

    -1 and 1 are the crop's outer edges (the authors de-normalise with
    ``align_corners=False``). Points are clipped to the frame, [0, 1].

    Args:
        points: ``(N, 68, 2)`` crop coordinates.
        boxes: The N integer crop boxes.
        width: Frame width.
        height: Frame height.
    """
    box = np.asarray(boxes, np.float64).reshape(-1, 1, 4)
    origin, size = box[..., :2], box[..., 2:] - box[..., :2]
    pixels = origin + (points.astype(np.float64) + 1) / 2 * size
    norm = pixels / np.array([width, height], np.float64)
    return np.clip(norm, 0.0, 1.0).astype(np.float32)


def frame_grid_cells(boxes: Sequence[Box], width: int, height: int,
                     size: int, crop_hw: Tuple[int, int]
                     ) -> Tuple[np.ndarray, np.ndarray]:
    """Which crop label cell lies under each cell of an S x S frame grid.

    Returns:
        ``rows`` ``(N, S)`` and ``cols`` ``(N, S)`` int64 crop cell indices
        under the grid's cell centres, -1 outside the crop.
    """
    centres = (np.arange(size) + 0.5) / size
    rows = np.stack([_cells(centres * height, y0, y1, crop_hw[0])
                     for _, y0, _, y1 in boxes])
    cols = np.stack([_cells(centres * width, x0, x1, crop_hw[1])
                     for x0, _, x1, _ in boxes])
    return rows, cols


def _cells(coords: np.ndarray, start: float, stop: float,
           cells: int) -> np.ndarray:
    """Crop cell index under each frame coordinate; -1 outside the crop."""
    idx = np.floor((coords - start) / (stop - start) * cells).astype(np.int64)
    return np.where((idx >= 0) & (idx < cells), idx, -1)


def parsing_to_frame(labels: np.ndarray, boxes: Sequence[Box], width: int,
                     height: int, size: int) -> np.ndarray:
    """Resamples crop label maps onto an S x S grid over the whole frame.

    Each output cell takes the crop label under its centre (nearest);
    cells outside the crop are background (0).

    Args:
        labels: ``(N, h, w)`` crop labels.
        boxes: The N integer crop boxes.
        width: Frame width.
        height: Frame height.
        size: Output side ``S``.

    Returns:
        ``(N, S, S)`` uint8 labels.
    """
    out = parsing_to_frame_tensor(torch.from_numpy(np.asarray(labels)),
                                  boxes, width, height, size)
    return out.numpy()


def parsing_to_frame_tensor(labels: Tensor, boxes: Sequence[Box],
                            width: int, height: int, size: int) -> Tensor:
    """:func:`parsing_to_frame` on a tensor, on the tensor's device: one
    gather for the whole batch (the indices are computed on the CPU in
    float64, so every device picks the same cells)."""
    if len(boxes) == 0:
        return torch.zeros((0, size, size), dtype=torch.uint8)
    rows, cols = frame_grid_cells(boxes, width, height, size,
                                  tuple(labels.shape[1:]))
    rows = torch.from_numpy(rows).to(labels.device)
    cols = torch.from_numpy(cols).to(labels.device)
    batch = torch.arange(len(boxes), device=labels.device)
    picked = labels[batch[:, None, None], rows.clamp(min=0)[:, :, None],
                    cols.clamp(min=0)[:, None, :]]
    inside = (rows >= 0)[:, :, None] & (cols >= 0)[:, None, :]
    return torch.where(inside, picked, 0).to(torch.uint8)


@dataclass
class PreparedBatch:
    """Frames of one batch made ready for FaceXFormer on the CPU.

    Attributes:
        crops: ``(N, 224, 224, 3)`` uint8 face crops, or None when a face
            detector still has to find the boxes (in the main process,
            where the detector runs).
        frames: The decoded frames when ``crops`` is None, else None.
        boxes: The N crop boxes (empty while detection is pending).
        found: ``(N,)`` bool, whether a face was found.
        frame_hw: The frames' ``(h, w)``.
    """

    crops: Optional[Tensor]
    frames: Optional[np.ndarray]
    boxes: list
    found: np.ndarray
    frame_hw: Tuple[int, int]


@dataclass
class FaceXFormerCropper:
    """Crops and resizes a batch of frames (the CPU half of FaceXFormer's
    pre-processing); small and stateless, so the extraction's loader
    workers run it (:meth:`BaseFaceAnalyzer.batch_preparer`).

    Args:
        whole_frame: The frames are face crops already (no detector): the
            whole frame is the crop. Otherwise only the frames are passed
            on and the analyser detects and crops.
    """

    whole_frame: bool = True

    def __call__(self, frames: np.ndarray) -> PreparedBatch:
        frames = np.asarray(frames)
        if frames.ndim != 4 or frames.shape[-1] != 3:
            raise ValueError('frames must be (N, H, W, 3), got '
                             f'{frames.shape}')
        n, h, w = frames.shape[:3]
        if not self.whole_frame:
            return PreparedBatch(None, frames, [], np.zeros(n, bool), (h, w))
        boxes = [(0, 0, w, h)] * n
        return PreparedBatch(crops_tensor(frames, boxes), None, boxes,
                             np.ones(n, bool), (h, w))


def crops_tensor(frames: np.ndarray, boxes: Sequence[Box]) -> Tensor:
    """``(N, 224, 224, 3)`` uint8 tensor of the frames' crops (a tensor, so
    a loader worker hands it over in shared memory)."""
    if len(boxes) == 0:
        return torch.zeros((0, INPUT_SIZE, INPUT_SIZE, 3), dtype=torch.uint8)
    return torch.from_numpy(np.stack([crop_and_resize(f, b)
                                      for f, b in zip(frames, boxes)]))
