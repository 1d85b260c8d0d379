"""What every describer provides to ``tools/data/generate_descriptions.py``."""
from typing import List, NamedTuple, Optional, Sequence

import numpy as np

from fineclip.datasets.description_provenance import make_provenance
from fineclip.datasets.face_maps import FaceMaps


class ClipInput(NamedTuple):
    """One clip handed to :meth:`BaseDescriber.describe`.

    Attributes:
        clip_id: The clip's id (the key of its line in the descriptions
            file).
        frames: ``(T, H, W, 3)`` uint8 RGB frames, or ``None`` for a
            describer whose ``needs_frames`` is False.
        face_maps: The clip's :class:`~fineclip.datasets.face_maps.FaceMaps`
            (landmarks ``(T_all, 68, 2)``), or ``None`` when there are none.
        label: The clip's class name, or ``None`` when unknown.
    """

    clip_id: str
    frames: Optional[np.ndarray]
    face_maps: Optional[FaceMaps]
    label: Optional[str]


def segment_middles(total: int, num: Optional[int]) -> np.ndarray:
    """Indices of ``num`` frames sampled uniformly from ``total`` frames.

    The clip is cut into ``num`` equal segments and the middle frame of each
    is taken (the test-time sampling of the training pipeline). A clip
    shorter than ``num`` repeats frames, so the result always holds ``num``
    indices.

    Args:
        total: Frames in the clip (>= 1).
        num: Frames wanted; ``None`` gives every frame.

    Returns:
        ``(num,)`` int64 indices in ``[0, total)``, non-decreasing.
    """
    if total < 1:
        raise ValueError(f'A clip needs at least one frame, got {total}')
    if num is None:
        return np.arange(total)
    if num < 1:
        raise ValueError(f'num must be >= 1 or None, got {num}')
    middles = (np.arange(num) + 0.5) * total / num
    return np.minimum(middles.astype(np.int64), total - 1)


class BaseDescriber:
    """Writes one free-text description of the facial movements per clip.

    Subclasses implement :meth:`describe_batch`; the description tool
    feeds it ``batch_size`` clips at a time (see
    :func:`fineclip.apis.description_generation.generate_descriptions`).

    Class attributes tell the tool what to load, so that nothing is read
    that a describer never looks at:

    * ``needs_frames``: the describer looks at the pixels;
    * ``needs_face_maps``: the describer cannot work without face maps;
    * ``num_frames``: how many frames (segment middles) the describer
      samples from a clip; the tool reads only those. ``None`` means all.

    Args:
        batch_size (int): Clips per :meth:`describe` call.
    """

    needs_frames = True
    needs_face_maps = False
    num_frames: Optional[int] = None

    def __init__(self, batch_size: int = 1):
        if batch_size < 1:
            raise ValueError(f'batch_size must be >= 1, got {batch_size}')
        self.batch_size = batch_size

    def describe(self, clips: Sequence) -> List[str]:
        """Describes a batch of clips.

        Args:
            clips: :class:`ClipInput` items, or plain ``(clip_id, frames,
                face_maps, label)`` tuples.

        Returns:
            One description per clip, in order.
        """
        clips = [ClipInput(*clip) for clip in clips]
        if self.needs_face_maps:
            for clip in clips:
                self.check_face_maps(clip)
        texts = list(self.describe_batch(clips))
        if len(texts) != len(clips):
            raise RuntimeError(f'{type(self).__name__} returned '
                               f'{len(texts)} descriptions for '
                               f'{len(clips)} clips')
        return texts

    def describe_batch(self, clips: List[ClipInput]) -> List[str]:
        """Describes checked clips; what subclasses implement."""
        raise NotImplementedError

    def provenance(self, clip: ClipInput) -> dict:
        """How this describer makes ``clip``'s text: the provenance fields
        of its line (:mod:`fineclip.datasets.description_provenance`).

        The default says: this class, no model, no prompt, no label. A
        describer that reads ``clip.label`` or runs a model overrides it.
        """
        return make_provenance(type(self).__name__, label_given=False)

    def check_face_maps(self, clip: ClipInput) -> None:
        """Raises a clear error when a clip that needs face maps has none."""
        if clip.face_maps is None:
            raise ValueError(
                f'{type(self).__name__} describes clips from their face '
                f'maps, and clip {clip.clip_id} has none. Extract them with '
                'tools/data/extract_face_maps.py, then set the dataset\'s '
                'face_map_dir in the config (or pass --face-map-dir to '
                'tools/data/generate_descriptions.py).')
