"""Train a FineCLIP model: ``python tools/train.py CONFIG [options]``."""
import argparse
import sys

from mmengine.config import Config

from fineclip.apis import (add_common_arguments, apply_common_options,
                           enable_local_imports, parse_with_common,
                           prepare_embedded_default, setup_distributed)
from fineclip.apis.description_protocol import \
    check_label_free_descriptions
from fineclip.apis.error_boundary import run_main
from fineclip.apis.preparation import ensure_inputs_ready
from fineclip.datasets.loader_options import fit_loader_options
from fineclip.engine.checkpoint_io import (CheckpointError,
                                           find_resumable_checkpoint)
from fineclip.engine.runner import FineCLIPRunner
from fineclip.engine.work_dir_lock import training_lock
from fineclip.engine.train_setup import (configure_global_batch,
                                         configure_memory, configure_precision)
from fineclip.utils.config import read_config_file


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Train a FineCLIP model')
    parser.add_argument('config', help='train config file path')
    parser.add_argument(
        '--resume', nargs='?', type=str, const='auto',
        help='resume from this checkpoint, or without a path from the '
        'latest checkpoint in the work dir')
    precision = parser.add_mutually_exclusive_group()
    precision.add_argument(
        '--amp', action='store_true',
        help="insist on mixed precision (the default, precision='auto', "
        'uses it wherever it is fast): bf16 on GPUs and CPUs with native '
        'bf16, fp16 with loss scaling on older GPUs; an error where '
        'neither applies')
    precision.add_argument('--no-amp', action='store_true',
                           help='train in fp32')
    parser.add_argument(
        '--max-memory-gb', type=float, metavar='GB',
        help='tensor memory one training step may use (default: the '
        "GPU's); the batch is then computed as micro-batches with "
        'gradient accumulation, and with gradient checkpointing if needed')
    add_common_arguments(parser)
    return parse_with_common(parser, argv)


def merge_args(cfg: Config, args) -> Config:
    """Applies the command-line options to the config."""
    cfg = apply_common_options(cfg, args.config, args.work_dir,
                               args.cfg_options, args.launcher)
    # the process group first: it sets the rank's GPU, which the bf16 probe
    # and the memory budget read, and gives the world size (global batch)
    setup_distributed(cfg)
    if args.no_amp:
        cfg.precision = 'fp32'
    elif args.amp:
        cfg.precision = 'auto'
    if args.max_memory_gb is not None:
        cfg.setdefault('train_memory', {})['max_memory_gb'] = (
            args.max_memory_gb)
    try:
        precision = configure_precision(cfg)
    except ValueError as err:
        raise SystemExit(str(err))
    if args.amp and precision not in ('bf16', 'fp16'):
        raise SystemExit('--amp: this machine has neither a CUDA GPU nor a '
                         'CPU with native bf16; train without --amp (fp32).')
    configure_global_batch(cfg)  # before the memory plan splits the batch
    configure_memory(cfg, precision)
    if args.resume == 'auto':
        cfg.resume, cfg.load_from = True, None
    elif args.resume:
        cfg.resume, cfg.load_from = True, args.resume
    return cfg


def main(argv=None):
    args = parse_args(argv)
    enable_local_imports()  # before the config imports its plugins
    cfg = merge_args(read_config_file(args.config), args)
    cfg.verbose = args.verbose  # the full start-up dumps on the console
    prepare_embedded_default(cfg)
    # after the embedded default exists: a missing input prints the checklist
    ensure_inputs_ready(cfg, args.config, args.cfg_options)
    # no evaluated clip may read a text written knowing its label
    label_note = check_label_free_descriptions(cfg)
    fit_loader_options(cfg)  # pin_memory/persistent_workers
    # one run per work dir; a second one would interleave checkpoints
    with training_lock(cfg.work_dir):
        if cfg.get('resume') and not cfg.get('load_from'):
            # the newest checkpoint that loads, not only last_checkpoint
            cfg.load_from = find_resumable_checkpoint(cfg.work_dir)
        runner = FineCLIPRunner.from_cfg(cfg)
        if label_note:  # into this run's log file too
            runner.logger.warning(label_note)
        try:
            runner.train()
        except CheckpointError as err:  # names the file; no traceback
            raise SystemExit(str(err)) from None


if __name__ == '__main__':
    sys.exit(run_main(main))
