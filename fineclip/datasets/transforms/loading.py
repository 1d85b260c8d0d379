"""Decoding the sampled frames."""
import os.path as osp
from typing import List, Sequence

import cv2
import numpy as np
from mmcv.transforms import BaseTransform

from fineclip.registry import TRANSFORMS
from ..video import read_video_frames


def read_frame_files(frame_dir: str, names: Sequence[str],
                     indices: Sequence[int], clip_id=None) -> List[np.ndarray]:
    """Reads frames ``names[i]`` for ``i`` in ``indices`` as RGB uint8.

    Each distinct frame is decoded once even when indices repeat it.

    Raises:
        OSError: a frame that cannot be decoded (the message names it).
        ValueError: frames of different sizes.
    """
    cache = {}
    imgs = []
    for idx in indices:
        idx = int(idx)
        if idx not in cache:
            path = osp.join(frame_dir, names[idx])
            img = cv2.imread(path, cv2.IMREAD_COLOR)
            if img is None:
                raise OSError(f"Cannot decode frame '{path}' of clip "
                              f'{clip_id}')
            cache[idx] = cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
        imgs.append(cache[idx])
    shapes = {img.shape for img in cache.values()}
    if len(shapes) > 1:
        raise ValueError(f"Clip {clip_id} in '{frame_dir}' mixes frame "
                         f'sizes {sorted(shapes)}')
    return imgs


@TRANSFORMS.register_module()
class DecodeFrames(BaseTransform):
    """Reads the frames at ``frame_inds`` from the clip's image folder or
    video file (:class:`~fineclip.datasets.video.VideoReader`: decord, PyAV
    as fallback, the reader inference streams videos with).

    Each distinct frame is decoded once even when short clips repeat it.
    Writes ``imgs`` (list of ``(H, W, 3)`` RGB uint8) and ``img_shape``.
    """

    def transform(self, results: dict) -> dict:
        if 'video_path' in results:
            imgs = read_video_frames(results['video_path'],
                                     results['frame_inds'])
            results['imgs'] = imgs
            results['img_shape'] = imgs[0].shape[:2]
            return results
        imgs = read_frame_files(results['frame_dir'],
                                results['frame_names'],
                                results['frame_inds'], results.get('clip_id'))
        results['imgs'] = imgs
        results['img_shape'] = imgs[0].shape[:2]
        return results
