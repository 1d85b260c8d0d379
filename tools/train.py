"""Train a FineCLIP model: ``python tools/train.py CONFIG [options]``."""
import argparse

import torch
from mmengine.config import Config
from mmengine.runner import Runner

from fineclip.apis import (add_common_arguments, apply_common_options,
                           enable_local_imports, parse_with_common,
                           prepare_embedded_default, setup_cpu_distributed)


def parse_args():
    parser = argparse.ArgumentParser(description='Train a FineCLIP model')
    parser.add_argument('config', help='train config file path')
    parser.add_argument(
        '--resume', nargs='?', type=str, const='auto',
        help='resume from this checkpoint, or without a path from the '
        'latest checkpoint in the work dir')
    parser.add_argument('--amp', action='store_true',
                        help='mixed-precision training (AmpOptimWrapper; '
                        'bf16 where the GPU supports it, else fp16)')
    add_common_arguments(parser)
    return parse_with_common(parser)


def merge_args(cfg: Config, args) -> Config:
    """Applies the command-line options to the config."""
    cfg = apply_common_options(cfg, args.config, args.work_dir,
                               args.cfg_options, args.launcher)
    if args.amp:
        if not torch.cuda.is_available():
            raise SystemExit('--amp needs a CUDA GPU (MMEngine\'s '
                             'AmpOptimWrapper); run without it on CPU.')
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')
        # bf16 keeps fp32's exponent range (no overflow to guard against)
        # where the GPU has it (Ampere on); older GPUs get fp16, whose
        # small range the dynamic loss scale protects
        if torch.cuda.is_bf16_supported():
            cfg.optim_wrapper.setdefault('dtype', 'bfloat16')
    if args.resume == 'auto':
        cfg.resume, cfg.load_from = True, None
    elif args.resume:
        cfg.resume, cfg.load_from = True, args.resume
    return cfg


def main():
    args = parse_args()
    enable_local_imports()  # before the config imports its plugins
    cfg = merge_args(Config.fromfile(args.config), args)
    prepare_embedded_default(cfg)
    setup_cpu_distributed(cfg)
    runner = Runner.from_cfg(cfg)
    runner.train()


if __name__ == '__main__':
    main()
