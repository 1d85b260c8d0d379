"""Measure how fast a config's data pipeline delivers clips.

``python tools/analysis/bench_data.py CONFIG [--split train]
[--workers 0 2] [--clips 200]``

Prints clips per second for each worker count, and per worker process, so
you can tell how many CPU cores a GPU needs to stay fed (a ViT-B/16 step of
FineCLIPER consumes a batch of 16-frame clips at GPU speed).
"""
import argparse
import time

from mmengine.config import DictAction
from mmengine.runner import Runner

from fineclip.apis import load_config, prepare_embedded_default


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config', help='config whose dataloader to measure')
    parser.add_argument('--split', default='train',
                        choices=['train', 'val', 'test'])
    parser.add_argument('--workers', type=int, nargs='+', default=[0, 2],
                        help='worker counts to measure')
    parser.add_argument('--clips', type=int, default=200,
                        help='clips to load per measurement (after warm-up)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config keys')
    return parser.parse_args(argv)


def clips_per_second(loader_cfg: dict, clips: int) -> float:
    """Loads ``clips`` clips (after one warm-up batch) and times it."""
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


def main(argv=None):
    args = parse_args(argv)
    cfg = load_config(args.config, args.cfg_options)
    prepare_embedded_default(cfg)
    loader_cfg = cfg[f'{args.split}_dataloader']
    frames = next(step['num_frames'] for step in loader_cfg.dataset.pipeline
                  if step['type'] == 'SampleFrameIndices')
    print(f'{args.config}: {args.split} pipeline, {frames} frames per clip')
    print(f"{'workers':>7}  {'clips/s':>8}  {'clips/s per process':>19}")
    for workers in args.workers:
        cfg_w = loader_cfg.copy()
        cfg_w.update(num_workers=workers, persistent_workers=False)
        rate = clips_per_second(cfg_w, args.clips)
        print(f'{workers:>7}  {rate:>8.1f}  {rate / max(workers, 1):>19.1f}')


if __name__ == '__main__':
    main()
