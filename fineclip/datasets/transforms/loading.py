"""Decoding the sampled frames."""
import os.path as osp
from typing import List, Sequence

import cv2
import numpy as np
from mmcv.transforms import BaseTransform

from fineclip.registry import TRANSFORMS
from ..video import read_video_frames


def _jpeg_is_complete(data: bytes) -> bool:
    """A JPEG ends its last scan with an end-of-image marker.

    Inside entropy-coded data 0xFF is always stuffed, so the last
    start-of-scan and end-of-image markers found are real ones; a file cut
    short has no end-of-image after its last scan (OpenCV would decode it
    anyway, with the missing part grey).
    """
    return data.rfind(b'\xff\xd9') > data.rfind(b'\xff\xda') >= 0


def read_frame(path: str, clip_id=None) -> np.ndarray:
    """Decodes one frame file as RGB uint8 ``(H, W, 3)``.

    The format is read from the content, not the extension (a PNG named
    ``.jpg`` decodes); grayscale frames are repeated over three channels
    and an alpha channel is dropped. The bytes are read by Python, so any
    path (spaces, non-ASCII characters) works.

    Raises:
        OSError: an empty, cut-short (JPEG) or undecodable file (the
            message names it and the clip).
    """
    with open(path, 'rb') as f:
        data = f.read()
    if not data:
        raise OSError(f"Frame '{path}' of clip {clip_id} is empty (0 bytes)")
    if data[:2] == b'\xff\xd8' and not _jpeg_is_complete(data):
        raise OSError(f"Frame '{path}' of clip {clip_id} is a truncated JPEG "
                      '(no end-of-image marker after its last scan)')
    img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if img is None:
        raise OSError(f"Cannot decode frame '{path}' of clip {clip_id}")
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


def read_frame_files(frame_dir: str, names: Sequence[str],
                     indices: Sequence[int], clip_id=None) -> List[np.ndarray]:
    """Reads frames ``names[i]`` for ``i`` in ``indices`` as RGB uint8
    (see :func:`read_frame`).

    Each distinct frame is decoded once even when indices repeat it.

    Raises:
        OSError: a frame that cannot be decoded (the message names it).
        ValueError: frames of different sizes (names the first one whose
            size differs).
    """
    cache = {}
    imgs = []
    for idx in indices:
        idx = int(idx)
        if idx not in cache:
            cache[idx] = read_frame(osp.join(frame_dir, names[idx]), clip_id)
        imgs.append(cache[idx])
    first = min(cache)
    for idx in sorted(cache):
        if cache[idx].shape != cache[first].shape:
            h, w = cache[idx].shape[:2]
            h0, w0 = cache[first].shape[:2]
            raise ValueError(
                f"Clip {clip_id} in '{frame_dir}' mixes frame sizes: "
                f"'{names[idx]}' is {w}x{h}, '{names[first]}' is {w0}x{h0}")
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
