"""Checklist items for the data: root, split files, clips, face-map files,
raw and refined descriptions."""
import importlib.util
import os.path as osp
from typing import Dict, List, Optional, Tuple

from mmengine.config import Config

from fineclip.datasets.inspection import number_key

from .commands import (RAW_DESCRIPTIONS, PrepareOptions, check_argv,
                       command_line, descriptions_argv, face_maps_argv,
                       refine_argv)
from .items import Item
from .scan import missing_data_roots, scan_datasets, split_file_of

SHOWN = 3


def _dataset_key(ds_cfg: dict) -> tuple:
    return tuple(str(ds_cfg.get(k)) for k in
                 ('type', 'data_root', 'split', 'fold', 'ann_file'))


def _embedded_root(cfg: Config) -> Optional[str]:
    synthetic = (cfg.get('embedded_default') or {}).get('synthetic_data')
    return (synthetic or {}).get('out_dir')


def _root_fix(cfg: Config) -> str:
    ds_type = str(cfg.train_dataloader.dataset.get('type', 'the dataset'))
    name = ds_type.replace('Dataset', '')
    return (f'unpack {name} there as released (docs: user_guides/'
            f'prepare_dataset.md), or give --data-root DIR')


def scan_clips(cfg: Config, opts: PrepareOptions
               ) -> Tuple[List[Item], Dict[str, str], dict]:
    """Data items, ``{clip_id: data_root}`` of the loadable clips, and
    ``{face_map_dir or description path: dataset config}`` needs."""
    items = []
    for root in missing_data_roots(cfg):
        if root == _embedded_root(cfg):
            items.append(Item('data', 'data root', 'auto', root,
                              'the embedded default writes the synthetic '
                              'set there on first use (with its face maps '
                              'and descriptions)'))
        else:
            items.append(Item('data', 'data root', 'missing', root,
                              _root_fix(cfg)))
    sources = unique_sources(cfg)
    roots_ok = not items
    if roots_ok:
        items += [Item('data', 'data root', 'present', root) for root in
                  sorted({s.get('data_root') for _, s in sources})]
    for name, ds_cfg in sources:
        path = split_file_of(ds_cfg)
        if path is None:
            continue
        state = 'present' if osp.isfile(path) else (
            'auto' if ds_cfg.get('data_root') == _embedded_root(cfg)
            else 'missing')
        items.append(Item('data', f'split file ({name})', state, path,
                          '' if state != 'missing' else
                          'part of the dataset release; check data_root'))
    clips: Dict[str, str] = {}
    if not roots_ok:
        if any(i.status == 'missing' for i in items):
            items.append(Item('data', 'clips', 'missing',
                              'unknown: the split files come first'))
        return items, clips, dict(sources)
    counts, bad, skipped, errors = [], 0, 0, []
    seen = set()
    for scanned in scan_datasets(cfg):
        key = _dataset_key(scanned.cfg)
        if key in seen:  # test_dataloader = val_dataloader
            continue
        seen.add(key)
        if scanned.cfg.get('on_bad_clip') == 'skip':
            skipped += len(scanned.bad_clips)  # the config leaves them out
        else:
            bad += len(scanned.bad_clips)
        if scanned.dataset is None:
            errors.append(f'{scanned.name}: {scanned.error}')
            continue
        counts.append(f'{_source_name(scanned.cfg)}: '
                      f'{len(scanned.dataset)}')
        for i in range(len(scanned.dataset)):
            clips.setdefault(scanned.dataset.get_data_info(i)['clip_id'],
                             scanned.cfg['data_root'])
    detail = f"{len(clips)} clips ({', '.join(counts)})" + (
        f'; {skipped} bad ones left out (on_bad_clip=skip)' if skipped
        else '')
    if errors or bad:
        detail += (f'; {bad} bad lines or clips' if bad else '') + (
            f"; cannot read {'; '.join(errors)}" if errors else '')
        check = command_line('check', check_argv(opts), opts)
        items.append(Item('data', 'clips', 'bad', detail,
                          f'{check} lists every problem with its fix'))
    else:
        items.append(Item('data', 'clips', 'present', detail))
    return items, clips, dict(sources)


def _source_name(ds_cfg: dict) -> str:
    name = str(ds_cfg.get('split', 'data'))
    return f"{name} fold {ds_cfg['fold']}" if 'fold' in ds_cfg else name


def unique_sources(cfg: Config) -> List[Tuple[str, dict]]:
    """``(name, leaf dataset config)`` of every loader's dataset, each
    dataset once (``test_dataloader`` is often ``val_dataloader``)."""
    from fineclip.datasets.bare import LOADER_KEYS, leaf_dataset_cfgs
    found, seen = [], set()
    for key in LOADER_KEYS:
        if not cfg.get(key):
            continue
        for leaf in leaf_dataset_cfgs(cfg[key]['dataset']):
            if _dataset_key(leaf) not in seen:
                seen.add(_dataset_key(leaf))
                found.append((_source_name(leaf), leaf))
    return found


def _coverage(have, clips: Dict[str, str]) -> Tuple[str, List[str]]:
    """``(status, first missing ids)`` of a set of clip keys."""
    missing = [c for c in clips if number_key(c) not in have]
    if not missing:
        return 'present', []
    return ('missing' if len(missing) == len(clips) else 'partial'), missing


def face_map_items(cfg: Config, opts: PrepareOptions, clips: Dict[str, str],
                   sources: dict, waiting: bool) -> List[Item]:
    """One item per face-map folder the config reads."""
    folders = sorted({osp.join(s['data_root'], s['face_map_dir'])
                      for s in sources.values() if s.get('face_map_dir')})
    fix = command_line('face_maps', face_maps_argv(opts), opts)
    items = []
    for folder in folders:
        if waiting:
            items.append(_waiting_item(cfg, 'face maps', 'face-map files',
                                       folder + '/', fix, 'face_maps'))
            continue
        have = {number_key(c) for c in clips
                if osp.isfile(osp.join(folder, c + '.npz'))}
        status, missing = _coverage(have, clips)
        detail = (f'{folder}/: {len(clips) - len(missing)} of {len(clips)}'
                  ' clips' + _first(missing))
        items.append(Item('face maps', 'face-map files', status, detail,
                          fix, 'face_maps', folder))
    return items


def _first(missing: List[str]) -> str:
    if not missing:
        return ''
    return f" (first missing: {', '.join(missing[:SHOWN])})"


def _waiting_item(cfg, section, name, path, fix, step) -> Item:
    if osp.dirname(path.rstrip('/')).startswith(str(_embedded_root(cfg))):
        return Item(section, name, 'auto', path, 'written with the '
                    'synthetic set', None)
    return Item(section, name, 'missing', f'{path} (no clips to check '
                'yet: the data comes first)', fix, step, path)


def _description_ids(path: str) -> Tuple[Optional[set], str]:
    """Clip keys of a descriptions file, or None and why."""
    from fineclip.datasets.descriptions import DescriptionIndex
    if not osp.isfile(path):
        return None, 'missing'
    try:
        index = DescriptionIndex(path)
    except ValueError as err:
        return None, str(err)
    return {k for k, r in index.by_key.items() if r.text.strip()}, ''


def description_paths(cfg: Config, sources: dict) -> Tuple[str, List[str]]:
    """The raw file generate_descriptions.py writes and the files the
    datasets read."""
    train = cfg.train_dataloader.dataset
    root = train.get('data_root') or next(
        (s['data_root'] for s in sources.values()), '')
    raw = osp.join(root, RAW_DESCRIPTIONS)
    read = sorted({osp.join(s['data_root'], s['description_file'])
                   for s in sources.values() if s.get('description_file')})
    return raw, read


def description_items(cfg: Config, opts: PrepareOptions,
                      clips: Dict[str, str], sources: dict,
                      waiting: bool) -> List[Item]:
    """The raw descriptions, and the refined ones the datasets read."""
    raw, read = description_paths(cfg, sources)
    if not read:
        return []
    generate = command_line('descriptions', descriptions_argv(opts), opts)
    items = [_description_item(cfg, 'raw descriptions' if read != [raw]
                               else 'descriptions', raw, clips, waiting,
                               generate, 'descriptions')]
    labels = importlib.util.find_spec('sklearn') is not None
    for path in read:
        if path == raw:
            continue
        fix = command_line('refine', refine_argv(opts, raw, path, labels),
                           opts)
        items.append(_description_item(cfg, 'refined descriptions', path,
                                       clips, waiting, fix, 'refine'))
    return items


def _description_item(cfg, name: str, path: str, clips: Dict[str, str],
                      waiting: bool, fix: str, step: str) -> Item:
    if waiting:
        return _waiting_item(cfg, 'descriptions', name, path, fix, step)
    have, why = _description_ids(path)
    if have is None and why == 'missing':
        return Item('descriptions', name, 'missing', path, fix, step, path)
    if have is None:
        return Item('descriptions', name, 'bad', why,
                    'fix the line named, or delete the file and write it '
                    'again: ' + fix)
    status, missing = _coverage(have, clips)
    detail = (f'{path}: {len(clips) - len(missing)} of {len(clips)} clips'
              + _first(missing))
    return Item('descriptions', name, status, detail, fix, step, path)
