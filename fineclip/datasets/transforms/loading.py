"""Decoding the sampled frames."""
import os.path as osp

import cv2
from mmcv.transforms import BaseTransform

from fineclip.registry import TRANSFORMS
from ..video import read_video_frames


@TRANSFORMS.register_module()
class DecodeFrames(BaseTransform):
    """Reads the frames at ``frame_inds`` from the clip's image folder or
    video file (decord, PyAV as fallback).

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
        names = results['frame_names']
        cache = {}
        imgs = []
        for idx in results['frame_inds']:
            idx = int(idx)
            if idx not in cache:
                path = osp.join(results['frame_dir'], names[idx])
                img = cv2.imread(path, cv2.IMREAD_COLOR)
                if img is None:
                    raise OSError(f"Cannot decode frame '{path}' of clip "
                                  f"{results.get('clip_id')}")
                cache[idx] = cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
            imgs.append(cache[idx])
        shapes = {img.shape for img in cache.values()}
        if len(shapes) > 1:
            raise ValueError(f"Clip {results.get('clip_id')} in "
                             f"'{results['frame_dir']}' mixes frame sizes "
                             f'{sorted(shapes)}')
        results['imgs'] = imgs
        results['img_shape'] = imgs[0].shape[:2]
        return results
