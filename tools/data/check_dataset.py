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

from mmengine.config import DictAction

from fineclip.apis import load_config, prepare_embedded_default
from fineclip.datasets.bare import bare_datasets
from fineclip.datasets.inspection import (decode_problems, format_report,
                                          split_report)


def parse_args(argv=None):
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
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    cfg = load_config(args.config, args.cfg_options)
    prepare_embedded_default(cfg)
    num_frames = next(
        (step['num_frames'] for step in cfg.train_dataloader.dataset.pipeline
         if step['type'] == 'SampleFrameIndices'), 16)
    found = 0
    # every split (and fold) of the training set, problems listed, not raised
    for name, dataset, _ in bare_datasets(cfg, ('train', 'test'), args.folds,
                                          on_bad_clip='skip',
                                          side_inputs=True):
        dataset.bad_clips += decode_problems(dataset, args.decode)
        report = split_report(dataset, num_frames)
        print(format_report(name, report, num_frames), flush=True)
        found += len(report['problems'])
    print(f'\n{found} problem(s) found.')
    return 1 if found else 0


if __name__ == '__main__':
    sys.exit(main())
