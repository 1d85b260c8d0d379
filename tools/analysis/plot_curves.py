"""Plot training curves from a work dir's logged scalars.

``python tools/analysis/plot_curves.py WORK_DIR [--out curves.png]
[--run latest|all|TIMESTAMP] [--keys loss lr UAR 'recall/*' ...]``

Reads ``WORK_DIR/<timestamp>/vis_data/scalars.json`` (MMEngine's local
visualisation backend): by default the latest run that logged scalars;
``--run all`` joins a training and its resumptions. One subplot per group:
losses, learning rate and branch weights against the iteration, and the
validation metrics against the epoch. ``--keys`` picks what to plot
(``fnmatch`` patterns; e.g. ``'recall/*'`` for per-class recall).
"""
import argparse
import os
import os.path as osp
import sys

from fineclip.apis.analysis import (find_scalar_files, group_curves,
                                    read_scalars)
from fineclip.apis.error_boundary import run_main
from fineclip.utils.errors import InputError
from fineclip.visualization.curves import plot_curves


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('work_dir', help='training work dir')
    parser.add_argument('--out', help='PNG (default: WORK_DIR/curves.png)')
    parser.add_argument('--run', default='latest',
                        help="'latest', 'all' or one <timestamp> folder")
    parser.add_argument('--keys', nargs='+',
                        help='scalars to plot (fnmatch patterns)')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    files = find_scalar_files(args.work_dir, args.run)
    scalars = read_scalars(files)
    groups = group_curves(scalars, args.keys)
    if not groups:
        raise InputError(
            f'{files} hold no loss, lr or validation metric; pick keys with '
            f"--keys (train: {sorted(scalars['train'])}, val: "
            f"{sorted(scalars['val'])})")
    out = args.out or osp.join(
        args.work_dir if osp.isdir(args.work_dir) else
        osp.dirname(args.work_dir), 'curves.png')
    os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
    runs = [osp.basename(osp.dirname(osp.dirname(f))) for f in files]
    name = osp.basename(osp.normpath(args.work_dir))
    shown = (runs[0] if len(runs) == 1 else
             f'{len(runs)} runs, {runs[0]} to {runs[-1]}')
    plot_curves(groups, out, title=f'{name} ({shown})')
    for title, _, curves in groups:
        print(f'{title}: ' + ', '.join(f'{k} ({len(xs)} points)'
                                       for k, (xs, _) in curves.items()))
    print(f'Wrote {out}')
    return dict(out=out, files=files, groups=groups)


if __name__ == '__main__':
    sys.exit(run_main(main))
