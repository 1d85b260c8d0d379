"""Clips stored as videos that are not what their name says: random bytes,
empty files, mp4s cut short (index at the end, and index first)."""
import os
import os.path as osp

import numpy as np
import pytest

from tests.reliability.bad_inputs import (DECODE, load_mafw, mafw_split,
                                          raises_naming, write_bytes)

av = pytest.importorskip('av')

FRAMES = 20


def _mp4(path: str, index_first: bool) -> str:
    """A 20-frame 32x32 mp4 (MPEG-4 part 2, noise, so most bytes are
    frames); ``index_first`` puts the index (moov) before the frames, as
    web-ready files have it."""
    rng = np.random.RandomState(0)
    options = {'movflags': 'faststart'} if index_first else {}
    with av.open(path, 'w', options=options) as container:
        stream = container.add_stream('mpeg4', rate=25)
        stream.width = stream.height = 32
        stream.pix_fmt = 'yuv420p'
        for _ in range(FRAMES):
            image = rng.randint(0, 256, (32, 32, 3)).astype(np.uint8)
            frame = av.VideoFrame.from_ndarray(image, format='rgb24')
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def _mafw_video(root, make):
    """A MAFW copy whose clips are two videos: 00001 good, 00002 ``make``."""
    clips = osp.join(root, 'data', 'clips')
    os.makedirs(clips)
    _mp4(osp.join(clips, '00001.mp4'), index_first=False)
    bad = osp.join(clips, '00002.mp4')
    make(bad)
    split = mafw_split(root, b'00001.mp4 anger\r\n00002.mp4 fear\r\n')
    return split, bad


def _cut(fraction, index_first):
    def make(path):
        _mp4(path, index_first)
        with open(path, 'r+b') as f:
            f.truncate(int(osp.getsize(path) * fraction))
    return make


@pytest.mark.parametrize('make', [
    lambda p: write_bytes(p, np.random.RandomState(1).bytes(4096)),
    lambda p: write_bytes(p, b''),
    _cut(0.5, index_first=False),   # the index, at the end, is gone
    _cut(0.6, index_first=True),    # index whole, frames cut short
    _cut(0.02, index_first=True),   # only the file-type box left
], ids=['random-bytes', 'zero-bytes', 'truncated-index-last',
        'truncated-index-first', 'truncated-to-header'])
def test_bad_video_is_named_with_split_line_at_load(tmp_path, make,
                                                    nothing_lost):
    root = str(tmp_path)
    split, bad = _mafw_video(root, make)
    nothing_lost(root)
    with raises_naming(OSError, split, 2, bad):
        load_mafw(root, source='video')


def test_bad_video_skipped_keeps_the_good_one(tmp_path):
    root = str(tmp_path)
    split, bad = _mafw_video(root, _cut(0.6, index_first=True))
    ds = load_mafw(root, source='video', on_bad_clip='skip',
                   max_bad_fraction=0.5, pipeline=DECODE, test_mode=True)
    assert [ds.get_data_info(i)['clip_id'] for i in range(len(ds))] == [
        '00001']
    assert ds.get_data_info(0)['total_frames'] == FRAMES
    assert len(ds[0]['imgs']) == 4
    [problem] = ds.bad_clips
    assert problem.startswith(f'{split}:2: ') and bad in problem
    assert 'truncated' in problem


def test_video_cut_after_loading_is_named_at_decode(tmp_path):
    # the file changes between the start-up check and the read
    root = str(tmp_path)
    split, bad = _mafw_video(root, lambda p: _mp4(p, index_first=True))
    ds = load_mafw(root, source='video', pipeline=DECODE, test_mode=True)
    with open(bad, 'r+b') as f:
        f.truncate(int(osp.getsize(bad) * 0.6))
    with raises_naming(OSError, bad, None, 'truncated'):
        ds[1]
