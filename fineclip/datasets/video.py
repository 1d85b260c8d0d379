"""Reading frames from video files: decord first, PyAV when decord fails.

:class:`VideoReader` is the one reader of video files: training
(``DecodeFrames``, the datasets' frame counts, the data tools) and
inference (``FrameSource``) all go through it. It reads in two ways:

* **by index** (:meth:`VideoReader.read`): the frames a sampler picked;
  decord seeks to them, PyAV decodes the stream in order and keeps them;
* **in order** (:meth:`VideoReader.chunks`): every frame, a chunk at a
  time, so a long video is decoded once per pass and never held whole.

decord is tried first (it seeks, so sampled reads are cheap); PyAV, slower,
opens files decord cannot, and takes over where decord stops reading.
"""
from typing import Iterator, List, Optional, Sequence, Tuple

import numpy as np

VIDEO_EXTENSIONS = ('.mp4', '.avi', '.mov', '.mkv', '.webm')


def _decord_reader(path: str):
    """A decord reader of ``path`` (raises decord's own errors).

    Looked up at call time, so tests can stand in a failing one.
    """
    import decord
    return decord.VideoReader(path, num_threads=1)


def _require_av(path: str):
    """The ``av`` module, or an ``OSError`` saying the fallback is missing."""
    try:
        import av
    except ImportError as err:
        raise OSError(f"decord cannot read '{path}' and PyAV, the fallback, "
                      'is not installed (pip install av)') from err
    return av


def _pyav_decode(av, path: str) -> Iterator[Tuple[int, object]]:
    """``(index, av.VideoFrame)`` of every frame of ``path``, in order.

    Frames are converted by the caller, so counting them costs no copies.
    ``av`` comes from :func:`_require_av`, called before decoding so a
    missing PyAV is told apart from a file it cannot decode.
    """
    with av.open(path) as container:
        _check_video_stream(container, path)
        for i, frame in enumerate(container.decode(video=0)):
            yield i, frame


def _check_video_stream(container, path: str) -> None:
    """An ``OSError`` naming what the file holds instead of a video
    stream (an audio-only .mp4), not PyAV's ``tuple index out of range``."""
    if not container.streams.video:
        kinds = sorted({s.type for s in container.streams}) or ['nothing']
        raise OSError(f"'{path}' holds no video stream (only "
                      f"{', '.join(kinds)}); give a video file")


def _rgb(frame) -> np.ndarray:
    return frame.to_ndarray(format='rgb24')


class VideoReader:
    """One video file, read by index or in order.

    decord opens the file when it can; where it cannot (or stops reading
    part-way), PyAV decodes it instead.

    Args:
        path: The video file.
    """

    def __init__(self, path: str):
        self.path = path
        try:
            self._decord = _decord_reader(path)
            self.decord_error: Optional[Exception] = None
        except Exception as err:  # decord raises its own errors
            self._decord, self.decord_error = None, err

    @property
    def backend(self) -> str:
        """``'decord'`` or ``'pyav'``: what reads the file."""
        return 'pyav' if self._decord is None else 'decord'

    def probe(self) -> Tuple[Optional[int], Optional[float]]:
        """``(frame count or None, fps or None)`` from the file's metadata,
        without decoding (PyAV's count may be missing or approximate).

        Raises:
            OSError: neither decord nor PyAV can open the file.
        """
        if self._decord is not None:
            return len(self._decord), self._decord.get_avg_fps()
        try:
            import av
            with av.open(self.path) as container:
                _check_video_stream(container, self.path)
                stream = container.streams.video[0]
                rate = stream.average_rate or stream.guessed_rate
                return (stream.frames or None,
                        float(rate) if rate else None)
        except Exception as err:
            raise OSError(f"Cannot read video '{self.path}': neither decord "
                          f'nor PyAV can open it ({err})') from err

    def count_frames(self) -> int:
        """The exact number of frames (PyAV decodes the whole stream).

        Raises:
            OSError: an unreadable or empty video (the message names it).
        """
        if self._decord is not None:
            return len(self._decord)
        av = _require_av(self.path)
        try:
            count = sum(1 for _ in _pyav_decode(av, self.path))
            with av.open(self.path) as container:
                listed = container.streams.video[0].frames
        except Exception as err:  # av.error.* differ between versions
            raise OSError(f"Cannot read video '{self.path}': {err}") from err
        if count == 0:
            raise OSError(f"Video '{self.path}' holds no decodable frame")
        if listed and count < listed:
            # PyAV stops quietly where a cut-short file ends
            raise OSError(f"Video '{self.path}' decodes to {count} of the "
                          f'{listed} frames its header lists (truncated?)')
        return count

    def read(self, indices: Sequence[int]) -> List[np.ndarray]:
        """RGB uint8 ``(H, W, 3)`` frames at ``indices`` (any order,
        repeats allowed); each distinct frame is decoded once.

        Raises:
            OSError: an unreadable video, or one that ends before an index
                (the message names the file).
        """
        unique = sorted({int(i) for i in indices})
        by_index = None
        if self._decord is not None:
            try:
                batch = self._decord.get_batch(unique).asnumpy()
                by_index = dict(zip(unique, batch))
            except Exception:  # a file decord opens but cannot seek in
                pass
        if by_index is None:
            by_index = self._pyav_read(unique)
        missing = [i for i in unique if i not in by_index]
        if missing:
            raise OSError(f"Video '{self.path}' ends before frame "
                          f'{missing[0]} (truncated?)')
        return [by_index[int(i)] for i in indices]

    def _pyav_read(self, unique: List[int]) -> dict:
        av = _require_av(self.path)
        wanted, last = set(unique), max(unique, default=-1)
        by_index = {}
        try:
            for i, frame in _pyav_decode(av, self.path):
                if i > last:
                    break
                if i in wanted:
                    by_index[i] = _rgb(frame)
        except Exception as err:  # av.error.* differ between versions
            raise OSError(f"Cannot read video '{self.path}': {err}") from err
        return by_index

    def chunks(self, size: int = 64) -> Iterator[Tuple[int, np.ndarray]]:
        """Every frame in order: ``(index of the first frame, (n, H, W, 3)
        RGB uint8)`` per chunk of ``size`` frames (the last may be short).

        Raises:
            OSError: a frame cannot be decoded (the message names the file
                and where it stopped).
        """
        if size < 1:
            raise ValueError(f'chunk size must be >= 1, got {size}')
        start = 0
        if self._decord is not None:
            try:
                for start in range(0, len(self._decord), size):
                    stop = min(start + size, len(self._decord))
                    yield start, self._decord.get_batch(
                        range(start, stop)).asnumpy()
                return
            except Exception:  # a file decord opens but cannot seek in
                pass
        # PyAV from the first frame decord did not give
        yield from self._pyav_chunks(size, skip=start)

    def _pyav_chunks(self, size: int,
                     skip: int) -> Iterator[Tuple[int, np.ndarray]]:
        av = _require_av(self.path)
        batch, first = [], skip
        try:
            for i, frame in _pyav_decode(av, self.path):
                if i < skip:
                    continue
                batch.append(_rgb(frame))
                if len(batch) == size:
                    yield first, np.stack(batch)
                    batch, first = [], i + 1
        except Exception as err:  # av.error.* differ between versions
            raise OSError(f"Cannot decode video '{self.path}' after frame "
                          f'{first + len(batch)}: {err}') from err
        if batch:
            yield first, np.stack(batch)


def video_length(path: str) -> int:
    """Number of frames in a video; raises ``OSError`` naming the file."""
    return VideoReader(path).count_frames()


def read_video_frames(path: str, indices: Sequence[int]) -> List[np.ndarray]:
    """RGB uint8 frames at ``indices`` (repeats allowed) of a video."""
    return VideoReader(path).read(indices)
