"""Test a checkpoint: ``python tools/test.py CONFIG CHECKPOINT [--dump F]``.

Prints UAR, WAR and per-class recall on the config's test split. A config
that sets ``test_without_checkpoint = True`` (an untrained baseline, such as
plain CLIP zero-shot) runs without CHECKPOINT.
"""
import argparse
import sys

from mmengine.config import Config

from fineclip.apis import (add_common_arguments, apply_common_options,
                           enable_local_imports, parse_with_common,
                           prepare_embedded_default, setup_distributed,
                           test_work_dir)
from fineclip.apis.description_protocol import \
    check_label_free_descriptions
from fineclip.apis.error_boundary import run_main
from fineclip.datasets.loader_options import fit_loader_options
from fineclip.engine.checkpoint_io import (CheckpointError,
                                           resolve_checkpoint)
from fineclip.engine.runner import FineCLIPRunner
from fineclip.engine.train_setup import configure_test_precision
from fineclip.utils.config import read_config_file


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Test a FineCLIP model')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', nargs='?',
                        help='checkpoint file (required unless the config '
                        'sets test_without_checkpoint = True)')
    parser.add_argument(
        '--dump', type=str,
        help='write every sample\'s pred_score, pred_label and gt_label to '
        'this .pkl file')
    parser.add_argument(
        '--allow-other-classes', action='store_true',
        help="test a checkpoint trained on other classes than the config's "
        'dataset (a zero-shot test); refused otherwise')
    add_common_arguments(parser)
    return parse_with_common(parser, argv)


def merge_args(cfg: Config, args) -> Config:
    """Applies the command-line options to the config."""
    cfg = apply_common_options(cfg, args.config, args.work_dir,
                               args.cfg_options, args.launcher)
    if args.checkpoint is None and not cfg.get('test_without_checkpoint'):
        # Testing random adapters by accident would print a plausible,
        # meaningless number.
        raise SystemExit(
            f'{args.config}: give a CHECKPOINT; only configs with '
            'test_without_checkpoint = True test untrained weights.')
    # a work dir where the checkpoint belongs: its newest loadable one
    cfg.load_from = (resolve_checkpoint(args.checkpoint)
                     if args.checkpoint else None)
    if cfg.load_from and not args.work_dir:
        cfg.work_dir = test_work_dir(cfg.load_from, cfg.work_dir)
    cfg.resume = False  # a test never resumes, whatever the config says
    if args.allow_other_classes:
        cfg.allow_class_mismatch = True
    if args.dump:
        if not args.dump.endswith(('.pkl', '.pickle')):
            raise SystemExit(f'--dump {args.dump}: must name a .pkl or '
                             '.pickle file')
        evaluators = cfg.test_evaluator
        if not isinstance(evaluators, (list, tuple)):
            evaluators = [evaluators]
        cfg.test_evaluator = list(evaluators) + [
            dict(type='DumpResults', out_file_path=args.dump)
        ]
    return cfg


def main(argv=None):
    args = parse_args(argv)
    enable_local_imports()  # before the config imports its plugins
    cfg = merge_args(read_config_file(args.config), args)
    cfg.verbose = args.verbose  # the full start-up dumps on the console
    prepare_embedded_default(cfg)
    # no evaluated clip may read a text written knowing its label
    label_note = check_label_free_descriptions(cfg)
    setup_distributed(cfg)  # after --dump added its metric: gathered too
    configure_test_precision(cfg)  # TF32 on CUDA unless tf32=False
    fit_loader_options(cfg)  # pin_memory/persistent_workers
    runner = FineCLIPRunner.from_cfg(cfg)
    if label_note:  # into this run's log file too
        runner.logger.warning(label_note)
    try:
        runner.test()
    except CheckpointError as err:  # names the file; no traceback
        raise SystemExit(str(err)) from None
    if label_note:  # beside the scores, where a reader copies them from
        print(label_note)


if __name__ == '__main__':
    sys.exit(run_main(main))
