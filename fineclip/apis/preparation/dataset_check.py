"""The driver of ``tools/data/check_dataset.py``: every split and fold
scanned, every problem counted by kind, none raised.

A split that cannot be read, a clip without its face-map file or
description, an unreadable npz or video: each is a
:class:`~fineclip.datasets.inspection.Problem`, reported per split and
fold with the first few paths and the command that fixes it.
"""
import importlib.util
import os.path as osp
from collections import OrderedDict
from typing import Callable, Dict, List, Optional, Sequence

from mmengine.config import Config

from fineclip.datasets.inspection import (KINDS, Problem, classify_bad_clip,
                                          format_problems,
                                          format_report, loading_problems,
                                          scan_clips, split_report,
                                          unmatched_descriptions)

from ..description_leakage import leakage_line
from .commands import (PrepareOptions, command_line, descriptions_argv,
                       face_maps_argv, refine_argv)
from .data_items import description_paths, unique_sources
from .scan import missing_data_roots, scan_datasets

#: What the later ``prepare.py --run`` steps make, so its check step
#: does not stop on them.
MADE_BY_STEPS = ('face_map_missing', 'description_missing')


def fix_commands(cfg: Config, opts: PrepareOptions) -> Dict[str, str]:
    """The fix of each problem kind, with this config's real commands."""
    extract = command_line('face_maps', face_maps_argv(opts), opts)
    generate = command_line('descriptions', descriptions_argv(opts), opts)
    prepare = f'python tools/data/prepare.py {opts.config} --run'
    raw, read = description_paths(cfg, dict(unique_sources(cfg)))
    labels = importlib.util.find_spec('sklearn') is not None
    refine = [command_line('refine', refine_argv(opts, raw, path, labels),
                           opts) for path in read if path != raw]
    return {
        'face_map_missing': f'{extract} (or {prepare})',
        'face_map_bad': 'delete the files named, then run the extraction '
                        f'again (it only does missing files): {extract}',
        'description_missing': ' && '.join([generate] + refine) +
                               f' (or {prepare})',
    }


def _num_frames(cfg: Config) -> int:
    pipeline = cfg.train_dataloader.dataset.get('pipeline') or []
    return next((step['num_frames'] for step in pipeline
                 if step.get('type') == 'SampleFrameIndices'), 16)


class _Descriptions:
    """Each descriptions file read once: the index, or why it cannot be."""

    def __init__(self):
        self.files: Dict[str, object] = {}
        self.file_problems: List[Problem] = []
        self.clip_ids: set = set()

    def of(self, ds_cfg: dict):
        from fineclip.datasets.descriptions import DescriptionIndex
        if not ds_cfg.get('description_file'):
            return None
        path = osp.join(ds_cfg['data_root'], ds_cfg['description_file'])
        if path not in self.files:
            if not osp.isfile(path):
                self.files[path] = path  # every clip lacks one
            else:
                try:
                    self.files[path] = DescriptionIndex(path)
                except ValueError as err:
                    self.files[path] = None
                    self.file_problems.append(
                        Problem('description_file', str(err), path))
        return self.files[path]

    def unmatched(self) -> List[Problem]:
        found = []
        for index in self.files.values():
            if index is not None and not isinstance(index, str):
                found += unmatched_descriptions(index, self.clip_ids)
        return found


def check_dataset(cfg: Config, opts: PrepareOptions,
                  folds: Optional[Sequence[int]] = None,
                  decode: str = 'ends', progress: bool = True,
                  echo: Callable[[str], None] = print
                  ) -> 'OrderedDict[str, List[Problem]]':
    """Scans every split (and fold) of the config's training dataset.

    Prints a report per split as it goes (``echo``): clips per class,
    frames per clip, clips shorter than T, warnings, and the problems
    grouped by kind with the first few and their fix; then the problems
    of the descriptions files themselves, the train-to-test label leakage
    of the configured descriptions (one line,
    :func:`fineclip.apis.description_leakage.leakage_line`) and a summary
    per kind.

    Args:
        cfg: The loaded config.
        opts: The config path and options the printed fixes use.
        folds: Folds to scan (default: all five where the dataset has
            folds).
        decode: ``'ends'``, ``'all'`` or ``'none'`` (see
            :func:`fineclip.datasets.inspection.scan_clips`).
        progress: Progress bars.
        echo: Where the report goes.

    Returns:
        OrderedDict: split name (or ``'descriptions'``, ``'data root'``)
        -> its problems.
    """
    fixes = fix_commands(cfg, opts)
    found: 'OrderedDict[str, List[Problem]]' = OrderedDict()
    roots = missing_data_roots(cfg, ('train', 'test'))
    if roots:
        found['data root'] = [Problem(
            'split', f"data_root '{root}' does not exist", root)
            for root in roots]
        echo('== data root\n' + '\n'.join(format_problems(
            found['data root'], {'split': 'unpack the dataset there, or '
                                 'give --data-root DIR'})))
        return _finish(found, echo)
    num_frames = _num_frames(cfg)
    texts, face_map_cache = _Descriptions(), {}
    for scanned in scan_datasets(cfg, ('train', 'test'), folds):
        if scanned.dataset is None:
            problems = ([Problem('split', scanned.error)] +
                        _classified(scanned.bad_clips))
            found[scanned.name] = problems
            echo(f'== {scanned.name}: cannot be read\n   problems: '
                 f'{len(problems)}\n' + '\n'.join(
                     format_problems(problems, fixes, indent='     ')))
            continue
        dataset, ds_cfg = scanned.dataset, scanned.cfg
        face_dir = None
        if ds_cfg.get('face_map_dir'):
            face_dir = osp.join(ds_cfg['data_root'], ds_cfg['face_map_dir'])
        problems = loading_problems(dataset) + scan_clips(
            dataset, decode, face_dir, texts.of(ds_cfg), progress,
            face_map_cache)
        texts.clip_ids.update(dataset.get_data_info(i)['clip_id']
                              for i in range(len(dataset)))
        found[scanned.name] = problems
        report = split_report(dataset, num_frames, problems)
        echo(format_report(scanned.name, report, num_frames, fixes))
    text_problems = texts.file_problems + texts.unmatched()
    if text_problems:
        found['descriptions'] = text_problems
        echo('== descriptions files\n' + '\n'.join(
            format_problems(text_problems, fixes)))
    leakage = leakage_line(cfg)  # a measurement, not a problem
    if leakage:
        echo(leakage)
    return _finish(found, echo)


def _classified(messages: Sequence[str]) -> List[Problem]:
    return [Problem(classify_bad_clip(m), m) for m in messages]


def _finish(found, echo) -> 'OrderedDict[str, List[Problem]]':
    total = sum(len(p) for p in found.values())
    if total:
        echo('\n== problems by kind')
        for kind, (title, _) in KINDS.items():
            per_split = [(name, sum(p.kind == kind for p in problems))
                         for name, problems in found.items()]
            per_split = [(n, c) for n, c in per_split if c]
            if per_split:
                count = sum(c for _, c in per_split)
                where = ', '.join(f'{n}: {c}' for n, c in per_split)
                echo(f'   {title}: {count} ({where})')
    echo(f'\n{total} problem(s) found.')
    return found
