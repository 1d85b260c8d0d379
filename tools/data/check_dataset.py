"""Scan the dataset a config points at: the first command after unpacking.

``python tools/data/check_dataset.py CONFIG [--folds 1 2 3 4 5]
[--decode ends|all|none]``

For each split (and fold), prints clips per class, frame-count statistics,
clips shorter than the config's T and every problem found (bad split-file
lines, missing or empty clip folders, unreadable frames, mixed frame sizes),
each naming its file. Exits with status 1 when it found a problem.
"""
import argparse
import sys

from mmengine.config import Config, DictAction

from fineclip.apis import load_config, prepare_embedded_default
from fineclip.datasets.inspection import (decode_problems, format_report,
                                          split_report)
from fineclip.registry import DATASETS


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config', help='config whose dataset to scan')
    parser.add_argument('--folds', type=int, nargs='+',
                        help='folds to scan (default: all five where the '
                        'dataset has folds)')
    parser.add_argument('--decode', default='ends',
                        choices=['ends', 'all', 'none'],
                        help='decode the first and last frame of each clip '
                        '(default), every frame, or none')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config keys')
    return parser.parse_args()


def dataset_cfgs(cfg: Config, folds):
    """``(name, dataset config)`` for every split and fold to scan."""
    base = cfg.train_dataloader.dataset
    has_folds = 'fold' in base
    for fold in (folds or [1, 2, 3, 4, 5]) if has_folds else [None]:
        for split in ('train', 'test'):
            ds_cfg = base.copy()
            ds_cfg.update(split=split, pipeline=[], on_bad_clip='skip',
                          max_bad_fraction=1.0)
            if has_folds:
                ds_cfg['fold'] = fold
            yield (f'{split} fold {fold}' if has_folds else split), ds_cfg


def main():
    args = parse_args()
    cfg = load_config(args.config, args.cfg_options)
    prepare_embedded_default(cfg)
    num_frames = next(
        (step['num_frames'] for step in cfg.train_dataloader.dataset.pipeline
         if step['type'] == 'SampleFrameIndices'), 16)
    found = 0
    for name, ds_cfg in dataset_cfgs(cfg, args.folds):
        dataset = DATASETS.build(ds_cfg)
        dataset.bad_clips += decode_problems(dataset, args.decode)
        report = split_report(dataset, num_frames)
        print(format_report(name, report, num_frames), flush=True)
        found += len(report['problems'])
    print(f'\n{found} problem(s) found.')
    sys.exit(1 if found else 0)


if __name__ == '__main__':
    main()
