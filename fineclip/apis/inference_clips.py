"""The clips infer predicts in one video (the whole video, then sliding
windows) and their samples, shaped like a dataset's so the config's own
test pipeline reads them."""
import os.path as osp
from typing import List, Optional, Sequence, Tuple

from fineclip.datasets.face_maps import FaceMaps, save_face_maps
from .inference_faces import describe_clip, slice_maps
from .inference_model import ModelNeeds

__all__ = ['clip_ranges', 'clip_sample', 'clip_samples', 'window_ranges']


def window_ranges(num_frames: int, fps: float, window: float,
                  stride: float) -> List[Tuple[int, int]]:
    """``[start, end)`` frame ranges of sliding windows over a video.

    Windows of ``window`` seconds start every ``stride`` seconds; one more
    window, flush with the end, covers a remainder. A video shorter than
    one window is one window.
    """
    if window <= 0 or stride <= 0:
        raise ValueError(f'window and stride must be > 0 seconds, got '
                         f'{window} and {stride}')
    length = max(1, int(round(window * fps)))
    step = max(1, int(round(stride * fps)))
    if num_frames <= length:
        return [(0, num_frames)]
    ranges = [(s, s + length)
              for s in range(0, num_frames - length + 1, step)]
    if ranges[-1][1] < num_frames:
        ranges.append((num_frames - length, num_frames))
    return ranges


def clip_ranges(num_frames: int, fps: float, window: Optional[float],
                stride: Optional[float]) -> List[Tuple[int, int]]:
    """The clips to predict: the whole video first, then the sliding
    windows when ``window`` is given (``stride`` defaults to 1 s, or the
    window if shorter)."""
    ranges = [(0, num_frames)]
    if window is not None:
        stride = stride if stride is not None else min(1.0, window)
        ranges += window_ranges(num_frames, fps, window, stride)
    return ranges


def clip_samples(ranges: Sequence[Tuple[int, int]], source_name: str,
                 work: str, names: List[str], maps: Optional[FaceMaps],
                 needs: ModelNeeds, describer,
                 progress: bool = False) -> List[dict]:
    """Step 5: one dataset-like sample per clip ``[start, end)`` of the
    crops, with its face-map file and description when the model reads
    them (see :func:`clip_sample`)."""
    from fineclip.utils.progress import progress_bar
    bar = progress_bar(ranges, desc=f'clips {source_name}', leave=False,
               disable=not progress or len(ranges) < 3)
    return [clip_sample(k, start, end, source_name, work, names, maps,
                        needs, describer)
            for k, (start, end) in enumerate(bar)]


def clip_sample(k: int, start: int, end: int, source_name: str, work: str,
                names: List[str], maps: Optional[FaceMaps],
                needs: ModelNeeds, describer) -> dict:
    """The sample of clip ``k`` (frames ``[start, end)``): the fields a
    dataset gives (``clip_id``, ``frame_dir``, ``frame_names``,
    ``total_frames``), plus ``face_map_path`` (the clip's maps, saved as
    ``face_maps/<k>.npz`` under ``work``) and ``description`` where
    ``needs`` asks for them."""
    crop_dir = osp.join(work, 'crops')
    clip_id = f'{source_name}[{start}:{end}]'
    sample = dict(clip_id=clip_id, frame_dir=crop_dir,
                  frame_names=names[start:end], total_frames=end - start)
    clip_maps = None if maps is None else slice_maps(maps, start, end)
    if needs.face_maps:
        sample['face_map_path'] = osp.join(work, 'face_maps', f'{k}.npz')
        save_face_maps(sample['face_map_path'], clip_maps)
    if needs.description:
        sample['description'] = describe_clip(describer, clip_id, crop_dir,
                                              names[start:end], clip_maps)
    return sample
