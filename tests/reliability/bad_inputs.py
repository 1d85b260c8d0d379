"""Hand-made tiny datasets for the bad-input suite: a few 16x16 frames per
clip, split files written byte by byte, so each case is one odd input.

Datasets are built with ``serialize_data=False``: MMEngine's serialisation
runs a full ``gc.collect()`` per dataset (0.2 s in a test process), and
what is tested here happens before it.
"""
import os
import os.path as osp
import re

import cv2
import numpy as np
import pytest

from fineclip.datasets import DFEWDataset, MAFWDataset

SIZE = 16
HEADER = 'video_name,label'
DECODE = [dict(type='SampleFrameIndices', num_frames=4, test_mode=True),
          dict(type='DecodeFrames')]


def frame(value: int, size=SIZE, channels: int = 3) -> np.ndarray:
    """A flat frame: every pixel ``value`` (BGR order for OpenCV)."""
    shape = (size, size) if channels == 1 else (
        (size, size, channels) if np.isscalar(size) else
        (size[0], size[1], channels))
    return np.full(shape, value, np.uint8)


def write_image(path: str, img: np.ndarray, ext: str = None) -> str:
    """Encodes ``img`` as ``ext`` (default: the path's) and writes the
    bytes from Python (any path)."""
    os.makedirs(osp.dirname(path), exist_ok=True)
    ok, data = cv2.imencode(ext or osp.splitext(path)[1], img)
    assert ok
    with open(path, 'wb') as f:
        f.write(data.tobytes())
    return path


def write_bytes(path: str, data: bytes) -> str:
    os.makedirs(osp.dirname(path), exist_ok=True)
    with open(path, 'wb') as f:
        f.write(data)
    return path


def dfew_clip(root: str, clip_id: str, names=('1.png', '2.png', '3.png'),
              values=None) -> str:
    """Clip ``clip_id``'s frame folder (lossless PNG frames 10, 20, ...)."""
    folder = osp.join(root, 'Clip', 'clip_224x224', clip_id)
    values = values or [10 * (i + 1) for i in range(len(names))]
    for name, value in zip(names, values):
        write_image(osp.join(folder, name), frame(value), '.png')
    return folder


def dfew_split_path(root: str, split: str = 'train', fold: int = 1) -> str:
    return osp.join(root, 'EmoLabel_DataSplit', f'{split}(single-labeled)',
                    f'set_{fold}.csv')


def dfew_split(root: str, content, split: str = 'train',
               fold: int = 1) -> str:
    """Writes a DFEW split file: ``content`` bytes as they are, or rows
    (``str``s) under the official header, LF line ends."""
    if not isinstance(content, bytes):
        content = ('\n'.join([HEADER] + list(content)) + '\n').encode()
    return write_bytes(dfew_split_path(root, split, fold), content)


def dfew(root: str, rows, clips=('00001', '00002'), **kwargs):
    """A DFEW copy with ``clips`` on disk and the train rows ``rows``,
    loaded (``kwargs`` go to :class:`DFEWDataset`)."""
    for clip in clips:
        dfew_clip(root, clip)
    dfew_split(root, rows)
    return DFEWDataset(root, fold=1, split='train', serialize_data=False,
                       **kwargs)


def mafw_split(root: str, content: bytes, split: str = 'train',
               captions: bool = False) -> str:
    variant = 'with_caption' if captions else 'no_caption'
    return write_bytes(osp.join(root, 'Train & Test Set', 'single', variant,
                                'set_1', f'{split}.txt'), content)


def mafw_clip(root: str, clip_id: str, count: int = 3) -> str:
    folder = osp.join(root, 'data', 'faces', clip_id)
    for i in range(count):
        write_image(osp.join(folder, f'{i + 1:05d}.png'), frame(10 * i + 10))
    return folder


def load_mafw(root: str, **kwargs):
    return MAFWDataset(root, fold=1, split='train', serialize_data=False,
                       **kwargs)


def decode(dataset, index: int = 0) -> list:
    """The frames the pipeline decodes for sample ``index``."""
    return dataset[index]['imgs']


def raises_naming(exc, path: str, line: int = None, *fragments):
    """``pytest.raises`` for an error naming ``path`` (and line) and each
    fragment (plain text, not regular expressions)."""
    place = re.escape(f'{path}:{line}' if line is not None else path)
    pattern = place + ''.join(f'(?s:.*){re.escape(f)}' for f in fragments)
    return pytest.raises(exc, match=pattern)
