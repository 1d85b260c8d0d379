"""Write a text description of the facial movements of every clip.

``python tools/data/generate_descriptions.py CONFIG|CLIP_ROOT --describer
NAME [--describer-cfg KEY=VALUE ...] [--out FILE] [--limit N]
[--face-map-dir DIR]``

With a CONFIG, every clip of its dataset (train and test) is described,
with its face maps when the dataset sets ``face_map_dir``; the texts go to
``{data_root}/descriptions.jsonl`` unless ``--out`` says otherwise. With a
folder, each sub-folder of frames and each video under it is a clip, face
maps come from ``--face-map-dir`` and ``--out`` is required.

No describer is told a clip's label: the paper's prompt holds none, and on
DFEW's and MAFW's 5-fold protocols every clip is a test clip of some fold.
For a study of label hints only, ``--describer-cfg with_label=True`` with
a CONFIG gives their labels to the training clips of the config's fold
alone (the clips evaluated in that fold are described without) and writes
a per-fold file, ``{data_root}/descriptions.label_hints.fold{K}.jsonl``
(an ``--out`` must hold ``fold{K}`` in its name too); train and test then
accept it for that fold only. See docs/evaluation_protocol.md.

The output has one line ``{"clip_id": ..., "text": ...}`` per clip, with
how it was made: ``describer``, ``model``, ``prompt_sha256`` (the prompt
template's) and ``label_given``. Clips
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
                           batch_size=4, max_new_tokens=..
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
from fineclip.apis.description_protocol import label_hint_ids
from fineclip.apis.error_boundary import run_main
from fineclip.apis.sharding import build_on_rank, init_data_tool_ranks
from fineclip.registry import DESCRIBERS
from fineclip.utils.data_root import add_data_root_argument
from fineclip.utils.errors import UserInputError

DEFAULT_FILE = 'descriptions.jsonl'
#: The per-fold file of a label-hint study (``{tag}``: ``fold2``).
HINT_FILE = 'descriptions.label_hints.{tag}.jsonl'


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
    add_data_root_argument(parser)
    return parser.parse_args(argv)


def collect_clips(args):
    """The clips to describe, the output file and the clips whose label
    the describer may see (none unless ``with_label=True``)."""
    hints = bool(args.describer_cfg.get('with_label'))
    if args.source.endswith('.py'):
        cfg = load_data_tool_config(args.source, args.cfg_options)
        clips = description_clips_from_config(cfg, args.face_map_dir)
        root = cfg.train_dataloader.dataset.data_root
        label_ids, out = set(), args.out or osp.join(root, DEFAULT_FILE)
        if hints:
            tag, label_ids = label_hint_ids(cfg)
            out = args.out or osp.join(root, HINT_FILE.format(tag=tag))
            if tag not in osp.basename(out):
                raise UserInputError(
                    f'--out {out}: with with_label=True the file holds '
                    f'label hints for {tag} only; put {tag!r} in its name '
                    f'(default {HINT_FILE.format(tag=tag)}) so it is never '
                    'taken for a file every fold may read.')
    else:
        if hints:
            raise UserInputError(
                'with_label=True needs a CONFIG, not a folder: only a '
                "config's folds tell the training clips, which may be "
                'given their labels, from the evaluated ones, which may '
                'not. Describe the folder without labels (the default).')
        if not args.out:
            sys.exit('--out is required when the source is a folder')
        clips = description_clips_from_folder(args.source,
                                              args.face_map_dir)
        label_ids, out = set(), args.out
    clips = clips[:args.limit] if args.limit else clips
    return clips, out, label_ids


def main(argv=None):
    args = parse_args(argv)
    ctx = init_data_tool_ranks(args.launcher)
    # rank 0 first: loading a config may create the embedded default's data
    clips, out, label_ids = ctx.main_first(lambda: collect_clips(args))
    describer = build_on_rank(DESCRIBERS, args.describer,
                              args.describer_cfg, ctx)
    summary = generate_descriptions(describer, clips, out, ctx=ctx,
                                    label_ids=label_ids)
    if not ctx.is_main:
        return
    print(f"{summary['described']} clips described, {summary['skipped']} "
          f"done before, in {out}")
    hinted = sum(c.clip_id in label_ids for c in clips)
    print(f'labels given to the describer: {hinted} of {len(clips)} clips'
          + (' (training clips of this fold only; the evaluated ones were '
             'described without)' if hinted else ''))
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
