"""Checkpoint sizes: full state dict vs adapter-only, with and without the
optimiser state.

``python tools/analysis/checkpoint_size.py CONFIG [CONFIG ...]``

Each config's model is built at its real shapes with random weights
(sizes need shapes, not values); its optimiser (the config's
``optim_wrapper``) takes one step on zero gradients so that its state
exists, and each checkpoint is serialised in memory with ``torch.save`` to
measure its exact size.
"""
import argparse
import io
import os.path as osp
import sys

import torch
from mmengine.config import DictAction
from mmengine.optim import build_optim_wrapper

from fineclip.apis import build_model, load_config
from fineclip.apis.error_boundary import run_main
from fineclip.engine.checkpoints import strip_frozen


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('configs', nargs='+', help='config files')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config keys in every config')
    return parser.parse_args(argv)


def serialized_bytes(obj) -> int:
    """Bytes ``torch.save`` writes for ``obj``."""
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return buffer.tell()


def measure(path: str, cfg_options=None) -> dict:
    """Sizes in bytes of the full, adapter-only and adapter + optimiser
    checkpoints of one config."""
    cfg = load_config(path, cfg_options)
    model = build_model(cfg, shapes_only=True)
    optim = build_optim_wrapper(model, cfg.optim_wrapper)
    for param in model.parameters():
        if param.requires_grad:
            param.grad = torch.zeros_like(param)
    optim.step()
    full = serialized_bytes({'state_dict': model.state_dict()})
    adapters = strip_frozen({'state_dict': model.state_dict()}, model)
    only = serialized_bytes(adapters)
    with_optim = serialized_bytes(dict(adapters,
                                       optimizer=optim.state_dict()))
    return dict(full=full, adapters=only, with_optimizer=with_optim,
                optimizer=type(optim.optimizer).__name__)


def main(argv=None):
    args = parse_args(argv)
    print('| config | full state dict | adapter-only | + optimiser state |')
    print('|---|---|---|---|')
    for path in args.configs:
        sizes = measure(path, args.cfg_options)
        full = sizes['full']

        def cell(n):
            return f'{n / 2**20:.1f} MiB ({100 * n / full:.1f}%)'
        print(f'| {osp.basename(path)} | {full / 2**20:.1f} MiB | '
              f"{cell(sizes['adapters'])} | {cell(sizes['with_optimizer'])}"
              f" ({sizes['optimizer']}) |", flush=True)


if __name__ == '__main__':
    sys.exit(run_main(main))
