"""Extract face landmarks and parsing maps for every clip (FineCLIPER*).

``python tools/data/extract_face_maps.py CONFIG|CLIP_ROOT --analyzer NAME
[--analyzer-cfg KEY=VALUE ...] [--out-dir DIR] [--workers N]
[--ground-truth DIR]``

``python tools/data/extract_face_maps.py CONFIG|MAP_DIR --upgrade``

With a CONFIG, every clip of its dataset (train and test) is analysed and
the files go to ``{data_root}/{face_map_dir}`` (the folder the FineCLIPER*
configs read) unless ``--out-dir`` says otherwise. With a folder, each
sub-folder of frames and each video under it is a clip, and ``--out-dir``
is required. One ``{clip_id}.npz`` per clip; clips already done are
skipped, so an interrupted run continues where it stopped. Frames where no
face is found take the nearest frame's maps; how many there were is
printed at the end.

Analysers (``FACE_ANALYZERS``):
  FaceXFormerAnalyzer    the paper's; --analyzer-cfg checkpoint=PATH
                         [device=cuda] [precision=auto|float32|float16|
                         bfloat16] [batch_size=16]
  MediaPipeFaceAnalyzer  offline, from pip (see README, "Face maps")

``--workers N`` loader processes (default: up to 4) decode the clips and,
for FaceXFormer, crop and resize the frames while the analyser runs; the
files do not depend on N. On a GPU FaceXFormer runs in float16 autocast by
default (``precision=auto``; float32 on CPUs) and maps the labels onto the
frame there.

``--upgrade`` rewrites face-map files of the earlier layout (one
``(T, S, S)`` parsing array per clip, which every training sample
decompresses whole) in place in the per-frame one: the config's face-map
folder, or the folder given and those below it. No analyser is needed and
the arrays are kept exactly.

Several processes (GPUs, nodes): start the tool with torchrun or srun and
``--launcher pytorch|slurm``. Clip i goes to rank i % world size, each rank
writes its own clips' files (and skips those already there, so a killed
job resumes), and rank 0 writes ``extraction_summary.json`` over all
clips. ``device=cuda`` in --analyzer-cfg means each rank's own GPU,
``cuda:{LOCAL_RANK}``:

  torchrun --nproc_per_node 8 tools/data/extract_face_maps.py CONFIG \
      --analyzer FaceXFormerAnalyzer --analyzer-cfg checkpoint=PATH \
      device=cuda --launcher pytorch
  srun --ntasks 16 --ntasks-per-node 8 --gres gpu:8 \
      python tools/data/extract_face_maps.py CONFIG ... --launcher slurm

``--ground-truth DIR`` compares the result with reference maps (the
synthetic generator's ``face_maps/``): face-found share, landmark NME and
parsing pixel accuracy.
"""
import argparse
import json
import os
import os.path as osp
import sys

from mmengine.config import DictAction

from fineclip.apis import load_data_tool_config
from fineclip.apis.error_boundary import run_main
from fineclip.apis.face_map_extraction import (SUMMARY_FILE,
                                               clips_from_config,
                                               clips_from_folder,
                                               compare_with_ground_truth,
                                               extract_face_maps,
                                               upgrade_face_maps)
from fineclip.apis.sharding import build_on_rank, init_data_tool_ranks
from fineclip.registry import FACE_ANALYZERS
from fineclip.utils.data_root import add_data_root_argument


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog='\n'.join(__doc__.splitlines()[2:]))
    parser.add_argument('source', help='a config, or a folder of clips')
    parser.add_argument('--analyzer',
                        help='registered face analyser, e.g. '
                        'MediaPipeFaceAnalyzer (required unless --upgrade)')
    parser.add_argument('--analyzer-cfg', nargs='+', action=DictAction,
                        default={}, help='analyser arguments, KEY=VALUE')
    parser.add_argument('--out-dir', help='where the .npz files go')
    parser.add_argument('--ground-truth', metavar='DIR',
                        help='reference face maps to compare with')
    parser.add_argument('--limit', type=int,
                        help='only the first N clips (for a quick look)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config keys')
    parser.add_argument('--workers', type=int,
                        default=min(4, os.cpu_count() or 1),
                        help='loader processes decoding and preparing '
                        'frames (per rank; 0: none)')
    parser.add_argument('--upgrade', action='store_true',
                        help='rewrite earlier-layout face-map files in the '
                        'per-frame layout, in place')
    parser.add_argument('--launcher', default='none',
                        choices=['none', 'pytorch', 'slurm'],
                        help='several processes: torchrun (pytorch) or srun '
                        '(slurm); each rank takes a share of the clips')
    add_data_root_argument(parser)
    args = parser.parse_args(argv)
    if not args.upgrade and not args.analyzer:
        parser.error('--analyzer is required (or --upgrade)')
    return args


def collect_clips(args):
    """The clips to analyse and the folder of their files."""
    if args.source.endswith('.py'):
        cfg = load_data_tool_config(args.source, args.cfg_options)
        clips = clips_from_config(cfg)
        dataset = cfg.train_dataloader.dataset
        out_dir = args.out_dir or osp.join(
            dataset.data_root, dataset.get('face_map_dir') or 'face_maps')
    else:
        if not args.out_dir:
            sys.exit('--out-dir is required when the source is a folder')
        clips, out_dir = clips_from_folder(args.source), args.out_dir
    return clips, out_dir


def upgrade(args) -> None:
    """``--upgrade``: the per-frame layout for a folder of face maps."""
    if args.source.endswith('.py'):
        cfg = load_data_tool_config(args.source, args.cfg_options)
        dataset = cfg.train_dataloader.dataset
        folder = args.out_dir or osp.join(
            dataset.data_root, dataset.get('face_map_dir') or 'face_maps')
    else:
        folder = args.source
    counts = upgrade_face_maps(folder, args.workers)
    print(f"{counts['upgraded']} of {counts['files']} face-map files "
          f"rewritten in the per-frame layout ({counts['current']} were "
          f'already) in {folder}')


def main(argv=None):
    args = parse_args(argv)
    if args.upgrade:
        return upgrade(args)
    ctx = init_data_tool_ranks(args.launcher)
    # rank 0 first: loading a config may create the embedded default's data
    clips, out_dir = ctx.main_first(lambda: collect_clips(args))
    if args.limit:
        clips = clips[:args.limit]
    analyzer = build_on_rank(FACE_ANALYZERS, args.analyzer,
                             args.analyzer_cfg, ctx)
    summary = extract_face_maps(analyzer, clips, out_dir, ctx=ctx,
                                num_workers=args.workers)
    if not ctx.is_main:
        return
    if ctx.distributed:
        print(f'{ctx.world_size} ranks, clip i on rank i % '
              f'{ctx.world_size}; summary over all in '
              f'{osp.join(out_dir, SUMMARY_FILE)}')
    found = summary['frames'] - summary['frames_without_face']
    print(f"{summary['extracted']} clips extracted, {summary['skipped']} "
          f'done before, in {out_dir}')
    if summary['frames']:
        print(f"frames with a face: {found} of {summary['frames']} "
              f"({100 * found / summary['frames']:.1f}%); frames without "
              'one took the nearest frame\'s maps')
    if summary['clips_without_face']:
        shown = ', '.join(summary['clips_without_face'][:10])
        print(f"no face in any frame of {len(summary['clips_without_face'])}"
              f' clip(s): {shown}')
    if args.ground_truth:
        report = compare_with_ground_truth(out_dir, args.ground_truth,
                                           [c.clip_id for c in clips])
        print('against ' + args.ground_truth + ': ' +
              json.dumps(report, indent=2))


if __name__ == '__main__':
    sys.exit(run_main(main))
