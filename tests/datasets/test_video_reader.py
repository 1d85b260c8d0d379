"""The one video reader (fineclip.datasets.video.VideoReader): by index and
in order, decord first and PyAV where decord fails."""
import cv2
import numpy as np
import pytest

from fineclip.datasets import video
from fineclip.datasets.video import (VideoReader, read_video_frames,
                                     video_length)

NUM_FRAMES, FPS, SIZE = 13, 10, (64, 48)


@pytest.fixture(scope='module')
def clip(tmp_path_factory):
    """A video whose frame t is filled with grey level 10 * t, so a frame
    tells its index even through a lossy codec."""
    path = str(tmp_path_factory.mktemp('reader') / 'grey.mp4')
    writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*'mp4v'), FPS,
                             SIZE)
    assert writer.isOpened()
    for t in range(NUM_FRAMES):
        writer.write(np.full((SIZE[1], SIZE[0], 3), 10 * t, np.uint8))
    writer.release()
    return path


@pytest.fixture(params=['decord', 'pyav'])
def backend(request, monkeypatch):
    if request.param == 'pyav':
        def no_decord(path):
            raise RuntimeError('decord cannot open this')

        monkeypatch.setattr(video, '_decord_reader', no_decord)
    return request.param


def _levels(frames):
    return [int(round(float(np.mean(f)) / 10)) for f in frames]


def test_random_access(clip, backend):
    reader = VideoReader(clip)
    assert reader.backend == backend
    frames = reader.read([7, 2, 2, 12])
    assert _levels(frames) == [7, 2, 2, 12]
    assert frames[0].shape == (SIZE[1], SIZE[0], 3)
    assert frames[0].dtype == np.uint8
    assert reader.count_frames() == NUM_FRAMES == video_length(clip)
    assert _levels(read_video_frames(clip, [3])) == [3]


def test_streaming_in_chunks(clip, backend):
    chunks = list(VideoReader(clip).chunks(5))
    assert [start for start, _ in chunks] == [0, 5, 10]
    assert [len(frames) for _, frames in chunks] == [5, 5, 3]
    assert _levels(np.concatenate([f for _, f in chunks])) == list(
        range(NUM_FRAMES))


def test_probe(clip, backend):
    count, fps = VideoReader(clip).probe()
    assert fps == pytest.approx(FPS)
    assert count in (None, NUM_FRAMES)  # PyAV's metadata may lack it


def test_pyav_takes_over_where_decord_stops(clip, monkeypatch):
    class StopsAtFive:
        """Opens the file but fails on any batch past frame 4."""

        def __init__(self, path):
            import decord
            self.inner = decord.VideoReader(path, num_threads=1)

        def __len__(self):
            return len(self.inner)

        def get_batch(self, inds):
            if max(inds) > 4:
                raise RuntimeError('cannot seek')
            return self.inner.get_batch(inds)

    monkeypatch.setattr(video, '_decord_reader', StopsAtFive)
    reader = VideoReader(clip)
    chunks = list(reader.chunks(5))
    assert [start for start, _ in chunks] == [0, 5, 10]
    assert _levels(np.concatenate([f for _, f in chunks])) == list(
        range(NUM_FRAMES))
    assert _levels(reader.read([11, 1])) == [11, 1]


def test_errors_name_the_file(clip, tmp_path, backend):
    with pytest.raises(OSError, match=r'grey\.mp4.* ends before frame 40'):
        VideoReader(clip).read([1, 40])
    broken = tmp_path / 'broken.mp4'
    broken.write_bytes(b'not a video')
    with pytest.raises(OSError, match=r"Cannot read video '.*broken\.mp4'"):
        video_length(str(broken))
    with pytest.raises(OSError, match=r"Cannot read video '.*broken\.mp4'"):
        VideoReader(str(broken)).probe()
    with pytest.raises(OSError, match=r'broken\.mp4'):
        list(VideoReader(str(broken)).chunks())
