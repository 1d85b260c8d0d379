"""The face-map file: one compressed ``.npz`` per clip.

A face analyser (``tools/data/extract_face_maps.py``) or the synthetic
generator writes, for every frame of a clip in frame order:

=============== ======= ============ ========================================
key             dtype   shape        meaning
=============== ======= ============ ========================================
landmarks       float32 (T, 68, 2)   iBUG-68 points ``(x / W, y / H)``:
                                     ``(0, 0)`` is the frame's top-left
                                     corner, ``(1, 1)`` its bottom-right
face_found      bool    (T,)         whether the analyser found a face;
                                     frames without one carry the maps of
                                     the nearest frame with one
parsing_{t:05d} uint8   (S, S)       frame ``t``'s 11 LaPa labels
                                     (:data:`PARSING_CLASSES`) over the
                                     *whole frame*, resampled to ``S x S``
                                     (224 by default for extracted maps);
                                     one key per frame, ``t = 0 .. T-1``
=============== ======= ============ ========================================

Each frame's parsing map is its own compressed member of the zip, so a
training sample decompresses only the frames it samples
(:func:`load_face_map_frames`), not the whole clip. Files of the earlier
layout, one ``parsing`` key of shape ``(T, S, S)``, are still read (every
read then decompresses all T maps); :func:`upgrade_face_map_file`, or
``tools/data/extract_face_maps.py DIR --upgrade``, rewrites them.

Other keys (the synthetic generator adds ``action_units``) are allowed and
ignored. Files are read with ``allow_pickle=False``: an array of pickled
objects is refused, never unpickled. "Left" in point and label names means
*image* left: points 17-21 and 36-41 and labels 2 and 4 are the image-left
brow and eye.
"""
import os
import os.path as osp
import shlex
import socket
import threading
import warnings
from dataclasses import dataclass
from typing import List, Optional

import numpy as np

from fineclip.utils.errors import UserInputError

NUM_LANDMARKS = 68
PARSING_CLASSES = ('background', 'skin', 'left_eyebrow', 'right_eyebrow',
                   'left_eye', 'right_eye', 'nose', 'upper_lip',
                   'inner_mouth', 'lower_lip', 'hair')


def _mirror_pairs(pairs):
    order = np.arange(NUM_LANDMARKS)
    for a, b in pairs:
        order[a], order[b] = b, a
    return order


# After a horizontal flip, point i of the flipped face is point
# LANDMARK_FLIP_ORDER[i] of the original (iBUG-68 symmetry).
LANDMARK_FLIP_ORDER = _mirror_pairs(
    [(i, 16 - i) for i in range(8)] +                 # jaw
    [(17 + i, 26 - i) for i in range(5)] +            # brows
    [(31, 35), (32, 34)] +                            # nostrils
    [(36, 45), (37, 44), (38, 43), (39, 42), (40, 47), (41, 46)] +  # eyes
    [(48, 54), (49, 53), (50, 52), (55, 59), (56, 58)] +  # outer lips
    [(60, 64), (61, 63), (65, 67)])                   # inner lips
# Parsing labels swapped by a horizontal flip: left/right brow and eye.
PARSING_FLIP_LABELS = np.array([0, 1, 3, 2, 5, 4, 6, 7, 8, 9, 10], np.uint8)


class FaceMapError(UserInputError, ValueError):
    """A face-map file is missing keys or holds arrays of the wrong form."""


@dataclass
class FaceMaps:
    """The face maps of one clip (see the module docstring for the format).

    Attributes:
        landmarks: ``(T, 68, 2)`` float32, normalised to the frame.
        face_found: ``(T,)`` bool.
        parsing: ``(T, S, S)`` uint8 labels.
    """

    landmarks: np.ndarray
    face_found: np.ndarray
    parsing: np.ndarray

    @property
    def num_frames(self) -> int:
        return len(self.face_found)

    def validate(self, where: str = 'face maps') -> 'FaceMaps':
        """Checks dtypes, shapes and ranges; raises :class:`FaceMapError`."""
        _problems(where, self.problems())
        return self

    def problems(self, parsing: bool = True) -> List[str]:
        """What is wrong with the arrays (empty if nothing), parsing maps
        included unless ``parsing=False``."""
        lm, found = self.landmarks, self.face_found
        t = len(found) if found.ndim else 0
        problems = []
        if found.dtype != np.bool_ or found.ndim != 1:
            problems.append(f'face_found must be a 1-D bool array, got '
                            f'{found.dtype} {found.shape}')
        if lm.shape != (t, NUM_LANDMARKS, 2) or lm.dtype != np.float32:
            problems.append(f'landmarks must be float32 ({t}, 68, 2), got '
                            f'{lm.dtype} {lm.shape}')
        elif not np.isfinite(lm).all():
            problems.append('landmarks hold NaN or inf')
        if parsing:
            problems += _parsing_problems(self.parsing, t)
        if t == 0:
            problems.append('no frames')
        return problems


def _parsing_problems(parsing: np.ndarray, t: int) -> List[str]:
    if (parsing.ndim != 3 or parsing.shape[0] != t
            or parsing.shape[1] != parsing.shape[2]
            or parsing.dtype != np.uint8):
        return [f'parsing must be uint8 ({t}, S, S), got '
                f'{parsing.dtype} {parsing.shape}']
    if parsing.size and parsing.max() >= len(PARSING_CLASSES):
        return [f'parsing holds label {int(parsing.max())}; '
                f'labels are 0-{len(PARSING_CLASSES) - 1}']
    return []


def nearest_found(face_found: np.ndarray) -> np.ndarray:
    """For every frame, the nearest frame with a face (itself if it has
    one); ties go to the earlier frame. A clip without any face maps every
    frame to itself."""
    found = np.flatnonzero(face_found)
    frames = np.arange(len(face_found))
    if len(found) in (0, len(face_found)):
        return frames
    pos = np.searchsorted(found, frames).clip(1, len(found) - 1)
    before, after = found[pos - 1], found[pos]
    nearest = np.where(frames - before <= after - frames, before, after)
    nearest = np.where(frames < found[0], found[0], nearest)
    return np.where(frames > found[-1], found[-1], nearest)


def fill_missing(maps: FaceMaps) -> FaceMaps:
    """Gives each frame without a face the maps of the nearest frame with one.

    Ties go to the earlier frame. ``face_found`` is kept as it was, so the
    file still says which frames were filled. A clip with no face at all is
    returned unchanged (all-background parsing, whatever landmarks the
    analyser gave).
    """
    if maps.face_found.all() or not maps.face_found.any():
        return maps
    nearest = nearest_found(maps.face_found)
    return FaceMaps(maps.landmarks[nearest], maps.face_found.copy(),
                    maps.parsing[nearest])


def parsing_key(t: int) -> str:
    """The key of frame ``t``'s parsing map in a face-map file."""
    return f'parsing_{t:05d}'


def save_face_maps(path: str, maps: FaceMaps, **extra: np.ndarray) -> None:
    """Validates and writes ``maps`` (plus ``extra`` arrays) to ``path``.

    One compressed member per frame's parsing map (the module docstring's
    layout). The file is written under a temporary name and renamed, so an
    interrupted extraction never leaves a truncated file that a resumed run
    would take for done. The temporary name is unique to the writer
    (:func:`temporary_name`), so two writers of one folder (threads, the
    ranks of a job, or two jobs on a shared disk) never write into each
    other's file; the last rename wins, with a complete file either way.
    """
    maps.validate(path)
    arrays = dict(extra, landmarks=maps.landmarks,
                  face_found=maps.face_found)
    arrays.update((parsing_key(t), p) for t, p in enumerate(maps.parsing))
    _write_atomically(path, arrays)


def _write_atomically(path: str, arrays: dict) -> None:
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    tmp = temporary_name(path)
    try:
        np.savez_compressed(tmp, **arrays)
        os.replace(tmp, path)
    except BaseException:
        if osp.exists(tmp):
            os.remove(tmp)
        raise


def temporary_name(path: str) -> str:
    """Where :func:`save_face_maps` writes before renaming to ``path``:
    ``{path}.{host}-{pid}-{thread}.part.npz``, one name per machine,
    process and thread (a name ending in ``.npz``, which ``np.savez``
    keeps as it is)."""
    host = socket.gethostname().split('.')[0] or 'host'
    return f'{path}.{host}-{os.getpid()}-{threading.get_ident()}.part.npz'


def _missing_file(path: str) -> FileNotFoundError:
    return FileNotFoundError(
        f'Face-map file {path} not found: extract the maps first with '
        'tools/data/extract_face_maps.py.')


def _problems(where: str, problems: list) -> None:
    if problems:
        raise FaceMapError(f'{where}: ' + '; '.join(problems))


class _FaceMapFile:
    """An open face-map file of either layout; reads arrays on demand and
    turns every read error into a :class:`FaceMapError` naming the file."""

    def __init__(self, path: str):
        if not osp.isfile(path):
            raise _missing_file(path)
        self.path = path
        try:
            self.data = np.load(path, allow_pickle=False)
        except Exception as err:  # not a zip / npy, pickled data
            raise self._unreadable(err) from err
        if not hasattr(self.data, 'files'):  # a bare .npy array
            raise FaceMapError(f'{path}: not a readable face-map file (an '
                               '.npy array, not an .npz archive)')
        self.keys = set(self.data.files)
        missing = sorted({'landmarks', 'face_found'} - self.keys)
        self.per_frame = 'parsing' not in self.keys
        if self.per_frame and parsing_key(0) not in self.keys:
            missing.append('parsing')
        if missing:
            self.close()
            raise FaceMapError(f'{path}: missing key(s) {missing}')

    def _unreadable(self, err: Exception) -> FaceMapError:
        return FaceMapError(f'{self.path}: not a readable face-map file '
                            f'({type(err).__name__}: {err})')

    def read(self, key: str) -> np.ndarray:
        try:
            return self.data[key]
        except Exception as err:  # zip, CRC, header or pickle errors
            raise self._unreadable(err) from err

    def track(self, num_frames: Optional[int]):
        """Validated landmarks and face_found of every frame."""
        lm, found = self.read('landmarks'), self.read('face_found')
        _problems(self.path, FaceMaps(lm, found, _NO_PARSING)
                  .problems(parsing=False))
        t = len(found)
        if num_frames is not None and t != num_frames:
            raise FaceMapError(
                f'{self.path}: holds {t} frames but the clip has '
                f'{num_frames}; re-extract the maps for this clip.')
        if self.per_frame:
            absent = [parsing_key(i) for i in range(t)
                      if parsing_key(i) not in self.keys]
            if absent:
                raise FaceMapError(
                    f'{self.path}: missing key(s) {absent[:3]}' +
                    (f' and {len(absent) - 3} more' if len(absent) > 3
                     else '') + f' (parsing maps of {t} frames)')
        return lm, found

    def parsing(self, frames: np.ndarray, t: int) -> np.ndarray:
        """Parsing maps of ``frames`` (indices below ``t``), validated."""
        if not self.per_frame:
            parsing = self.read('parsing')
            _problems(self.path, _parsing_problems(parsing, t))
            return parsing[frames]
        keys = [parsing_key(int(i)) for i in frames]
        maps = [self.read(key) for key in keys]
        first = maps[0].shape if maps else None
        odd = [f'{k} {m.dtype} {m.shape}' for k, m in zip(keys, maps)
               if m.dtype != np.uint8 or m.ndim != 2
               or m.shape[0] != m.shape[-1] or m.shape != first]
        if odd:
            raise FaceMapError(
                f'{self.path}: parsing maps must be uint8 (S, S), all of '
                f"one size S; got {', '.join(odd[:3])}" +
                ('' if odd[0].startswith(keys[0] + ' ')
                 else f' ({keys[0]}: {maps[0].dtype} {first})'))
        parsing = np.stack(maps) if maps else np.zeros((0, 1, 1), np.uint8)
        _problems(self.path, _parsing_problems(parsing, len(parsing)))
        return parsing

    def close(self) -> None:
        self.data.close()

    def __enter__(self) -> '_FaceMapFile':
        return self

    def __exit__(self, *exc) -> None:
        self.close()


_NO_PARSING = np.zeros((0, 1, 1), np.uint8)
_WARNED_FOLDERS: set = set()


def _warn_array_layout(path: str) -> None:
    """Once per folder and process: the earlier layout is slow to sample."""
    folder = osp.dirname(osp.abspath(path))
    if folder in _WARNED_FOLDERS:
        return
    _WARNED_FOLDERS.add(folder)
    warnings.warn(
        f'{path}: face maps in the earlier layout (one (T, S, S) parsing '
        'array), so every sample decompresses the maps of all T frames. '
        'Rewrite the files once, in place (arrays kept exactly): `python '
        'tools/data/extract_face_maps.py CONFIG --upgrade` (the config\'s '
        'face-map folder) or `python tools/data/extract_face_maps.py '
        f'{shlex.quote(folder)} --upgrade` (this folder and those below '
        'it).',
        FaceMapLayoutWarning, stacklevel=3)


class FaceMapLayoutWarning(UserWarning):
    """A face-map file of the earlier, whole-clip parsing layout."""


def load_face_maps(path: str,
                   num_frames: Optional[int] = None) -> FaceMaps:
    """Reads and validates a face-map file, every frame (either layout).

    Args:
        path: The ``.npz`` file.
        num_frames: If given, the clip's frame count the file must match.

    Raises:
        FileNotFoundError: no file at ``path``.
        FaceMapError: unreadable file, pickled objects, missing keys, wrong
            shapes or dtypes, or a frame count other than ``num_frames``.
    """
    with _FaceMapFile(path) as f:
        lm, found = f.track(num_frames)
        parsing = f.parsing(np.arange(len(found)), len(found))
    return FaceMaps(lm, found, parsing)


def load_face_map_frames(path: str, frames, num_frames: Optional[int] = None
                         ) -> FaceMaps:
    """The maps of some frames of a clip, frames without a face filled.

    Reads the landmarks and ``face_found`` of the whole clip (small), and
    the parsing maps of only the frames needed: each of ``frames``, or for
    one without a face, the nearest frame with one (as :func:`fill_missing`
    does over the whole clip). A file of the earlier layout is read whole.

    Args:
        path: The ``.npz`` file.
        frames: Frame indices (repeats allowed), e.g. a sample's.
        num_frames: If given, the clip's frame count the file must match.

    Returns:
        FaceMaps: ``len(frames)`` frames, in the order of ``frames``.

    Raises:
        FileNotFoundError, FaceMapError: as :func:`load_face_maps`; also
            a frame index outside the clip.
    """
    frames = np.asarray(frames, np.int64).reshape(-1)
    with _FaceMapFile(path) as f:
        lm, found = f.track(num_frames)
        t = len(found)
        if frames.size and (frames.min() < 0 or frames.max() >= t):
            raise FaceMapError(f'{path}: holds {t} frames; frame '
                               f'{int(frames.max())} was asked for')
        if not f.per_frame:
            _warn_array_layout(path)
        source = nearest_found(found)[frames]
        needed, where = np.unique(source, return_inverse=True)
        parsing = f.parsing(needed, t)[where]
    return FaceMaps(lm[source], found[frames], parsing)


def face_map_layout(path: str) -> str:
    """``'per_frame'`` (the current layout) or ``'array'`` (the earlier
    one) for a readable face-map file."""
    with _FaceMapFile(path) as f:
        return 'per_frame' if f.per_frame else 'array'


def upgrade_face_map_file(path: str) -> bool:
    """Rewrites a file of the earlier layout in the per-frame one.

    Every array is kept bit for bit (``parsing`` split into one key per
    frame, other keys such as ``action_units`` as they are); the new file
    replaces the old one atomically.

    Returns:
        bool: True if the file was rewritten, False if it was current.
    """
    with _FaceMapFile(path) as f:
        if f.per_frame:
            return False
        lm, found = f.track(None)
        parsing = f.read('parsing')
        extra = {k: f.read(k) for k in f.keys
                 if k not in ('landmarks', 'face_found', 'parsing')}
    maps = FaceMaps(lm, found, parsing)
    maps.validate(path)
    save_face_maps(path, maps, **extra)
    return True
