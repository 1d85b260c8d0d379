"""Plot each class's similarity with its positive and negative prompt.

``python tools/analysis/plot_pn_similarity.py CONFIG CHECKPOINT --out
pn.png [--branch video] [--style bar|box] [--max-clips N]``

The paper's Fig 5: for every class c, over the test clips labelled c, the
cosine similarity of the clip's representation with c's positive prompt
(green) and with c's negative prompt (red). The representation is the
fused one (Eq 10) for a model with several branches, or the one
``--branch`` names. The numbers, per clip too, go to ``<out>.json``.
"""
import argparse
import json
import os
import os.path as osp
import sys

import torch
from mmengine.config import DictAction

from fineclip.apis.analysis import (collect_pn_similarities,
                                    load_model_and_loader,
                                    summarize_pn_similarities)
from fineclip.apis.error_boundary import run_main
from fineclip.utils.data_root import add_data_root_argument
from fineclip.visualization.pn_similarity import plot_pn_similarity


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config', help='config file')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--out', required=True, help='PNG path')
    parser.add_argument('--branch',
                        help='representation to use (e.g. video); default: '
                        'the fused one')
    parser.add_argument('--style', choices=['bar', 'box'], default='bar')
    parser.add_argument('--max-clips', type=int,
                        help='use only the first N test clips')
    parser.add_argument('--device', help='cpu or cuda (default: a GPU if '
                        'there is one)')
    parser.add_argument('--no-progress', action='store_true',
                        help='hide the progress bar')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config keys, e.g. '
                        'test_dataloader.num_workers=0')
    add_data_root_argument(parser)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    model, loader, _ = load_model_and_loader(
        args.config, args.checkpoint, args.cfg_options, args.device)
    classes = list(model.class_names)
    with torch.no_grad():
        result = collect_pn_similarities(model, loader, args.branch,
                                         progress=not args.no_progress,
                                         max_clips=args.max_clips)
    summary = summarize_pn_similarities(result, classes)
    summary.update(config=args.config, checkpoint=args.checkpoint)

    os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
    json_out = osp.splitext(args.out)[0] + '.json'
    with open(json_out, 'w') as f:
        json.dump(summary, f, indent=1)
    per_class = summary['per_class']
    negative = None
    if result['negative'] is not None:
        negative = [e['negative']['values'] for e in per_class]
    plot_pn_similarity(
        classes, [e['positive']['values'] for e in per_class], negative,
        args.out, style=args.style,
        title=f"{osp.basename(args.checkpoint)}: {summary['representation']}"
        f" representation, {len(result['labels'])} test clips")
    for e in per_class:
        line = f"{e['name']:<12} clips {e['clips']:4d}"
        for side in ('positive', 'negative'):
            if e[side] is not None and e[side]['mean'] is not None:
                line += (f"  {side} {e[side]['mean']:+.3f} ± "
                         f"{e[side]['std']:.3f}")
        print(line)
    print(f'Wrote {args.out} and {json_out}')
    return dict(out=args.out, json=json_out, summary=summary)


if __name__ == '__main__':
    sys.exit(run_main(main))
