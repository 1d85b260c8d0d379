"""Write a text description of the facial movements of every clip.

``python tools/data/generate_descriptions.py CONFIG|CLIP_ROOT --describer
NAME [--describer-cfg KEY=VALUE ...] [--out FILE] [--limit N]
[--face-map-dir DIR]``

With a CONFIG, every clip of its dataset (train and test) is described,
with its class name at hand (for ``with_label=True``) and its face maps
when the dataset sets ``face_map_dir``; the texts go to
``{data_root}/descriptions.jsonl`` unless ``--out`` says otherwise. With a
folder, each sub-folder of frames and each video under it is a clip (no
labels), face maps come from ``--face-map-dir`` and ``--out`` is required.

The output has one line ``{"clip_id": ..., "text": ...}`` per clip. Clips
already in it are skipped and new lines are appended a batch at a time, so
an interrupted run continues where it stopped (a half-written last line is
dropped and that clip described again). Refine the raw texts afterwards
with tools/data/refine_descriptions.py.

Several processes (GPUs, nodes): start the tool with torchrun or srun and
``--launcher pytorch|slurm``. Clip i goes to rank i % world size; each rank
appends its texts to its own part file next to the output,
``{stem}.part-{rank}-of-{world}.jsonl`` (resumed like the output itself),
and at the end rank 0 merges the parts, in the clip order of a 1-process
run, after the lines the output already held, refusing clips described
twice or not at all, and removes the parts. Resuming a killed job needs
the same number of ranks. ``device=cuda`` in --describer-cfg (and the
default device on a GPU machine) means each rank's own GPU:

  torchrun --nproc_per_node 8 tools/data/generate_descriptions.py CONFIG \
      --describer VideoLlavaDescriber --describer-cfg model=DIR \
      batch_size=8 --launcher pytorch
  srun --ntasks 16 --ntasks-per-node 8 --gres gpu:8 \
      python tools/data/generate_descriptions.py CONFIG ... --launcher slurm

Describers (``DESCRIBERS``):
  VideoLlavaDescriber      the paper's (Video-LLaVA through transformers);
                           --describer-cfg model=DIR for local weights,
                           with_label=True, batch_size=4, max_new_tokens=..
  LandmarkMotionDescriber  offline, from the face maps' landmarks
"""
import argparse
import os.path as osp
import sys

from mmengine.config import DictAction

from fineclip.apis import load_data_tool_config
from fineclip.apis.description_generation import (
    description_clips_from_config, description_clips_from_folder,
    generate_descriptions)
from fineclip.apis.error_boundary import run_main
from fineclip.apis.sharding import build_on_rank, init_data_tool_ranks
from fineclip.registry import DESCRIBERS

DEFAULT_FILE = 'descriptions.jsonl'


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog='\n'.join(__doc__.splitlines()[2:]))
    parser.add_argument('source', help='a config, or a folder of clips')
    parser.add_argument('--describer', required=True,
                        help='registered describer, e.g. '
                        'LandmarkMotionDescriber')
    parser.add_argument('--describer-cfg', nargs='+', action=DictAction,
                        default={}, help='describer arguments, KEY=VALUE')
    parser.add_argument('--out', help='the JSONL file to write (appended)')
    parser.add_argument('--face-map-dir', metavar='DIR',
                        help='folder of {clip_id}.npz face-map files '
                        "(default: the config dataset's face_map_dir)")
    parser.add_argument('--limit', type=int,
                        help='only the first N clips (for a quick look)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config keys')
    parser.add_argument('--launcher', default='none',
                        choices=['none', 'pytorch', 'slurm'],
                        help='several processes: torchrun (pytorch) or srun '
                        '(slurm); each rank takes a share of the clips')
    return parser.parse_args(argv)


def collect_clips(args):
    """The clips to describe and the output file."""
    if args.source.endswith('.py'):
        cfg = load_data_tool_config(args.source, args.cfg_options)
        clips = description_clips_from_config(cfg, args.face_map_dir)
        out = args.out or osp.join(cfg.train_dataloader.dataset.data_root,
                                   DEFAULT_FILE)
    else:
        if not args.out:
            sys.exit('--out is required when the source is a folder')
        clips = description_clips_from_folder(args.source,
                                              args.face_map_dir)
        out = args.out
    return clips[:args.limit] if args.limit else clips, out


def main(argv=None):
    args = parse_args(argv)
    ctx = init_data_tool_ranks(args.launcher)
    # rank 0 first: loading a config may create the embedded default's data
    clips, out = ctx.main_first(lambda: collect_clips(args))
    describer = build_on_rank(DESCRIBERS, args.describer,
                              args.describer_cfg, ctx)
    summary = generate_descriptions(describer, clips, out, ctx=ctx)
    if not ctx.is_main:
        return
    print(f"{summary['described']} clips described, {summary['skipped']} "
          f"done before, in {out}")
    if ctx.distributed:
        print(f'{ctx.world_size} ranks, clip i on rank i % {ctx.world_size};'
              ' their part files were merged into it and removed')
    if summary['described']:
        ranks = summary.get('ranks', [summary])
        per_clip = sum(r['seconds'] for r in ranks) / summary['described']
        slowest, each = ((' on the slowest rank', ' and process')
                         if ctx.distributed else ('', ''))
        print(f"{summary['seconds']:.1f} s{slowest} ({per_clip:.2f} s per "
              f"clip{each}); {summary['mean_words']} words per description "
              'on average')
        print(f"e.g. {summary['example']}")


if __name__ == '__main__':
    sys.exit(run_main(main))
