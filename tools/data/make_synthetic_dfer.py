"""Generates the synthetic cartoon-face DFER dataset (DFEW layout).

Example::

    python tools/data/make_synthetic_dfer.py --out-dir data/synthetic_dfew
"""
import argparse
import json

from fineclip.datasets.synthetic import generate_synthetic_dfew


def parse_args(argv=None):
    """Parses the command line."""
    parser = argparse.ArgumentParser(
        description='Write procedurally generated cartoon face videos in the '
        'official DFEW layout (see docs/synthetic_data.md).')
    parser.add_argument('--out-dir', default='data/synthetic_dfew',
                        help='output root folder')
    parser.add_argument('--num-clips', type=int, default=350)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--image-size', type=int, default=112,
                        help='side of the square frames in pixels')
    parser.add_argument('--min-frames', type=int, default=10)
    parser.add_argument('--max-frames', type=int, default=48)
    parser.add_argument('--num-folds', type=int, default=5)
    parser.add_argument('--parsing-size', type=int, default=None,
                        help='side of the parsing maps (default: image size)')
    parser.add_argument('--no-progress', action='store_true',
                        help='hide the progress bar')
    return parser.parse_args(argv)


def main(argv=None):
    """Runs the generator and prints its summary as JSON."""
    args = parse_args(argv)
    summary = generate_synthetic_dfew(
        args.out_dir, num_clips=args.num_clips, seed=args.seed,
        image_size=args.image_size, min_frames=args.min_frames,
        max_frames=args.max_frames, num_folds=args.num_folds,
        parsing_size=args.parsing_size, progress=not args.no_progress)
    print(json.dumps(summary, indent=2))
    return summary


if __name__ == '__main__':
    main()
