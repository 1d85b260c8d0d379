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
from fineclip.registry import DESCRIBERS

DEFAULT_FILE = 'descriptions.jsonl'


def parse_args():
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
    return parser.parse_args()


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


def main():
    args = parse_args()
    clips, out = collect_clips(args)
    if args.describer not in DESCRIBERS:
        import fineclip.preprocessing  # noqa: F401 (registers describers)
    describer = DESCRIBERS.build(
        dict(type=args.describer, **args.describer_cfg))
    summary = generate_descriptions(describer, clips, out)
    print(f"{summary['described']} clips described, {summary['skipped']} "
          f"done before, in {out}")
    if summary['described']:
        per_clip = summary['seconds'] / summary['described']
        print(f"{summary['seconds']:.1f} s ({per_clip:.2f} s per clip); "
              f"{summary['mean_words']} words per description on average")
        print(f"e.g. {summary['example']}")


if __name__ == '__main__':
    main()
