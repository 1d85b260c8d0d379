"""Zero-shot DFER (paper Tab 3): a caption-trained model beside plain CLIP.

``python tools/analysis/zero_shot.py SOURCE --targets T [T ...]
[--baselines B [B ...]] [--compare SOURCE T [T ...]] [--checkpoint CKPT]
[--work-dir W]``

SOURCE is a caption-trained config (``configs/zeroshot/*_zs_*.py``); it is
trained in ``W/source`` unless ``--checkpoint`` is given (a finished run
is reused, an interrupted one resumes, both only under the same protocol
fingerprint; ``--force`` retrains one made under another, moving it aside).
Each target config (``*_to_*.py``) is tested with that checkpoint, each
baseline (``clip_zs_*.py``) without one, on the test split of every fold of
``--target-folds`` (default 1-5), and a table with a row per model, a
column per fold and one with the mean over folds is printed and written to
``W/zero_shot.{md,json}``. ``--compare`` adds another caption-trained
source with its targets as a row of its own, trained in
``W/source_<config name>`` (the paper's Tab 3 sets EmoCLIP beside
FineCLIPER†). On the embedded default::

    python tools/analysis/zero_shot.py \\
        configs/zeroshot/fineclip_dagger_zs_synthetic_mafw_caption.py \\
        --targets configs/zeroshot/\\
fineclip_dagger_zs_synthetic_mafw_caption_to_dfew.py \\
        --baselines configs/zeroshot/clip_zs_synthetic_dfew.py \\
        --compare configs/plugins/emoclip_synthetic.py \\
        configs/plugins/emoclip_synthetic_zeroshot_dfew.py
"""
import argparse
import os
import os.path as osp
import sys

from mmengine.config import DictAction

from fineclip.apis import load_config
from fineclip.apis.error_boundary import run_main
from fineclip.apis.zero_shot import ALL_FOLDS, zero_shot_table


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('source', help='caption-trained source config')
    parser.add_argument('--targets', nargs='+', required=True,
                        help='configs testing the source on target sets')
    parser.add_argument('--baselines', nargs='*', default=[],
                        help='untrained baseline configs (plain CLIP)')
    parser.add_argument('--checkpoint', help='a trained source checkpoint '
                        '(default: train the source)')
    parser.add_argument(
        '--compare', nargs='+', action='append', default=[],
        metavar='CONFIG', help='another caption-trained source and its '
        'target configs, a row of its own (e.g. the EmoCLIP baseline: '
        '--compare configs/plugins/emoclip_synthetic.py configs/plugins/'
        'emoclip_synthetic_zeroshot_dfew.py); repeatable')
    parser.add_argument('--work-dir', help='default: work_dirs/zero_shot/'
                        '<source config name>')
    parser.add_argument('--target-folds', type=int, nargs='+',
                        default=list(ALL_FOLDS),
                        help='folds whose test splits each target is '
                        'evaluated on (default: all 5)')
    parser.add_argument('--force', action='store_true',
                        help='retrain a source run made under another '
                        'protocol (the old folder is moved aside)')
    parser.add_argument(
        '--source-data-root', metavar='DIR',
        help='root of the caption-trained sources\' data set (every '
        'dataset of the source configs)')
    parser.add_argument(
        '--target-data-root', metavar='DIR',
        help="root of the target data set: the test dataset of the target "
        'and baseline configs')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config keys in every config')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    work_dir = args.work_dir or osp.join(
        'work_dirs', 'zero_shot', osp.splitext(osp.basename(args.source))[0])
    os.makedirs(work_dir, exist_ok=True)
    configs = {}
    for group in args.compare:
        if len(group) < 2:
            raise SystemExit(f'--compare {group[0]}: give the source '
                             'config and at least one target config')
    sources = [args.source] + [group[0] for group in args.compare]
    compared = [path for group in args.compare for path in group]
    for path in [args.source, *args.targets, *args.baselines, *compared]:
        if not osp.isfile(path):
            raise SystemExit(f'No such config: {path}')
        options = dict(args.cfg_options or {})
        # a source reads one data set; a target trains on the source's
        # and tests on its own, so only its test root is set
        if path in sources and args.source_data_root:
            options['data_root'] = args.source_data_root
        elif path not in sources and args.target_data_root:
            options['test_dataloader.dataset.data_root'] = \
                args.target_data_root
        configs[path] = load_config(path, options)
    result = zero_shot_table(
        configs[args.source], [configs[p] for p in args.targets],
        [configs[p] for p in args.baselines], work_dir, args.checkpoint,
        folds=args.target_folds, force=args.force,
        more_sources=[(configs[g[0]], [configs[p] for p in g[1:]])
                      for g in args.compare])
    print(f"\nZero-shot, source checkpoint {result['checkpoint']}:\n")
    print(result['markdown'])
    print(f'Written to {osp.join(work_dir, "zero_shot.md")}')


if __name__ == '__main__':
    sys.exit(run_main(main))
