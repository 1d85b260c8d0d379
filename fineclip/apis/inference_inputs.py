"""What infer reads: finding the clips under a path, and reading one clip's
frames in order (:class:`FrameSource`).

Video files are read by :class:`fineclip.datasets.video.VideoReader`, the
reader the datasets use, so a video infer opens is one training could
read, and the other way round.
"""
import os
import os.path as osp
from typing import Iterator, List, Optional, Tuple

import numpy as np

from fineclip.datasets.base import IMAGE_EXTENSIONS, list_frames, natural_key
from fineclip.datasets.transforms.loading import read_frame_files
from fineclip.datasets.video import VIDEO_EXTENSIONS, VideoReader
from fineclip.utils.errors import UserInputError

__all__ = ['DEFAULT_FOLDER_FPS', 'INPUT_VIDEO_EXTENSIONS', 'FrameSource',
           'InferenceError', 'find_inputs']

# Extensions a folder is searched for (a file given by name is tried
# whatever its extension).
INPUT_VIDEO_EXTENSIONS = tuple(sorted(set(VIDEO_EXTENSIONS) | {
    '.m4v', '.mpg', '.mpeg', '.wmv', '.flv', '.3gp', '.ts', '.mts'}))
# Frame folders carry no frame rate; DFEW, FERV39k and MAFW are 25 fps.
DEFAULT_FOLDER_FPS = 25.0


class InferenceError(UserInputError, RuntimeError):
    """A config, checkpoint or option infer cannot work with (the message
    says why and what to change)."""


def _is_video_name(name: str) -> bool:
    return osp.splitext(name)[1].lower() in INPUT_VIDEO_EXTENSIONS


def _has_frames(folder: str) -> bool:
    return any(osp.splitext(n)[1].lower() in IMAGE_EXTENSIONS
               for n in os.listdir(folder))


def find_inputs(path: str) -> List[str]:
    """The clips under ``path``.

    A file is one clip (a video, whatever its extension). A folder gives
    its videos and its sub-folders of frame images, or, when it holds
    frame images itself and neither of those, is one frame-folder clip.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        InferenceError: a folder with neither videos nor frames.
    """
    if not osp.exists(path):
        raise FileNotFoundError(f"No such video or folder: '{path}'")
    if osp.isfile(path):
        return [path]
    names = sorted(os.listdir(path), key=natural_key)
    clips = [
        osp.join(path, n) for n in names
        if (osp.isfile(osp.join(path, n)) and _is_video_name(n)) or (
            osp.isdir(osp.join(path, n)) and _has_frames(osp.join(path, n)))
    ]
    if not clips and _has_frames(path):
        clips = [path]
    if not clips:
        raise InferenceError(
            f"'{path}' holds no video ({', '.join(INPUT_VIDEO_EXTENSIONS)}) "
            'and no frame images.')
    return clips


class FrameSource:
    """A video file or a frame folder, read in order, chunk by chunk.

    Videos stream through :meth:`VideoReader.chunks
    <fineclip.datasets.video.VideoReader.chunks>` (decord, or PyAV where
    decord cannot open or stops reading a file), so a long video is
    decoded once per pass and never held whole.

    Args:
        path: Video file or folder of frame images.
        fps: Frame rate to use instead of the video's (needed for frame
            folders, which have none: :data:`DEFAULT_FOLDER_FPS`).

    Attributes:
        num_frames: Frames in the clip; for a video, its metadata's count
            (``None`` where PyAV's metadata has none).

    Raises:
        OSError: the video cannot be opened (the message names it).
        ValueError: a frame folder without images.
    """

    def __init__(self, path: str, fps: Optional[float] = None):
        self.path = path
        self.name = osp.basename(osp.normpath(path))
        self.is_video = osp.isfile(path)
        self.fps_assumed = False
        if self.is_video:
            self._video = VideoReader(path)
            self.num_frames, native_fps = self._video.probe()
        else:
            self.frame_names = list_frames(path)
            if not self.frame_names:
                raise ValueError(f"Frame folder '{path}' holds no images")
            self.num_frames, native_fps = len(self.frame_names), None
        if fps is not None:
            self.fps = float(fps)
        elif native_fps:
            self.fps = float(native_fps)
        else:
            self.fps, self.fps_assumed = DEFAULT_FOLDER_FPS, True
        if self.fps <= 0:
            raise ValueError(f'fps must be > 0, got {self.fps}')

    def chunks(self, size: int = 64) -> Iterator[Tuple[int, np.ndarray]]:
        """Yields ``(index of the first frame, (n, H, W, 3) RGB uint8)``.

        Raises:
            OSError: a frame cannot be decoded (the message names the file).
            ValueError: frames of different sizes.
        """
        shape = None
        for start, frames in self._raw_chunks(size):
            if shape is None:
                shape = frames.shape[1:]
            if frames.shape[1:] != shape:
                raise ValueError(f"'{self.path}' mixes frame sizes "
                                 f'{shape[:2]} and {frames.shape[1:3]}')
            yield start, frames

    def _raw_chunks(self, size: int) -> Iterator[Tuple[int, np.ndarray]]:
        if self.is_video:
            yield from self._video.chunks(size)
            return
        for start in range(0, self.num_frames, size):
            inds = range(start, min(start + size, self.num_frames))
            yield start, np.stack(read_frame_files(
                self.path, self.frame_names, inds, self.name))
