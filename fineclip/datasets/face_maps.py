"""The face-map file: one compressed ``.npz`` per clip.

A face analyser (``tools/data/extract_face_maps.py``) or the synthetic
generator writes, for every frame of a clip in frame order:

========== ======= ============ =============================================
key        dtype   shape        meaning
========== ======= ============ =============================================
landmarks  float32 (T, 68, 2)   iBUG-68 points ``(x / W, y / H)``: ``(0, 0)``
                                is the frame's top-left corner, ``(1, 1)``
                                its bottom-right corner
face_found bool    (T,)         whether the analyser found a face; frames
                                without one carry the maps of the nearest
                                frame with one
parsing    uint8   (T, S, S)    11 LaPa labels (:data:`PARSING_CLASSES`)
                                over the *whole frame*, resampled to ``S x
                                S`` (224 by default for extracted maps)
========== ======= ============ =============================================

Other keys (the synthetic generator adds ``action_units``) are allowed and
ignored. "Left" in point and label names means *image* left: points 17-21
and 36-41 and labels 2 and 4 are the image-left brow and eye.
"""
import os
import os.path as osp
import socket
from dataclasses import dataclass
from typing import Optional

import numpy as np

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


class FaceMapError(ValueError):
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
        lm, found, parsing = self.landmarks, self.face_found, self.parsing
        t = len(found)
        problems = []
        if found.dtype != np.bool_ or found.ndim != 1:
            problems.append(f'face_found must be a 1-D bool array, got '
                            f'{found.dtype} {found.shape}')
        if lm.shape != (t, NUM_LANDMARKS, 2) or lm.dtype != np.float32:
            problems.append(f'landmarks must be float32 ({t}, 68, 2), got '
                            f'{lm.dtype} {lm.shape}')
        elif not np.isfinite(lm).all():
            problems.append('landmarks hold NaN or inf')
        if (parsing.ndim != 3 or parsing.shape[0] != t
                or parsing.shape[1] != parsing.shape[2]
                or parsing.dtype != np.uint8):
            problems.append(f'parsing must be uint8 ({t}, S, S), got '
                            f'{parsing.dtype} {parsing.shape}')
        elif parsing.size and parsing.max() >= len(PARSING_CLASSES):
            problems.append(f'parsing holds label {int(parsing.max())}; '
                            f'labels are 0-{len(PARSING_CLASSES) - 1}')
        if t == 0:
            problems.append('no frames')
        if problems:
            raise FaceMapError(f'{where}: ' + '; '.join(problems))
        return self


def fill_missing(maps: FaceMaps) -> FaceMaps:
    """Gives each frame without a face the maps of the nearest frame with one.

    Ties go to the earlier frame. ``face_found`` is kept as it was, so the
    file still says which frames were filled. A clip with no face at all is
    returned unchanged (all-background parsing, whatever landmarks the
    analyser gave).
    """
    found = np.flatnonzero(maps.face_found)
    if len(found) in (0, maps.num_frames):
        return maps
    frames = np.arange(maps.num_frames)
    pos = np.searchsorted(found, frames).clip(1, len(found) - 1)
    before, after = found[pos - 1], found[pos]
    nearest = np.where(frames - before <= after - frames, before, after)
    nearest = np.where(frames < found[0], found[0], nearest)
    nearest = np.where(frames > found[-1], found[-1], nearest)
    return FaceMaps(maps.landmarks[nearest], maps.face_found.copy(),
                    maps.parsing[nearest])


def save_face_maps(path: str, maps: FaceMaps, **extra: np.ndarray) -> None:
    """Validates and writes ``maps`` (plus ``extra`` arrays) to ``path``.

    The file is written under a temporary name and renamed, so an
    interrupted extraction never leaves a truncated file that a resumed run
    would take for done. The temporary name is unique to the process
    (:func:`temporary_name`), so two writers of one folder (the ranks of a
    job, or two jobs on a shared disk) never write into each other's file;
    the last rename wins, with a complete file either way.
    """
    maps.validate(path)
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    tmp = temporary_name(path)
    try:
        np.savez_compressed(tmp, landmarks=maps.landmarks,
                            face_found=maps.face_found, parsing=maps.parsing,
                            **extra)
        os.replace(tmp, path)
    except BaseException:
        if osp.exists(tmp):
            os.remove(tmp)
        raise


def temporary_name(path: str) -> str:
    """Where :func:`save_face_maps` writes before renaming to ``path``:
    ``{path}.{host}-{pid}.part.npz``, one name per process and machine (a
    name ending in ``.npz``, which ``np.savez`` keeps as it is)."""
    host = socket.gethostname().split('.')[0] or 'host'
    return f'{path}.{host}-{os.getpid()}.part.npz'


def load_face_maps(path: str,
                   num_frames: Optional[int] = None) -> FaceMaps:
    """Reads and validates a face-map file.

    Args:
        path: The ``.npz`` file.
        num_frames: If given, the clip's frame count the file must match.

    Raises:
        FileNotFoundError: no file at ``path``.
        FaceMapError: unreadable file, missing keys, wrong shapes, or a frame
            count other than ``num_frames``.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(
            f'Face-map file {path} not found: extract the maps first with '
            'tools/data/extract_face_maps.py.')
    try:
        with np.load(path, allow_pickle=False) as data:
            missing = {'landmarks', 'face_found', 'parsing'} - set(data.files)
            if missing:
                raise FaceMapError(
                    f'{path}: missing key(s) {sorted(missing)}')
            maps = FaceMaps(data['landmarks'], data['face_found'],
                            data['parsing'])
    except FaceMapError:
        raise
    except Exception as err:  # zip, pickle or header errors
        raise FaceMapError(f'{path}: not a readable face-map file '
                           f'({err})') from err
    maps.validate(path)
    if num_frames is not None and maps.num_frames != num_frames:
        raise FaceMapError(
            f'{path}: holds {maps.num_frames} frames but the clip has '
            f'{num_frames}; re-extract the maps for this clip.')
    return maps
