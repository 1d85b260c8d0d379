"""Scanning a dataset for what a user should know before training on it.

Every problem found is a :class:`Problem` of one kind (:data:`KINDS`): a
bad split-file line, a missing clip folder, an undecodable frame, a bad
video, a missing or unreadable face-map file, a clip without a
description... ``tools/data/check_dataset.py`` counts them per kind, split
and fold, shows the first few and says how to fix each kind.
"""
import os.path as osp
from collections import OrderedDict
from typing import Dict, List, NamedTuple, Optional

import numpy as np

from fineclip.utils.progress import progress_bar

from .base import is_clip_number
from .face_maps import load_face_maps
from .transforms.loading import read_frame
from .video import read_video_frames

#: kind -> (title, how to fix it). ``CONFIG`` stands for the config file;
#: the data tools' driver fills in the real commands (see
#: ``fineclip.apis.preparation``).
KINDS = OrderedDict([
    ('split', ('splits that cannot be read',
               'fix the file it names; point at the data set with '
               '--data-root DIR')),
    ('line', ('bad split-file lines',
              'correct the lines named (file:line), or leave them out with '
              '--cfg-options train_dataloader.dataset.on_bad_clip=skip')),
    ('clip_folder', ('missing or empty clip folders',
                     'unpack these clips again, or leave them out with '
                     'on_bad_clip=skip')),
    ('frames', ('undecodable frames or mixed frame sizes',
                'replace the files named (extract the clip frames again)')),
    ('video', ('missing or unreadable videos',
               'download or re-encode the videos named (--decode all reads '
               'every frame)')),
    ('face_map_missing', ('missing face-map files',
                          'python tools/data/extract_face_maps.py CONFIG '
                          '--analyzer FaceXFormerAnalyzer --analyzer-cfg '
                          'checkpoint=PATH')),
    ('face_map_bad', ('unreadable or mismatched face-map files',
                      'delete the files named, then run the extraction '
                      'again (it only does missing files)')),
    ('description_file', ('unreadable descriptions files',
                          'fix the line named, or write the file again '
                          '(tools/data/generate_descriptions.py, then '
                          'tools/data/refine_descriptions.py)')),
    ('description_missing', ('clips without a description',
                             'python tools/data/generate_descriptions.py '
                             'CONFIG --describer VideoLlavaDescriber, then '
                             'tools/data/refine_descriptions.py')),
    ('description_unmatched', ('descriptions of no listed clip',
                               'their clip ids match no clip of the splits '
                               'scanned: is it the right file, with the '
                               "dataset's clip ids?")),
])
#: How many problems of one kind a report shows.
SHOWN = 5


class Problem(NamedTuple):
    """One problem found.

    Attributes:
        kind: A key of :data:`KINDS`.
        message: What is wrong, naming the file (and line).
        path: The file it is about, where there is one.
    """

    kind: str
    message: str
    path: Optional[str] = None


def classify_bad_clip(message: str) -> str:
    """The kind of a problem a dataset recorded in ``bad_clips`` (those are
    the datasets' own messages, see :mod:`fineclip.datasets.base`)."""
    if 'frame folder' in message:
        return 'clip_folder'
    if 'video' in message:
        return 'video'
    if 'face-map file' in message:
        return 'face_map_missing'
    if 'description' in message:
        return 'description_missing'
    return 'line'


def loading_problems(dataset) -> List[Problem]:
    """The bad lines and clips a dataset left out while loading."""
    return [Problem(classify_bad_clip(m), m) for m in dataset.bad_clips]


def _frames_to_check(names: List[str], mode: str) -> List[str]:
    if mode == 'all':
        return names
    if mode == 'ends':
        return sorted({names[0], names[-1]})
    return []


def scan_clips(dataset, mode: str = 'ends',
               face_map_dir: Optional[str] = None,
               descriptions=None, progress: bool = True,
               face_map_cache: Optional[Dict[str, Optional[str]]] = None
               ) -> List[Problem]:
    """Reads what training would read of every clip and lists problems.

    Args:
        dataset: A loaded :class:`DFERBaseDataset` (its pipeline is unused).
        mode: Frames to decode: ``'ends'`` (first and last of each clip),
            ``'all'`` or ``'none'``.
        face_map_dir: Folder of the ``{clip_id}.npz`` face-map files; each
            must exist, load and match its clip's frame count. ``None``:
            the samples' own ``face_map_path`` if they have one.
        descriptions: A
            :class:`~fineclip.datasets.descriptions.DescriptionIndex`
            (every clip needs a non-empty description), a path whose file
            is missing (every clip lacks one), or ``None``.
        progress: Show a progress bar.
        face_map_cache: ``{path: error or None}`` shared between splits,
            so a file in several folds is read once.

    Returns:
        list[Problem]: in clip order.
    """
    problems = []
    cache = {} if face_map_cache is None else face_map_cache
    for i in progress_bar(range(len(dataset)), desc='checking clips',
                  disable=not progress):
        info = dataset.get_data_info(i)
        path = (osp.join(face_map_dir, info['clip_id'] + '.npz')
                if face_map_dir else info.get('face_map_path'))
        if path:
            problems += _face_map_problems(path, info, cache)
        if descriptions is not None:
            problems += _description_problems(dataset, info, descriptions)
        if mode == 'none':
            continue
        if 'video_path' in info:
            problems += _video_problems(info, mode)
        else:
            problems += _frame_problems(info, mode)
    return problems


def decode_problems(dataset, mode: str = 'ends',
                    progress: bool = True) -> List[str]:
    """Decodes frames of every clip and reports unreadable or mixed sizes,
    and face-map files (when the samples carry ``face_map_path``) that
    cannot be read or whose frame count differs from the clip's.

    Returns:
        list[str]: One message per bad clip, naming the file.
    """
    return [p.message for p in scan_clips(dataset, mode, progress=progress)]


def _frame_problems(info: dict, mode: str) -> List[Problem]:
    shapes = set()
    for name in _frames_to_check(info['frame_names'], mode):
        path = osp.join(info['frame_dir'], name)
        try:  # the loader's own reader: what passes here, it reads
            img = read_frame(path, info['clip_id'])
        except OSError as err:
            reason = (f'cannot read {path!r}: {err.strerror}'
                      if err.strerror else str(err))
            return [Problem('frames', f"clip {info['clip_id']}: {reason}",
                            path)]
        shapes.add(img.shape[:2])
    if len(shapes) > 1:
        return [Problem('frames', f"clip {info['clip_id']} in "
                        f"'{info['frame_dir']}' mixes frame sizes "
                        f'{sorted(shapes)}', info['frame_dir'])]
    return []


def _face_map_problems(path: str, info: dict, cache: dict
                       ) -> List[Problem]:
    """A face-map file that is missing, unreadable or not the clip's."""
    if path not in cache:
        if not osp.isfile(path):
            cache[path] = 'missing'
        else:
            try:
                load_face_maps(path, info['total_frames'])
                cache[path] = None
            except (OSError, ValueError) as err:
                cache[path] = str(err)
    error = cache[path]
    if error is None:
        return []
    if error == 'missing':
        return [Problem('face_map_missing', f"clip {info['clip_id']}: "
                        f"face-map file '{path}' is missing", path)]
    return [Problem('face_map_bad', f"clip {info['clip_id']}: {error}",
                    path)]


def _description_problems(dataset, info: dict, descriptions
                          ) -> List[Problem]:
    where = dataset.split_file
    if isinstance(descriptions, str):  # the file is missing
        return [Problem('description_missing',
                        f"clip {info['clip_id']}: no description, "
                        f"'{descriptions}' does not exist", descriptions)]
    try:
        descriptions.text_of(info['clip_id'], where)
    except ValueError as err:
        return [Problem('description_missing', str(err), descriptions.path)]
    return []


def number_key(clip_id: str) -> str:
    """Clip ids as the descriptions match them: numbered ids by value."""
    return str(int(clip_id)) if is_clip_number(clip_id) else clip_id


def unmatched_descriptions(descriptions, clip_ids) -> List[Problem]:
    """Descriptions whose clip id is none of ``clip_ids``."""
    known = {number_key(c) for c in clip_ids}
    return [Problem('description_unmatched',
                    f'{descriptions.path}:{record.line_no}: clip_id '
                    f'{record.clip_id!r} is no clip of the splits scanned',
                    descriptions.path)
            for key, record in descriptions.by_key.items()
            if key not in known]


def _video_problems(info: dict, mode: str) -> List[Problem]:
    last = info['total_frames'] - 1
    indices = range(last + 1) if mode == 'all' else sorted({0, last})
    try:
        read_video_frames(info['video_path'], list(indices))
    except OSError as err:
        return [Problem('video', f"clip {info['clip_id']}: {err}",
                        info['video_path'])]
    return []


def split_report(dataset, num_frames: int,
                 problems: Optional[List[Problem]] = None
                 ) -> Dict[str, object]:
    """Clips per class, frame-count statistics, clips shorter than T and
    the problems (default: the dataset's own ``bad_clips``)."""
    frames = np.array([dataset.get_data_info(i)['total_frames']
                       for i in range(len(dataset))], dtype=np.int64)
    short = [dataset.get_data_info(i)['clip_id']
             for i in np.flatnonzero(frames < num_frames)]
    stats = (dict(min=int(frames.min()), mean=float(frames.mean()),
                  median=float(np.median(frames)), max=int(frames.max()))
             if len(frames) else None)
    return dict(
        clips=len(dataset),
        per_class=dict(zip(dataset.classes, dataset.class_counts())),
        frames=stats, shorter_than_t=short,
        problems=(loading_problems(dataset) if problems is None
                  else list(problems)),
        warnings=list(getattr(dataset, 'load_warnings', [])))


def by_kind(problems: List[Problem]) -> 'OrderedDict[str, List[Problem]]':
    """Problems grouped by kind, in the order of :data:`KINDS`."""
    groups = OrderedDict((kind, []) for kind in KINDS)
    for problem in problems:
        groups.setdefault(problem.kind, []).append(problem)
    return OrderedDict((k, v) for k, v in groups.items() if v)


def format_problems(problems: List[Problem],
                    fixes: Optional[Dict[str, str]] = None,
                    indent: str = '   ') -> List[str]:
    """Lines: per kind its count, the first :data:`SHOWN` and the fix."""
    lines = []
    for kind, group in by_kind(problems).items():
        title, fix = KINDS.get(kind, (kind, ''))
        fix = (fixes or {}).get(kind, fix)
        lines.append(f'{indent}{title}: {len(group)}')
        lines += [f'{indent}  - {p.message}' for p in group[:SHOWN]]
        if len(group) > SHOWN:
            lines.append(f'{indent}  ... and {len(group) - SHOWN} more')
        if fix:
            lines.append(f'{indent}  fix: {fix}')
    return lines


def format_report(name: str, report: Dict[str, object], num_frames: int,
                  fixes: Optional[Dict[str, str]] = None) -> str:
    """Renders one split's report as text (``fixes``: kind -> the fix to
    print instead of the default of :data:`KINDS`)."""
    frames = report['frames']
    lines = [f"== {name}: {report['clips']} clips"]
    width = max((len(c) for c in report['per_class']), default=0)
    for cls, count in report['per_class'].items():
        share = 100 * count / max(report['clips'], 1)
        lines.append(f'   {cls:<{width}}  {count:6d}  ({share:4.1f}%)')
    if frames:
        lines.append(f"   frames per clip: min {frames['min']}, mean "
                     f"{frames['mean']:.1f}, median {frames['median']:.0f},"
                     f" max {frames['max']}")
    short = report['shorter_than_t']
    lines.append(f'   clips shorter than T={num_frames}: {len(short)}'
                 + (f" (e.g. {', '.join(short[:5])})" if short else '')
                 + ('; they are edge-padded' if short else ''))
    lines += [f'   warning: {w}' for w in report.get('warnings', [])]
    problems = report['problems']
    lines.append(f'   problems: {len(problems)}')
    lines += format_problems(problems, fixes, indent='     ')
    return '\n'.join(lines)
