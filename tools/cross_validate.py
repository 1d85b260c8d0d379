"""K-fold cross-validation of a config: train and test every fold, then
write a per-fold and mean ± std table.

``python tools/cross_validate.py CONFIG [--folds 1 2 3 4 5] [--work-dir W]``

Each fold runs in ``W/fold_K``, which records the run's protocol
fingerprint (resolved config and options) before it trains. Rerunning the
command reuses folds that finished and resumes a fold that was interrupted,
only under the same fingerprint; under another one it stops and names the
keys that differ (``--force`` moves the old fold folder aside to
``W/fold_K.superseded-N`` and trains afresh). Results go to
``W/cv_results.{md,json}`` (mean ± sample std with n, each fold's
fingerprint) and ``W/cv_per_class_recall.png``.
"""
import argparse
import json
import os
import os.path as osp
import sys

from mmengine.config import DictAction

from fineclip.apis import load_config, prepare_embedded_default
from fineclip.apis.cross_validation import (format_markdown, per_class_recall,
                                            run_fold, selection_mark,
                                            summarize)
from fineclip.apis.description_protocol import \
    check_label_free_descriptions
from fineclip.apis.error_boundary import run_main
from fineclip.apis.result_protocol import describe
from fineclip.utils.config_values import check_folds
from fineclip.utils.data_root import add_data_root_argument
from fineclip.visualization import plot_per_class_recall


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config', help='config of one fold (any fold)')
    parser.add_argument('--folds', type=int, nargs='+',
                        default=[1, 2, 3, 4, 5], help='folds to run')
    parser.add_argument('--work-dir', help='parent folder of the fold runs')
    parser.add_argument(
        '--val-holdout', type=float, default=0.0, metavar='FRACTION',
        help='validate on this stratified share of each training split and '
        'test the best epoch (default 0: test the last epoch)')
    parser.add_argument(
        '--select-on-test', action='store_true',
        help="test the epoch with the best TEST UAR: DFER-CLIP's published "
        'rule, for a like-for-like comparison with it only (the number is '
        'selected on the data it reports; every output line says so)')
    parser.add_argument(
        '--force', action='store_true',
        help='a fold folder made under another protocol is moved aside '
        '(FOLD.superseded-N) and the fold trains afresh, instead of '
        'stopping')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config keys in every fold')
    add_data_root_argument(parser)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    cfg = load_config(args.config, args.cfg_options)
    check_folds(cfg, args.folds)  # before a fold trains, not at fold 9
    work_dir = args.work_dir or osp.join(
        'work_dirs', osp.splitext(osp.basename(args.config))[0] + '_cv')
    os.makedirs(work_dir, exist_ok=True)
    prepare_embedded_default(cfg)
    check_label_free_descriptions(cfg, args.folds)  # sets the result key

    results = []
    for fold in args.folds:
        result = run_fold(cfg, fold, osp.join(work_dir, f'fold_{fold}'),
                          args.val_holdout, args.select_on_test, args.force)
        state = ('reused the finished run (same fingerprint)'
                 if result['reused'] else 'trained')
        print(f"fold {fold}: {state}; UAR {result['metrics']['UAR']:.4f} "
              f"WAR {result['metrics']['WAR']:.4f}; "
              f"{describe(result['fingerprint'])}"
              f"{selection_mark(result)}", flush=True)
        results.append(result)

    summary = summarize(results)
    table = format_markdown(summary)
    with open(osp.join(work_dir, 'cv_results.md'), 'w') as f:
        f.write(table)
    with open(osp.join(work_dir, 'cv_results.json'), 'w') as f:
        json.dump(summary, f, indent=2)
    plot_per_class_recall(
        per_class_recall(summary),
        osp.join(work_dir, 'cv_per_class_recall.png'),
        title=f"{osp.basename(args.config)}: folds {summary['folds']}")
    print(table)
    print(f'Results written to {work_dir}/cv_results.{{md,json}} and '
          'cv_per_class_recall.png')


if __name__ == '__main__':
    sys.exit(run_main(main))
