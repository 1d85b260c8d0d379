"""Count total and tunable parameters per part of a model.

``python tools/analysis/count_params.py CONFIG``

The model is built on the meta device, without weights (counting needs
shapes, not values; ``build_model(..., shapes_only=True, device='meta')``),
so it runs offline on every config without any download.
"""
import argparse
import sys
from collections import OrderedDict

from mmengine.config import DictAction

import fineclip  # noqa: F401  (registers parts, applies compat)
from fineclip.apis import build_model
from fineclip.apis.error_boundary import run_main


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config', help='model config file')
    parser.add_argument('--depth', type=int, default=3,
                        help='how many name levels to group parameters by')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config keys')
    return parser.parse_args(argv)


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


def main(argv=None):
    args = parse_args(argv)
    # counting needs shapes, not values: no weight file is read
    model = build_model(args.config, shapes_only=True, device='meta',
                        cfg_options=args.cfg_options)
    print(f'{args.config} (built without weights)')
    print(format_table(count_by_part(model, args.depth)))


if __name__ == '__main__':
    sys.exit(run_main(main))
