"""K-fold cross-validation of a config: train and test every fold, then
write a per-fold and mean ± std table.

``python tools/cross_validate.py CONFIG [--folds 1 2 3 4 5] [--work-dir W]``

Each fold runs in ``W/fold_K``. Rerunning the command reuses folds that
finished and resumes a fold that was interrupted. Results go to
``W/cv_results.{md,json}`` and ``W/cv_per_class_recall.png``.
"""
import argparse
import json
import os
import os.path as osp
import sys

from mmengine.config import DictAction

from fineclip.apis import load_config, prepare_embedded_default
from fineclip.apis.cross_validation import (format_markdown, per_class_recall,
                                            run_fold, summarize)
from fineclip.apis.error_boundary import run_main
from fineclip.utils.config_values import check_folds
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
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config keys in every fold')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    cfg = load_config(args.config, args.cfg_options)
    check_folds(cfg, args.folds)  # before a fold trains, not at fold 9
    work_dir = args.work_dir or osp.join(
        'work_dirs', osp.splitext(osp.basename(args.config))[0] + '_cv')
    os.makedirs(work_dir, exist_ok=True)
    prepare_embedded_default(cfg)

    results = []
    for fold in args.folds:
        result = run_fold(cfg, fold, osp.join(work_dir, f'fold_{fold}'),
                          args.val_holdout)
        state = 'reused the finished run' if result['reused'] else 'trained'
        print(f"fold {fold}: {state}; UAR {result['metrics']['UAR']:.4f} "
              f"WAR {result['metrics']['WAR']:.4f}", flush=True)
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
