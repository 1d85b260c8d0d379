"""Count total and tunable parameters per part of a model.

``python tools/analysis/count_params.py CONFIG``

The model is built with random CLIP weights (counting needs shapes, not
values), so it runs offline without any download.
"""
import argparse
from collections import OrderedDict

from mmengine.config import DictAction

import fineclip  # noqa: F401  (registers parts, applies compat)
from fineclip.apis import load_config
from fineclip.registry import MODELS


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config', help='model config file')
    parser.add_argument('--depth', type=int, default=3,
                        help='how many name levels to group parameters by')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config keys')
    return parser.parse_args()


def count_by_part(model, depth: int) -> 'OrderedDict[str, list]':
    """``{part: [total, tunable]}`` grouped by the first ``depth`` name parts.

    Shared parameters are counted once, under the first name they have.
    """
    parts = OrderedDict()
    for name, param in model.named_parameters():
        key = '.'.join(name.split('.')[:depth])
        totals = parts.setdefault(key, [0, 0])
        totals[0] += param.numel()
        totals[1] += param.numel() if param.requires_grad else 0
    return parts


def format_table(parts) -> str:
    """Renders the counts as a table with a total row."""
    width = max([len(k) for k in parts] + [len('total')])
    rows = [f"{'part':<{width}}  {'total':>12}  {'tunable':>12}"]
    total = tunable = 0
    for key, (n, t) in parts.items():
        rows.append(f'{key:<{width}}  {n:>12,}  {t:>12,}'
                    + ('' if t else '  (frozen)'))
        total, tunable = total + n, tunable + t
    rows.append(f"{'total':<{width}}  {total:>12,}  {tunable:>12,}")
    rows.append(f'tunable: {tunable / 1e6:.2f}M of {total / 1e6:.2f}M '
                f'({100 * tunable / max(total, 1):.2f}%)')
    return '\n'.join(rows)


def main():
    args = parse_args()
    cfg = load_config(args.config, args.cfg_options)
    cfg.model.clip.pretrained = None  # shapes only: no weights needed
    model = MODELS.build(cfg.model)
    print(f'{args.config} (CLIP built with random weights)')
    print(format_table(count_by_part(model, args.depth)))


if __name__ == '__main__':
    main()
