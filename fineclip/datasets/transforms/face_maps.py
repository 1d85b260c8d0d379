"""Face maps (middle semantic level): loading and rendering as images.

``LoadFaceMaps`` reads a clip's face-map file (format:
:mod:`fineclip.datasets.face_maps`) at the sampled frame indices, right
after ``DecodeFrames``. The group augmentations then change the frames and
record their pixel mapping in ``geometry``; ``RenderFaceMaps``, placed after
them, draws the parsing maps as colour images and the landmarks as soft dots
through that same mapping, so every crop, resize, flip and rotation of the
frames applies to the maps too. A mirroring mapping also swaps left and right
(landmark order and brow/eye labels), so "left" stays image-left.
"""
from typing import Sequence

import cv2
import numpy as np
from mmcv.transforms import BaseTransform

from fineclip.registry import TRANSFORMS
from ..face_maps import (LANDMARK_FLIP_ORDER, PARSING_CLASSES,
                         PARSING_FLIP_LABELS, load_face_map_frames)

# One colour per parsing label (RGB), background black.
PARSING_PALETTE = np.array(
    [[0, 0, 0], [230, 190, 150], [120, 60, 20], [20, 120, 60],
     [40, 80, 230], [230, 40, 200], [250, 230, 40], [230, 30, 30],
     [90, 20, 90], [160, 30, 90], [120, 120, 120]], np.uint8)
assert len(PARSING_PALETTE) == len(PARSING_CLASSES)

# Landmark groups of the iBUG-68 layout and the colour each is drawn in.
LANDMARK_GROUPS = (
    (range(0, 17), (255, 255, 255)),   # jaw
    (range(17, 27), (255, 200, 0)),    # brows
    (range(27, 36), (0, 255, 0)),      # nose
    (range(36, 48), (0, 160, 255)),    # eyes
    (range(48, 60), (255, 0, 0)),      # outer lips
    (range(60, 68), (255, 0, 255)),    # inner lips
)
_POINT_COLOURS = np.zeros((68, 3), np.float32)
for _members, _colour in LANDMARK_GROUPS:
    _POINT_COLOURS[list(_members)] = _colour


@TRANSFORMS.register_module()
class LoadFaceMaps(BaseTransform):
    """Reads the face maps of the sampled frames.

    Needs ``face_map_path`` (set by a dataset with ``face_map_dir``),
    ``frame_inds`` and ``total_frames``, and the frame size ``img_shape``
    from ``DecodeFrames``; must come before any geometric augmentation.
    Writes ``face_landmarks`` (``(T, 68, 2)``, pixel coordinates of the
    decoded frames), ``face_parsing`` (``(T, S, S)`` labels), ``face_found``
    (``(T,)``) and ``face_map_shape`` (the decoded frames' ``(h, w)``).
    Frames without a face take the nearest frame's maps.

    Only the sampled frames' parsing maps are decompressed (plus, for a
    frame without a face, the nearest one's): a 16-frame sample of a
    100-frame clip reads 16 of its 100 maps. Files of the earlier layout
    (one ``(T, S, S)`` array) are read whole, with a warning that says how
    to rewrite them (:func:`fineclip.datasets.face_maps.load_face_map_frames`).
    """

    def transform(self, results: dict) -> dict:
        if 'face_map_path' not in results:
            raise KeyError(
                f"LoadFaceMaps: clip {results.get('clip_id')} has no "
                "face_map_path; set face_map_dir in the dataset config.")
        if 'img_shape' not in results or 'geometry' in results:
            raise RuntimeError('LoadFaceMaps must come right after '
                               'DecodeFrames, before any augmentation.')
        maps = load_face_map_frames(results['face_map_path'],
                                    results['frame_inds'],
                                    results['total_frames'])
        h, w = results['img_shape']
        # normalised -> pixel-index coordinates (pixel centres at integers)
        scale = np.array([w, h], np.float32)
        results['face_landmarks'] = maps.landmarks * scale - 0.5
        results['face_parsing'] = maps.parsing
        results['face_found'] = maps.face_found
        results['face_map_shape'] = (h, w)
        return results


@TRANSFORMS.register_module()
class RenderFaceMaps(BaseTransform):
    """Draws the loaded face maps at the current image size and geometry.

    Place it after the geometric augmentations (they record ``geometry``)
    and before ``PackDFERInputs``, which packs ``parsing_imgs`` and
    ``landmark_imgs`` as the ``parsing`` and ``landmarks`` inputs.

    Args:
        modalities (Sequence[str]): Which images to draw: ``'parsing'``
            and/or ``'landmarks'``.
        sigma (float): Spread of each landmark dot, in output pixels
            (scaled down for outputs smaller than 224).
    """

    def __init__(self, modalities: Sequence[str] = ('parsing', 'landmarks'),
                 sigma: float = 2.0):
        unknown = set(modalities) - {'parsing', 'landmarks'}
        if unknown or not modalities:
            raise ValueError("RenderFaceMaps modalities must be a non-empty "
                             "subset of ('parsing', 'landmarks'), got "
                             f'{tuple(modalities)}')
        if sigma <= 0:
            raise ValueError(f'sigma must be > 0, got {sigma}')
        self.modalities = tuple(modalities)
        self.sigma = sigma

    def transform(self, results: dict) -> dict:
        if 'face_parsing' not in results:
            raise KeyError('RenderFaceMaps needs LoadFaceMaps earlier in the '
                           'pipeline.')
        geometry = results.get('geometry', np.eye(3))
        mirrored = np.linalg.det(geometry[:2, :2]) < 0
        out_hw = tuple(results['img_shape'])
        if 'parsing' in self.modalities:
            results['parsing_imgs'] = self._parsing_images(
                results['face_parsing'], results['face_map_shape'],
                geometry, mirrored, out_hw)
        points = self.transform_points(results['face_landmarks'], geometry,
                                       mirrored)
        results['face_landmarks_out'] = points
        if 'landmarks' in self.modalities:
            sigma = self.sigma * min(out_hw) / 224
            results['landmark_imgs'] = [
                draw_landmarks(p, out_hw, sigma) for p in points
            ]
        return results

    @staticmethod
    def transform_points(points: np.ndarray, geometry: np.ndarray,
                         mirrored: bool) -> np.ndarray:
        """Maps ``(T, 68, 2)`` points; a mirror also reorders them."""
        out = points @ geometry[:2, :2].T + geometry[:2, 2]
        if mirrored:
            out = out[:, LANDMARK_FLIP_ORDER]
        return out.astype(np.float32)

    @staticmethod
    def _parsing_images(parsing, frame_hw, geometry, mirrored, out_hw):
        size = parsing.shape[-1]
        h, w = frame_hw
        # parsing grid -> decoded frame pixels -> output pixels
        to_frame = np.array([[w / size, 0, 0.5 * w / size - 0.5],
                             [0, h / size, 0.5 * h / size - 0.5],
                             [0, 0, 1]])
        matrix = (geometry @ to_frame)[:2]
        palette = PARSING_PALETTE[PARSING_FLIP_LABELS] if mirrored \
            else PARSING_PALETTE
        # one 256-entry look-up table per channel (cv2.LUT is much faster
        # than fancy indexing)
        luts = np.zeros((256, 3), np.uint8)
        luts[:len(palette)] = palette
        images = []
        for labels in parsing:
            warped = cv2.warpAffine(labels, matrix, out_hw[::-1],
                                    flags=cv2.INTER_NEAREST,
                                    borderMode=cv2.BORDER_CONSTANT,
                                    borderValue=0)
            images.append(cv2.merge([cv2.LUT(warped, luts[:, c])
                                     for c in range(3)]))
        return images


def draw_landmarks(points: np.ndarray, out_hw, sigma: float) -> np.ndarray:
    """Draws 68 points as Gaussian dots coloured by face part.

    Each point is splatted bilinearly onto its four neighbouring pixels
    (sub-pixel exact), then one Gaussian blur spreads every splat into a
    dot of spread ``sigma``, scaled so that a dot centred on a pixel peaks
    at its colour; overlapping dots add up (clipped at 255). Splatting,
    blur and border handling are all mirror-symmetric, so mirrored points
    give the mirrored image. About 20 times faster than drawing each
    Gaussian separately.

    Args:
        points: ``(68, 2)`` pixel coordinates in the output image.
        out_hw: Output ``(h, w)``.
        sigma: Gaussian spread in pixels.

    Returns:
        ``(h, w, 3)`` uint8 RGB image.
    """
    h, w = out_hw
    canvas = np.zeros((h + 2, w + 2, 3), np.float32)  # 1-pixel margin
    x0 = np.floor(points[:, 0]).astype(np.int64)
    y0 = np.floor(points[:, 1]).astype(np.int64)
    fx = (points[:, 0] - x0).astype(np.float32)[:, None]
    fy = (points[:, 1] - y0).astype(np.float32)[:, None]
    for dx, dy, weight in ((0, 0, (1 - fx) * (1 - fy)), (1, 0, fx * (1 - fy)),
                           (0, 1, (1 - fx) * fy), (1, 1, fx * fy)):
        xs, ys = x0 + dx + 1, y0 + dy + 1
        # points a crop left outside the image (beyond the margin) vanish
        inside = (xs >= 0) & (xs < w + 2) & (ys >= 0) & (ys < h + 2)
        np.add.at(canvas, (ys[inside], xs[inside]),
                  (weight * _POINT_COLOURS)[inside])
    # The margin keeps a dot just outside the frame from reflecting in.
    ksize = int(2 * np.ceil(3 * sigma) + 1)
    blurred = cv2.GaussianBlur(canvas, (ksize, ksize), sigma,
                               borderType=cv2.BORDER_CONSTANT)[1:-1, 1:-1]
    peak = cv2.getGaussianKernel(ksize, sigma, cv2.CV_32F).max()**2
    return np.clip(np.rint(blurred / peak), 0, 255).astype(np.uint8)


def with_face_maps(pipeline: Sequence[dict],
                   modalities: Sequence[str] = ('parsing', 'landmarks'),
                   sigma: float = 2.0) -> list:
    """Adds face maps to a frames pipeline (for FineCLIPER* configs).

    ``LoadFaceMaps`` goes right after ``DecodeFrames`` and ``RenderFaceMaps``
    right before ``PackDFERInputs``, so the maps follow every augmentation
    in between.

    Args:
        pipeline: Transform configs with ``DecodeFrames`` and
            ``PackDFERInputs``.
        modalities: Passed to ``RenderFaceMaps``.
        sigma: Passed to ``RenderFaceMaps``.

    Returns:
        A new list of transform configs.
    """
    types = [step['type'] for step in pipeline]
    for needed in ('DecodeFrames', 'PackDFERInputs'):
        if types.count(needed) != 1:
            raise ValueError(f'with_face_maps needs exactly one {needed} in '
                             f'the pipeline, got {types}')
    out = []
    for step in pipeline:
        if step['type'] == 'PackDFERInputs':
            out.append(dict(type='RenderFaceMaps',
                            modalities=tuple(modalities), sigma=sigma))
        out.append(dict(step))
        if step['type'] == 'DecodeFrames':
            out.append(dict(type='LoadFaceMaps'))
    return out
