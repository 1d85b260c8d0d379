"""Scanning a dataset for what a user should know before training on it."""
import os.path as osp
from typing import Dict, List

import cv2
import numpy as np
from tqdm import tqdm

from .face_maps import load_face_maps
from .video import read_video_frames


def _frames_to_check(names: List[str], mode: str) -> List[str]:
    if mode == 'all':
        return names
    if mode == 'ends':
        return sorted({names[0], names[-1]})
    return []


def decode_problems(dataset, mode: str = 'ends',
                    progress: bool = True) -> List[str]:
    """Decodes frames of every clip and reports unreadable or mixed sizes,
    and face-map files (when the dataset has ``face_map_dir``) that cannot
    be read or whose frame count differs from the clip's.

    Args:
        dataset: A :class:`DFERBaseDataset` (its pipeline is not used).
        mode: ``'ends'`` (first and last frame of each clip), ``'all'``
            (every frame) or ``'none'`` (face maps only).
        progress: Show a progress bar.

    Returns:
        list[str]: One message per bad clip, naming the file.
    """
    problems = []
    for i in tqdm(range(len(dataset)), desc='decoding', disable=not progress):
        info = dataset.get_data_info(i)
        if 'face_map_path' in info:
            problems += _face_map_problems(info)
        if mode == 'none':
            continue
        if 'video_path' in info:
            problems += _video_problems(info, mode)
            continue
        shapes = set()
        for name in _frames_to_check(info['frame_names'], mode):
            path = osp.join(info['frame_dir'], name)
            img = cv2.imread(path, cv2.IMREAD_COLOR)
            if img is None:
                problems.append(f"clip {info['clip_id']}: cannot decode "
                                f"'{path}'")
                break
            shapes.add(img.shape[:2])
        if len(shapes) > 1:
            problems.append(f"clip {info['clip_id']} in '{info['frame_dir']}'"
                            f' mixes frame sizes {sorted(shapes)}')
    return problems


def _face_map_problems(info: dict) -> List[str]:
    """A face-map file that is unreadable or does not match the clip."""
    try:
        load_face_maps(info['face_map_path'], info['total_frames'])
    except (OSError, ValueError) as err:
        return [f"clip {info['clip_id']}: {err}"]
    return []


def _video_problems(info: dict, mode: str) -> List[str]:
    last = info['total_frames'] - 1
    indices = range(last + 1) if mode == 'all' else sorted({0, last})
    try:
        read_video_frames(info['video_path'], list(indices))
    except OSError as err:
        return [f"clip {info['clip_id']}: {err}"]
    return []


def split_report(dataset, num_frames: int) -> Dict[str, object]:
    """Clips per class, frame-count statistics and clips shorter than T."""
    frames = np.array([dataset.get_data_info(i)['total_frames']
                       for i in range(len(dataset))])
    short = [dataset.get_data_info(i)['clip_id']
             for i in np.flatnonzero(frames < num_frames)]
    return dict(
        clips=len(dataset),
        per_class=dict(zip(dataset.classes, dataset.class_counts())),
        frames=dict(min=int(frames.min()), mean=float(frames.mean()),
                    median=float(np.median(frames)), max=int(frames.max())),
        shorter_than_t=short,
        problems=list(dataset.bad_clips))


def format_report(name: str, report: Dict[str, object],
                  num_frames: int) -> str:
    """Renders one split's report as text."""
    frames = report['frames']
    lines = [f"== {name}: {report['clips']} clips"]
    width = max(len(c) for c in report['per_class'])
    for cls, count in report['per_class'].items():
        share = 100 * count / max(report['clips'], 1)
        lines.append(f'   {cls:<{width}}  {count:6d}  ({share:4.1f}%)')
    lines.append(f"   frames per clip: min {frames['min']}, mean "
                 f"{frames['mean']:.1f}, median {frames['median']:.0f}, max "
                 f"{frames['max']}")
    short = report['shorter_than_t']
    lines.append(f'   clips shorter than T={num_frames}: {len(short)}'
                 + (f" (e.g. {', '.join(short[:5])})" if short else '')
                 + ('; they are edge-padded' if short else ''))
    problems = report['problems']
    lines.append(f'   problems: {len(problems)}')
    lines += [f'     - {p}' for p in problems]
    return '\n'.join(lines)
