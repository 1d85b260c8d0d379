"""Measure how fast a config's data pipeline delivers clips.

``python tools/analysis/bench_data.py CONFIG [--split train]
[--workers 0 2] [--clips 200] [--steps-clips 50]``

First prints what each pipeline step costs per clip, measured in this
process (``DecodeFrames`` is the JPEG / video decoding, ``LoadFaceMaps`` the
face-map reading of FineCLIPER* configs), then clips per second for each
worker count, and per worker process, so you can tell how many CPU cores a
GPU needs to stay fed (a ViT-B/16 step of FineCLIPER consumes a batch of
16-frame clips at GPU speed).
"""
import argparse
import sys
import time
from collections import defaultdict
from typing import Dict

from mmengine.config import DictAction
from mmengine.runner import Runner

from fineclip.apis import load_config, prepare_embedded_default
from fineclip.apis.error_boundary import run_main
from fineclip.datasets.loader_options import fit_loader_options
from fineclip.registry import DATASETS
from fineclip.utils.data_root import add_data_root_argument

# What the steps of the DFER pipelines do, for the table.
STEP_NOTES = {'DecodeFrames': 'frame decoding (JPEG / video)',
              'LoadFaceMaps': 'face-map loading'}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config', help='config whose dataloader to measure')
    parser.add_argument('--split', default='train',
                        choices=['train', 'val', 'test'])
    parser.add_argument('--workers', type=int, nargs='+', default=[0, 2],
                        help='worker counts to measure')
    parser.add_argument('--clips', type=int, default=200,
                        help='clips to load per measurement (after warm-up)')
    parser.add_argument('--steps-clips', type=int, default=50,
                        help='clips to time step by step (0: skip)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config keys')
    add_data_root_argument(parser)
    return parser.parse_args(argv)


def step_times(dataset_cfg: dict, clips: int) -> Dict[str, float]:
    """Seconds per clip spent in each pipeline step, in this process.

    Runs the dataset's transforms one by one on ``clips`` samples (cycling
    through the dataset, after one warm-up sample) and times each.

    Returns:
        dict: ``{step type: seconds per clip}``, in pipeline order.
    """
    dataset = DATASETS.build(dataset_cfg)
    transforms = dataset.pipeline.transforms
    totals = defaultdict(float)
    for n in range(clips + 1):
        results = dataset.get_data_info(n % len(dataset))
        for transform in transforms:
            start = time.perf_counter()
            results = transform(results)
            if n:  # the first sample warms caches
                totals[type(transform).__name__] += \
                    time.perf_counter() - start
    return {name: total / clips for name, total in totals.items()}


def clips_per_second(loader_cfg: dict, clips: int) -> float:
    """Loads ``clips`` clips (after one warm-up batch) and times it."""
    # no pinning without a GPU, no persistent workers at num_workers=0
    fit_loader_options(dict(train_dataloader=loader_cfg))
    loader = Runner.build_dataloader(loader_cfg, seed=0)
    iterator = iter(loader)
    next(iterator)  # workers start and the first batch warms caches
    loaded, start = 0, time.perf_counter()
    while loaded < clips:
        try:
            batch = next(iterator)
        except StopIteration:
            iterator = iter(loader)
            continue
        loaded += len(batch['data_samples'])
    return loaded / (time.perf_counter() - start)


def print_step_times(times: Dict[str, float]) -> None:
    total = sum(times.values())
    print(f"{'step':<24}  {'ms/clip':>8}  {'share':>6}")
    for name, seconds in times.items():
        note = STEP_NOTES.get(name, '')
        print(f'{name:<24}  {1000 * seconds:>8.2f}  '
              f'{100 * seconds / total:>5.1f}%  {note}'.rstrip())
    print(f"{'all steps':<24}  {1000 * total:>8.2f}")


def main(argv=None):
    args = parse_args(argv)
    cfg = load_config(args.config, args.cfg_options)
    # the data only: no model is built, so no tiny CLIP is needed
    prepare_embedded_default(cfg, parts=('synthetic_data', ))
    loader_cfg = cfg[f'{args.split}_dataloader']
    frames = next(step['num_frames'] for step in loader_cfg.dataset.pipeline
                  if step['type'] == 'SampleFrameIndices')
    print(f'{args.config}: {args.split} pipeline, {frames} frames per clip')
    if args.steps_clips > 0:
        print_step_times(step_times(loader_cfg.dataset, args.steps_clips))
    print(f"{'workers':>7}  {'clips/s':>8}  {'clips/s per process':>19}")
    for workers in args.workers:
        cfg_w = loader_cfg.copy()
        cfg_w.update(num_workers=workers, persistent_workers=False)
        rate = clips_per_second(cfg_w, args.clips)
        print(f'{workers:>7}  {rate:>8.1f}  {rate / max(workers, 1):>19.1f}')


if __name__ == '__main__':
    sys.exit(run_main(main))
