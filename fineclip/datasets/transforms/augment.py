"""Group augmentation: one random draw applied to every frame of a clip.

Each transform records what it did (``crop_box``, ``flip``, ``rotation``)
and composes its pixel mapping into ``geometry``: a 3x3 matrix taking a
point of the decoded frame to the same point of the current image (pixel
centres at integer coordinates, as OpenCV uses them). Other modalities of
the clip (face maps, see ``RenderFaceMaps``) follow the very same geometry
through it, whatever the order of the transforms.
"""
import math
from typing import Sequence, Tuple, Union

import cv2
import numpy as np
from mmcv.transforms import BaseTransform

from fineclip.registry import TRANSFORMS

Size = Union[int, Tuple[int, int]]


def _as_hw(size: Size) -> Tuple[int, int]:
    return (size, size) if isinstance(size, int) else tuple(size)


def compose_geometry(results: dict, matrix: np.ndarray) -> None:
    """Appends the pixel mapping ``matrix`` (2x3 or 3x3) to ``geometry``."""
    step = np.eye(3)
    step[:2] = np.asarray(matrix, np.float64)[:2]
    results['geometry'] = step @ results.get('geometry', np.eye(3))


def box_to_size_matrix(box: Tuple[int, int, int, int],
                       size: Tuple[int, int]) -> np.ndarray:
    """Pixel mapping of cropping ``box = (x, y, w, h)`` and resizing it to
    ``size = (h, w)`` with OpenCV's pixel-centre convention."""
    x, y, w, h = box
    sx, sy = size[1] / w, size[0] / h
    return np.array([[sx, 0., (0.5 - x) * sx - 0.5],
                     [0., sy, (0.5 - y) * sy - 0.5]])


def random_resized_box(height: int, width: int, scale: Sequence[float],
                       ratio: Sequence[float], attempts: int = 10,
                       rng=np.random) -> Tuple[int, int, int, int]:
    """Samples an ``(x, y, w, h)`` box of random area and aspect ratio.

    Falls back to the largest centred box of an allowed aspect ratio when
    ten draws do not fit, as torchvision does.

    Args:
        rng: ``np.random`` (the worker's stream) or a ``RandomState``.
    """
    area = height * width
    log_ratio = (math.log(ratio[0]), math.log(ratio[1]))
    for _ in range(attempts):
        target = area * rng.uniform(*scale)
        aspect = math.exp(rng.uniform(*log_ratio))
        w = int(round(math.sqrt(target * aspect)))
        h = int(round(math.sqrt(target / aspect)))
        if 0 < w <= width and 0 < h <= height:
            return (rng.randint(0, width - w + 1),
                    rng.randint(0, height - h + 1), w, h)
    aspect = width / height
    if aspect < ratio[0]:
        w, h = width, int(round(width / ratio[0]))
    elif aspect > ratio[1]:
        w, h = int(round(height * ratio[1])), height
    else:
        w, h = width, height
    return (width - w) // 2, (height - h) // 2, w, h


def dfer_clip_box(height: int, width: int, scale: Sequence[float],
                  ratio: Sequence[float], size: int, attempts: int = 10,
                  rng=np.random) -> Tuple[int, int, int, int]:
    """The crop box DFER-CLIP's official training pipeline draws (its
    ``GroupRandomSizedCrop``, the TSN-style crop).

    Unlike :func:`random_resized_box`: the aspect ratio is drawn uniformly
    (not log-uniformly), width and height swap with probability 0.5, and
    when ten draws do not fit, the frame's shorter side is scaled to
    ``size`` and a random ``size`` square is cut from it (here the same
    square in the frame's own pixels), not the centred box.

    Args:
        height, width: The frame's size.
        scale: Range of the crop's area fraction.
        ratio: Range of the crop's aspect ratio.
        size: The output side (of the fallback's square).
        rng: ``np.random`` (the worker's stream) or a ``RandomState``.

    Returns:
        ``(x, y, w, h)`` in the frame's pixels.
    """
    area = height * width
    for _ in range(attempts):
        target = area * rng.uniform(*scale)
        aspect = rng.uniform(*ratio)
        w = int(round(math.sqrt(target * aspect)))
        h = int(round(math.sqrt(target / aspect)))
        if rng.rand() < 0.5:
            w, h = h, w
        if 0 < w <= width and 0 < h <= height:
            return (rng.randint(0, width - w + 1),
                    rng.randint(0, height - h + 1), w, h)
    # fallback: shorter side to `size`, then a random size x size crop;
    # that square is `side` pixels of the frame
    factor = size / min(height, width)
    scaled_w = int(round(width * factor))
    scaled_h = int(round(height * factor))
    x = rng.randint(0, scaled_w - size + 1)
    y = rng.randint(0, scaled_h - size + 1)
    side = min(height, width)
    return (min(int(round(x / factor)), width - side),
            min(int(round(y / factor)), height - side), side, side)


#: How :class:`GroupRandomResizedCrop` draws its box.
CROP_RULES = ('torchvision', 'dfer_clip')


@TRANSFORMS.register_module()
class GroupRandomResizedCrop(BaseTransform):
    """The same random resized crop for every frame.

    Args:
        size (int | tuple): Output ``(h, w)``.
        scale (tuple): Range of the crop's area fraction (0.08-1).
        ratio (tuple): Range of the crop's aspect ratio (3/4-4/3).
        rule (str): ``'torchvision'`` (log-uniform ratio, centred
            fallback: :func:`random_resized_box`, FineCLIP's default) or
            ``'dfer_clip'`` (DFER-CLIP's official crop:
            :func:`dfer_clip_box`; square outputs only).
    """

    def __init__(self, size: Size = 224, scale=(0.08, 1.0),
                 ratio=(3 / 4, 4 / 3), rule: str = 'torchvision'):
        self.size = _as_hw(size)
        self.scale, self.ratio = tuple(scale), tuple(ratio)
        if rule not in CROP_RULES:
            raise ValueError(f'rule must be one of {CROP_RULES}, got '
                             f'{rule!r}')
        if rule == 'dfer_clip' and self.size[0] != self.size[1]:
            raise ValueError("rule='dfer_clip' crops squares: give one "
                             f'size, got {self.size}')
        self.rule = rule

    def transform(self, results: dict) -> dict:
        h, w = results['img_shape']
        if self.rule == 'dfer_clip':
            x, y, cw, ch = dfer_clip_box(h, w, self.scale, self.ratio,
                                         self.size[0])
        else:
            x, y, cw, ch = random_resized_box(h, w, self.scale, self.ratio)
        out_h, out_w = self.size
        results['imgs'] = [
            cv2.resize(img[y:y + ch, x:x + cw], (out_w, out_h),
                       interpolation=cv2.INTER_LINEAR)
            for img in results['imgs']
        ]
        results['crop_box'] = (x, y, cw, ch)
        compose_geometry(results, box_to_size_matrix((x, y, cw, ch),
                                                     self.size))
        results['img_shape'] = self.size
        return results


@TRANSFORMS.register_module()
class GroupResize(BaseTransform):
    """Resizes every frame to ``size`` (the test-time view).

    Args:
        size (int | tuple): Output ``(h, w)``.
    """

    def __init__(self, size: Size = 224):
        self.size = _as_hw(size)

    def transform(self, results: dict) -> dict:
        h, w = results['img_shape']
        out_h, out_w = self.size
        interp = cv2.INTER_AREA if out_h < h else cv2.INTER_LINEAR
        results['imgs'] = [
            cv2.resize(img, (out_w, out_h), interpolation=interp)
            for img in results['imgs']
        ]
        results['crop_box'] = (0, 0, w, h)
        compose_geometry(results, box_to_size_matrix((0, 0, w, h),
                                                     self.size))
        results['img_shape'] = self.size
        return results


@TRANSFORMS.register_module()
class GroupFlip(BaseTransform):
    """Flips every frame horizontally with probability ``flip_ratio``.

    Args:
        flip_ratio (float): Probability of flipping the clip.
    """

    def __init__(self, flip_ratio: float = 0.5):
        if not 0. <= flip_ratio <= 1.:
            raise ValueError(f'flip_ratio must be in [0, 1], got {flip_ratio}')
        self.flip_ratio = flip_ratio

    def transform(self, results: dict) -> dict:
        flip = bool(np.random.rand() < self.flip_ratio)
        if flip:
            results['imgs'] = [np.ascontiguousarray(img[:, ::-1])
                               for img in results['imgs']]
            width = results['img_shape'][1]
            compose_geometry(results, [[-1., 0., width - 1.], [0., 1., 0.]])
        results['flip'] = flip
        return results


@TRANSFORMS.register_module()
class GroupBrightness(BaseTransform):
    """Scales every frame's brightness by one factor in ``[1-b, 1+b]``.

    Args:
        brightness (float): ``b``; DFER-CLIP uses 0.5 on DFEW.
    """

    def __init__(self, brightness: float = 0.5):
        if brightness < 0:
            raise ValueError(f'brightness must be >= 0, got {brightness}')
        self.brightness = brightness

    def transform(self, results: dict) -> dict:
        factor = np.random.uniform(1 - self.brightness, 1 + self.brightness)
        results['imgs'] = [
            np.clip(img.astype(np.float32) * factor, 0, 255).astype(np.uint8)
            for img in results['imgs']
        ]
        return results


@TRANSFORMS.register_module()
class GroupRotate(BaseTransform):
    """Rotates every frame by one angle drawn from ``[-deg, deg]``.

    DFER-CLIP rotates by up to 4 degrees on FERV39k. The angle is recorded
    as ``rotation`` (degrees, counter-clockwise) for other modalities.

    Args:
        max_degrees (float): Largest rotation in either direction.
    """

    def __init__(self, max_degrees: float = 4.0):
        if max_degrees < 0:
            raise ValueError(f'max_degrees must be >= 0, got {max_degrees}')
        self.max_degrees = max_degrees

    def transform(self, results: dict) -> dict:
        angle = float(np.random.uniform(-self.max_degrees, self.max_degrees))
        h, w = results['img_shape']
        matrix = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
        results['imgs'] = [
            cv2.warpAffine(img, matrix, (w, h), flags=cv2.INTER_LINEAR,
                           borderMode=cv2.BORDER_REFLECT_101)
            for img in results['imgs']
        ]
        compose_geometry(results, matrix)
        results['rotation'] = angle
        return results
