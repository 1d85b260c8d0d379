"""Plot the confusion matrix and per-class recall of a ``--dump`` file.

``python tools/analysis/plot_confusion.py DUMP_PKL --out cm.png
[--classes Happy Sad ...] [--recall-out recall.png]``

``DUMP_PKL`` is what ``python tools/test.py CONFIG CHECKPOINT --dump F.pkl``
writes. Prints UAR, WAR and per-class recall; the recall bars go next to
the matrix (``<out>_recall.png``) unless ``--recall-out`` says otherwise.
Class names are ``--classes`` if given, else the dump's (predictions carry
them), else numbers.
"""
import argparse
import os
import os.path as osp
import sys

import numpy as np

from fineclip.apis.analysis import load_dump, resolve_class_names
from fineclip.apis.error_boundary import run_main
from fineclip.evaluation.metrics import confusion_matrix, uar_war
from fineclip.evaluation.metrics.dfer_metric import format_recall_table
from fineclip.visualization import (plot_confusion_matrix,
                                    plot_per_class_recall)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('dump', help='.pkl written by tools/test.py --dump')
    parser.add_argument('--out', required=True, help='confusion matrix PNG')
    parser.add_argument('--recall-out',
                        help='per-class recall PNG (default: '
                        '<out>_recall.png)')
    parser.add_argument('--classes', nargs='+',
                        help='class names in label order (default: the '
                        'names the dump carries)')
    parser.add_argument('--title', default='', help='figure title prefix')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    dump = load_dump(args.dump)
    num_classes = dump['scores'].shape[1]
    names = resolve_class_names(num_classes, dump['classes'], args.classes)
    matrix = confusion_matrix(dump['labels'], dump['preds'], num_classes)
    stats = uar_war(matrix)
    print(f"{args.dump}: {len(dump['labels'])} clips, {num_classes} "
          'classes')
    print(format_recall_table(names, stats))

    os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
    title = (f'{args.title} ' if args.title else '') + (
        f"UAR {100 * stats['UAR']:.2f}  WAR {100 * stats['WAR']:.2f}")
    plot_confusion_matrix(matrix.tolist(), names, args.out, title=title)
    recall_out = args.recall_out or (
        osp.splitext(args.out)[0] + '_recall.png')
    # A class with no test clip has no recall: show it as an empty bar
    # whose name says why, rather than dropping it.
    rows = [(name if n else f'{name} (no clips)',
             0. if np.isnan(r) else float(r), 0.)
            for name, r, n in zip(names, stats['recall'], stats['support'])]
    plot_per_class_recall(rows, recall_out, title=title)
    print(f'Wrote {args.out} and {recall_out}')
    return dict(matrix=matrix, UAR=stats['UAR'], WAR=stats['WAR'],
                classes=names, out=args.out, recall_out=recall_out)


if __name__ == '__main__':
    sys.exit(run_main(main))
