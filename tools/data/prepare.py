"""What a config needs before training, and the steps that make it.

``python tools/data/prepare.py CONFIG [--cfg-options ...]``

prints the checklist: data root and split files, clip count, the weight
files (CLIP, Long-CLIP, FaceXFormer, Video-LLaVA: the file to download and
the key to set), face-map files, raw and refined descriptions, each
present or missing with the exact command that makes it. Exits with
status 1 while something is missing.

``python tools/data/prepare.py CONFIG --run [--train]``

runs the missing offline steps in order: check the dataset, extract the
face maps, generate the descriptions, refine them. Each step is skipped
when its output is complete and the tools skip the clips already done, so
an interrupted run continues where it stopped. ``--train`` then starts
``tools/train.py CONFIG --resume`` with the same ``--cfg-options``
(so a rerun after an interruption resumes the training).

The face maps use the paper's FaceXFormer (``--analyzer``,
``--analyzer-cfg checkpoint=PATH``; MediaPipeFaceAnalyzer works offline),
the descriptions Video-LLaVA with the paper's prompt, which holds no label
(``--describer``, ``--describer-cfg model=DIR``). ``with_label=True`` is
refused here: the file this writes is read by every fold, and on DFEW's
and MAFW's 5-fold protocols every clip is a test clip of some fold (see
docs/evaluation_protocol.md for the per-fold label-hint study). On several
GPUs:

  python tools/data/prepare.py CONFIG --run --launcher pytorch --nproc 8

runs the face-map and description steps (and ``--train``) as torchrun
jobs of 8 processes (``--launcher slurm``: ``srun --ntasks 8``).
"""
import argparse
import sys

from mmengine.config import DictAction

from fineclip.apis.error_boundary import run_main
from fineclip.apis.preparation import (PrepareOptions, build_checklist,
                                       format_checklist,
                                       load_prepared_config,
                                       parse_cfg_options, run_preparation,
                                       run_tool, train_argv)
from fineclip.utils.errors import UserInputError


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog='\n'.join(__doc__.splitlines()[2:]))
    parser.add_argument('config', help='the training config')
    parser.add_argument('--run', action='store_true',
                        help='run the missing offline steps')
    parser.add_argument('--train', action='store_true',
                        help='with --run: train once everything is ready')
    parser.add_argument('--work-dir', help='with --train: its work dir')
    parser.add_argument('--analyzer', default='FaceXFormerAnalyzer',
                        help='face analyser of the face-map step')
    parser.add_argument('--analyzer-cfg', nargs='+', action=DictAction,
                        help='its arguments, KEY=VALUE (default: '
                        'checkpoint=checkpoints/facexformer/ckpts/model.pt '
                        'and the GPU if there is one)')
    parser.add_argument('--describer', default='VideoLlavaDescriber',
                        help='describer of the description step')
    parser.add_argument('--describer-cfg', nargs='+', action=DictAction,
                        help='its arguments, KEY=VALUE (default: none; '
                        'the prompt holds no label)')
    parser.add_argument('--workers', type=int,
                        help="face-map step: loader processes (the tool's "
                        'default: up to 4)')
    parser.add_argument('--launcher', default='none',
                        choices=['none', 'pytorch', 'slurm'],
                        help='run the multi-process steps as torchrun '
                        '(pytorch) or srun (slurm) jobs')
    parser.add_argument('--nproc', type=int, default=1,
                        help='processes of those jobs (GPUs)')
    parser.add_argument('--cfg-options', nargs='+', metavar='KEY=VALUE',
                        help='override config keys (passed to every step)')
    parser.add_argument('--data-root', metavar='DIR',
                        help='root folder of the data set, for every '
                        'dataset of the config (passed to every step as '
                        'data_root=DIR)')
    args = parser.parse_args(argv)
    if args.train and not args.run:
        parser.error('--train needs --run')
    return args


def options(args) -> PrepareOptions:
    cfg_options = parse_cfg_options(args.cfg_options)
    if args.data_root is not None:
        cfg_options = dict(cfg_options or {}, data_root=args.data_root)
    opts = PrepareOptions(args.config, cfg_options,
                          analyzer=args.analyzer, describer=args.describer,
                          launcher=args.launcher, nproc=args.nproc,
                          workers=args.workers)
    if args.analyzer_cfg is not None:
        opts.analyzer_cfg = dict(args.analyzer_cfg)
    elif args.analyzer != 'FaceXFormerAnalyzer':
        opts.analyzer_cfg = {}
    if args.describer_cfg is not None:
        opts.describer_cfg = dict(args.describer_cfg)
    if opts.describer_cfg.get('with_label'):
        raise UserInputError(
            '--describer-cfg with_label=True: prepare.py writes the one '
            'descriptions file every fold reads, and every clip is a test '
            'clip of some fold, so no text in it may be written knowing '
            'its label (train and test would refuse it). Leave with_label '
            'out. To study label hints, run tools/data/generate_'
            'descriptions.py CONFIG --describer-cfg with_label=True, which '
            "gives labels to the config fold's training clips only and "
            'writes a per-fold file (docs/evaluation_protocol.md).')
    return opts


def main(argv=None):
    args = parse_args(argv)
    opts = options(args)
    if not args.run:
        # nothing is created here, not even the embedded default
        cfg = load_prepared_config(opts, create=False)
        checklist = build_checklist(cfg, opts)
        print(format_checklist(checklist))
        return 0 if checklist.ready else 1
    checklist = run_preparation(opts)
    if not checklist.ready:
        return 1
    if args.train:
        argv = train_argv(opts, args.work_dir)
        # --resume: a rerun after an interruption continues the run (from
        # the work dir's newest loadable checkpoint; a fresh start if none)
        # instead of training from epoch 1 over its checkpoints
        argv.insert(1, '--resume')
        return run_tool('train', argv, opts)
    return 0


if __name__ == '__main__':
    sys.exit(run_main(main))
