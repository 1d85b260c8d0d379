"""One face through a video: association, gap filling, smoothing, crops.

A detector gives every face of every frame; :func:`track_faces` keeps one
of them per frame:

1. **Start** on the largest confident face of the first frame that has one.
2. **Continue** with the candidate that best continues the last accepted
   box: overlapping it (IoU) or, after a fast move or a few missed frames,
   close to it (centre distance in face sizes, growing with the gap) and of
   a similar size. Other faces are ignored.
3. **Re-acquire** the largest face when the tracked one has been missing
   for ``reacquire_after`` checked frames (it left, or the track was a
   false start); each such run of frames is a *segment*.
4. **Fill** frames without an accepted box: linearly between two boxes of
   one segment, by the nearest box elsewhere (before the first detection,
   after the last, and between segments, which may be different people).
5. **Smooth** each segment with a Gaussian over time: detector jitter of a
   few pixels would otherwise shake the crops the model sees. The series
   is extended point-symmetrically at its ends, so a face moving at
   constant speed is not pulled back there.
"""
from dataclasses import dataclass
from typing import Optional, Sequence

import cv2
import numpy as np


@dataclass
class FaceTrack:
    """The face followed through a clip; one entry per frame.

    Attributes:
        boxes: ``(T, 4)`` float32 ``x1, y1, x2, y2`` after filling and
            smoothing (what the crops use); all NaN when no face was found.
        detected: ``(T,)`` bool, a detection was accepted in the frame.
        raw_boxes: ``(T, 4)`` float32 accepted detections, NaN elsewhere.
        scores: ``(T,)`` float32 detector confidence, 0 where none.
        checked: ``(T,)`` bool, the detector looked at the frame (all
            frames unless detection skipped some).
        segment: ``(T,)`` int, which segment (start or re-acquisition) a
            detected frame belongs to, -1 elsewhere.
    """

    boxes: np.ndarray
    detected: np.ndarray
    raw_boxes: np.ndarray
    scores: np.ndarray
    checked: np.ndarray
    segment: np.ndarray

    @property
    def num_frames(self) -> int:
        return len(self.detected)

    @property
    def found(self) -> bool:
        """Whether any frame has an accepted face."""
        return bool(self.detected.any())

    @property
    def num_detected(self) -> int:
        return int(self.detected.sum())

    @property
    def num_checked(self) -> int:
        return int(self.checked.sum())

    def square_boxes(self, margin: float = 1.25) -> np.ndarray:
        """Square crop boxes around :attr:`boxes`.

        Args:
            margin: Side of the square over the face box's longer side.

        Returns:
            ``(T, 4)`` float32 ``x1, y1, x2, y2``, centred on the face box;
            they may reach outside the frame (see :func:`crop_square`).
        """
        return square_boxes(self.boxes, margin)


def box_areas(boxes: np.ndarray) -> np.ndarray:
    """Areas of ``(..., 4)`` boxes (0 for degenerate ones)."""
    boxes = np.asarray(boxes, np.float64)
    return (np.clip(boxes[..., 2] - boxes[..., 0], 0, None)
            * np.clip(boxes[..., 3] - boxes[..., 1], 0, None))


def box_iou(box: np.ndarray, others: np.ndarray) -> np.ndarray:
    """IoU of one ``(4,)`` box with ``(K, 4)`` boxes."""
    others = np.asarray(others, np.float64).reshape(-1, 4)
    lo = np.maximum(box[:2], others[:, :2])
    hi = np.minimum(box[2:4], others[:, 2:4])
    inter = np.prod(np.clip(hi - lo, 0, None), axis=1)
    union = box_areas(box) + box_areas(others) - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-12), 0.0)


def square_boxes(boxes: np.ndarray, margin: float = 1.25) -> np.ndarray:
    """Squares of side ``margin`` x the longer side, same centres."""
    if margin <= 0:
        raise ValueError(f'margin must be > 0, got {margin}')
    boxes = np.asarray(boxes, np.float32)
    centre = (boxes[..., :2] + boxes[..., 2:4]) / 2
    side = margin * np.maximum(boxes[..., 2] - boxes[..., 0],
                               boxes[..., 3] - boxes[..., 1])
    half = np.stack([side, side], axis=-1) / 2
    return np.concatenate([centre - half, centre + half], axis=-1)


def crop_square(frame: np.ndarray, box: Sequence[float],
                size: int) -> np.ndarray:
    """Cuts ``box`` out of ``frame`` and resizes it to ``size x size``.

    Parts of the box outside the frame are black: shifting the box inside
    instead would move the face off-centre near the frame's edge, and the
    face would jump between frames.

    Args:
        frame: ``(H, W, 3)`` uint8 image.
        box: ``x1, y1, x2, y2`` (a square, see :func:`square_boxes`).
        size: Side of the output.

    Returns:
        ``(size, size, 3)`` uint8 image.
    """
    h, w = frame.shape[:2]
    x1, y1, x2, y2 = (int(round(v)) for v in box)
    x2, y2 = max(x2, x1 + 1), max(y2, y1 + 1)
    canvas = np.zeros((y2 - y1, x2 - x1, 3), np.uint8)
    fx1, fy1 = max(x1, 0), max(y1, 0)
    fx2, fy2 = min(x2, w), min(y2, h)
    if fx2 > fx1 and fy2 > fy1:
        canvas[fy1 - y1:fy2 - y1, fx1 - x1:fx2 - x1] = frame[fy1:fy2,
                                                             fx1:fx2]
    # INTER_AREA averages when shrinking (no aliasing of a large face)
    shrink = canvas.shape[0] > size
    return cv2.resize(canvas, (size, size),
                      interpolation=cv2.INTER_AREA if shrink
                      else cv2.INTER_LINEAR)


def gaussian_smooth(series: np.ndarray, sigma: float) -> np.ndarray:
    """Smooths ``(T, C)`` series along time with a Gaussian.

    The ends are extended point-symmetrically (``2 x[0] - x[k]``), which
    keeps a linear trend exact: a face moving at constant speed stays where
    it is detected, up to the last frame.
    """
    series = np.asarray(series, np.float64)
    n = len(series)
    if sigma <= 0 or n < 3:
        return series.copy()
    radius = min(int(np.ceil(3 * sigma)), n - 1)
    offsets = np.arange(-radius, radius + 1)
    kernel = np.exp(-0.5 * (offsets / sigma)**2)
    kernel /= kernel.sum()
    padded = np.pad(series, ((radius, radius), (0, 0)), mode='reflect',
                    reflect_type='odd')
    out = np.zeros_like(series)
    for k, weight in zip(range(2 * radius + 1), kernel):
        out += weight * padded[k:k + n]
    return out


def _choose(candidates: np.ndarray, ref: np.ndarray, gap: int,
            min_iou: float, max_shift: float,
            max_scale: float) -> Optional[int]:
    """Index of the candidate that best continues ``ref``, or None."""
    iou = box_iou(ref, candidates)
    ref_size = np.sqrt(max(box_areas(ref), 1e-12))
    centres = (candidates[:, :2] + candidates[:, 2:4]) / 2
    ref_centre = (ref[:2] + ref[2:4]) / 2
    shift = np.linalg.norm(centres - ref_centre, axis=1) / ref_size
    scale = np.sqrt(box_areas(candidates) / ref_size**2)
    similar = (scale <= max_scale) & (scale >= 1 / max_scale)
    valid = (iou >= min_iou) | (similar & (shift <= max_shift * gap))
    if not valid.any():
        return None
    cost = np.where(valid, shift + (1 - iou), np.inf)
    return int(np.argmin(cost))


def track_faces(detections: Sequence[Optional[np.ndarray]],
                min_score: float = 0.9,
                min_iou: float = 0.2,
                max_shift: float = 0.5,
                max_scale: float = 1.5,
                reacquire_after: int = 10,
                smooth_sigma: float = 2.0) -> FaceTrack:
    """Follows one face through per-frame detections (module docstring).

    Args:
        detections: Per frame, a ``(K, 5)`` array ``x1, y1, x2, y2, score``
            (``K`` may be 0), or ``None`` for a frame the detector skipped.
        min_score: Detections below this confidence are ignored.
        min_iou: A candidate overlapping the last box this much continues
            the track whatever its distance.
        max_shift: Otherwise its centre must be within this many face
            sizes (square root of the box area) per frame since the last
            accepted box, and its size within ``max_scale`` of that box's.
        max_scale: See ``max_shift``.
        reacquire_after: Checked frames without a continuation after which
            the largest face starts a new segment.
        smooth_sigma: Gaussian smoothing of the boxes, in frames (0: off).

    Returns:
        FaceTrack: ``found`` is False when no frame has a face.
    """
    if reacquire_after < 1:
        raise ValueError(f'reacquire_after must be >= 1, got '
                         f'{reacquire_after}')
    n = len(detections)
    raw = np.full((n, 4), np.nan, np.float32)
    scores = np.zeros(n, np.float32)
    checked = np.array([d is not None for d in detections], bool)
    segment = np.full(n, -1, np.int64)
    ref, ref_frame, lost, current = None, -1, 0, -1
    for t, dets in enumerate(detections):
        if dets is None:
            continue
        dets = np.asarray(dets, np.float32).reshape(-1, 5)
        cands = dets[dets[:, 4] >= min_score]
        pick = None
        if ref is not None and len(cands):
            pick = _choose(cands[:, :4], ref, t - ref_frame, min_iou,
                           max_shift, max_scale)
        if pick is None:
            lost += 1
            if len(cands) and (ref is None or lost >= reacquire_after):
                pick = int(np.argmax(box_areas(cands[:, :4])))
                current += 1
        if pick is None:
            continue
        ref, ref_frame, lost = cands[pick, :4].astype(np.float64), t, 0
        raw[t], scores[t], segment[t] = ref, cands[pick, 4], current
    detected = segment >= 0
    boxes = _fill_and_smooth(raw, segment, smooth_sigma)
    return FaceTrack(boxes.astype(np.float32), detected, raw, scores,
                     checked, segment)


def _fill_and_smooth(raw: np.ndarray, segment: np.ndarray,
                     sigma: float) -> np.ndarray:
    """Interpolates inside segments, holds the nearest box elsewhere."""
    n = len(raw)
    boxes = np.full((n, 4), np.nan)
    frames = np.arange(n)
    spans = []
    for seg in np.unique(segment[segment >= 0]):
        members = np.flatnonzero(segment == seg)
        lo, hi = members[0], members[-1] + 1
        span = frames[lo:hi]
        filled = np.stack([np.interp(span, members, raw[members, c])
                           for c in range(4)], axis=1)
        boxes[lo:hi] = gaussian_smooth(filled, sigma)
        spans.append((lo, hi))
    if not spans:
        return boxes
    # frames outside every segment take the box of the nearest segment end
    ends = np.array([lo for lo, _ in spans] + [hi - 1 for _, hi in spans])
    outside = np.flatnonzero(np.isnan(boxes[:, 0]))
    if len(outside):
        nearest = ends[np.argmin(np.abs(outside[:, None] - ends[None]),
                                 axis=1)]
        boxes[outside] = boxes[nearest]
    return boxes
