"""Generates the synthetic cartoon-face DFER dataset (DFEW, FERV39k or MAFW
layout).

Example::

    python tools/data/make_synthetic_dfer.py --out-dir data/synthetic_dfew
    python tools/data/make_synthetic_dfer.py --layout mafw --video \
        --out-dir data/synthetic_mafw
"""
import argparse
import json
import sys

from fineclip.apis.error_boundary import run_main
from fineclip.datasets.synthetic import generate_synthetic

# Clip counts used when --num-clips is not given.
DEFAULT_NUM_CLIPS = dict(dfew=350, ferv39k=140, mafw=220)


def parse_args(argv=None):
    """Parses the command line."""
    parser = argparse.ArgumentParser(
        description='Write procedurally generated cartoon face videos in the '
        'official DFEW, FERV39k or MAFW layout (see docs/synthetic_data.md).')
    parser.add_argument('--layout', default='dfew',
                        choices=sorted(DEFAULT_NUM_CLIPS),
                        help='on-disk layout (and class set) to write')
    parser.add_argument('--out-dir', default=None,
                        help='output root folder (default: '
                        'data/synthetic_{layout})')
    parser.add_argument('--num-clips', type=int, default=None,
                        help='number of clips (default: 350 for dfew, 140 '
                        'for ferv39k, 220 for mafw)')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--image-size', type=int, default=112,
                        help='side of the square frames in pixels')
    parser.add_argument('--min-frames', type=int, default=10)
    parser.add_argument('--max-frames', type=int, default=48)
    parser.add_argument('--num-folds', type=int, default=5,
                        help='cross-validation folds (dfew only; MAFW '
                        'always has 5, FERV39k one train/test split)')
    parser.add_argument('--video', action='store_true',
                        help='mafw only: also write data/clips/*.mp4')
    parser.add_argument('--parsing-size', type=int, default=None,
                        help='side of the parsing maps (default: image size)')
    parser.add_argument('--no-progress', action='store_true',
                        help='hide the progress bar')
    args = parser.parse_args(argv)
    if args.video and args.layout != 'mafw':
        parser.error('--video needs --layout mafw')
    if args.num_folds != 5 and args.layout != 'dfew':
        parser.error('--num-folds is for --layout dfew only')
    return args


def main(argv=None):
    """Runs the generator and prints its summary as JSON."""
    args = parse_args(argv)
    kwargs = dict(
        num_clips=args.num_clips or DEFAULT_NUM_CLIPS[args.layout],
        seed=args.seed, image_size=args.image_size,
        min_frames=args.min_frames, max_frames=args.max_frames,
        parsing_size=args.parsing_size, progress=not args.no_progress)
    if args.layout == 'dfew':
        kwargs['num_folds'] = args.num_folds
    if args.layout == 'mafw':
        kwargs['video'] = args.video
    summary = generate_synthetic(
        args.layout, args.out_dir or f'data/synthetic_{args.layout}',
        **kwargs)
    print(json.dumps(summary, indent=2))
    return summary


if __name__ == '__main__':
    sys.exit(run_main(main))
