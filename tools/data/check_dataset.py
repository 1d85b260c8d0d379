"""Scan the dataset a config points at: the first command after unpacking.

``python tools/data/check_dataset.py CONFIG [--folds 1 2 3 4 5]
[--decode ends|all|none]``

For each split (and fold), prints clips per class, frame-count statistics,
clips shorter than the config's T and every problem found, counted by
kind with the first few and the command that fixes them: bad split-file
lines, missing or empty clip folders, unreadable frames or videos, mixed
frame sizes, missing or unreadable face-map files (FineCLIPER*), clips
without a description and descriptions of no clip (FineCLIPER†). A split
that cannot be read at all is reported too; nothing is raised. Exits with
status 1 when it found a problem.

Where the config reads a descriptions file, one line gives its
train-to-test label leakage: a text-only classifier fitted on the
configured fold's training descriptions, scored on its test descriptions,
beside chance (scikit-learn is needed; without it the line says so). See
docs/evaluation_protocol.md.
"""
import argparse
import sys

from mmengine.config import DictAction

from fineclip.apis import load_config, prepare_embedded_default
from fineclip.apis.error_boundary import run_main
from fineclip.apis.preparation import PrepareOptions, check_dataset
from fineclip.utils.config import import_custom_modules
from fineclip.utils.data_root import add_data_root_argument


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
    add_data_root_argument(parser)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    cfg = load_config(args.config, args.cfg_options)
    import_custom_modules(cfg)
    prepare_embedded_default(cfg, parts=('synthetic_data', ))
    found = check_dataset(cfg, PrepareOptions(args.config, args.cfg_options),
                          args.folds, args.decode)
    return 1 if any(found.values()) else 0


if __name__ == '__main__':
    sys.exit(run_main(main))
