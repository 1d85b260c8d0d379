"""Reading frames from video files: decord first, PyAV when decord fails.

decord seeks to the frames asked for; PyAV decodes the stream in order and
keeps the ones asked for, slower but it opens files decord cannot.
"""
from typing import List, Sequence

import numpy as np

VIDEO_EXTENSIONS = ('.mp4', '.avi', '.mov', '.mkv', '.webm')


def _decord_reader(path: str):
    import decord
    return decord.VideoReader(path, num_threads=1)


def _pyav_frames(path: str, wanted: Sequence[int] = None) -> List[np.ndarray]:
    """Decodes ``path`` with PyAV; all frames, or only ``wanted`` indices."""
    try:
        import av
    except ImportError as err:
        raise OSError(f"decord cannot read '{path}' and PyAV, the fallback, "
                      'is not installed (pip install av)') from err
    wanted = None if wanted is None else set(wanted)
    frames = []
    with av.open(path) as container:
        for i, frame in enumerate(container.decode(video=0)):
            if wanted is None or i in wanted:
                frames.append((i, frame.to_ndarray(format='rgb24')))
            elif i > max(wanted):
                break
    return frames


def video_length(path: str) -> int:
    """Number of frames in a video; raises ``OSError`` naming the file."""
    try:
        return len(_decord_reader(path))
    except Exception:  # decord raises its own errors; try the fallback
        pass
    try:
        count = len(_pyav_frames(path))
    except OSError:
        raise
    except Exception as err:
        raise OSError(f"Cannot read video '{path}': {err}") from err
    if count == 0:
        raise OSError(f"Video '{path}' holds no decodable frame")
    return count


def read_video_frames(path: str, indices: Sequence[int]) -> List[np.ndarray]:
    """RGB uint8 frames at ``indices`` (repeats allowed) of a video."""
    unique = sorted({int(i) for i in indices})
    try:
        batch = _decord_reader(path).get_batch(unique).asnumpy()
        by_index = dict(zip(unique, batch))
    except Exception:  # a file decord opens but cannot seek in
        try:
            by_index = dict(_pyav_frames(path, unique))
        except OSError:
            raise
        except Exception as err:
            raise OSError(f"Cannot read video '{path}': {err}") from err
    missing = [i for i in unique if i not in by_index]
    if missing:
        raise OSError(f"Video '{path}' ends before frame {missing[0]} "
                      '(truncated?)')
    return [by_index[int(i)] for i in indices]
