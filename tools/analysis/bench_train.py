"""Measure how many clips per second a config's model trains on.

``python tools/analysis/bench_train.py CONFIG [--device cuda] [--batch-size
B] [--steps 5] [--amp]``

Times full training steps (forward, backward, AdamW update of the tunable
parameters) on random clips of the config's shapes, so the figure is the
model's appetite without data loading: compare it with
``bench_data.py``'s clips per second per worker to size the data loader. It
also counts the floating-point operations of one training step per clip
(``torch.utils.flop_counter``), which lets you estimate the throughput of a
device you do not have. CLIP weights are not needed (random ones have the
same cost).
"""
import argparse
import time

import torch
from mmengine.config import DictAction
from torch.utils.flop_counter import FlopCounterMode

from fineclip.apis import load_config
from fineclip.registry import MODELS
from fineclip.structures import DFERDataSample


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config', help='config whose model to measure')
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--batch-size', type=int,
                        help='clips per step (default: the config\'s)')
    parser.add_argument('--steps', type=int, default=5,
                        help='timed steps, after one warm-up step (0: only '
                        'count FLOPs)')
    parser.add_argument('--amp', action='store_true',
                        help='bfloat16 autocast (fp32 master weights)')
    parser.add_argument('--no-flops', action='store_true',
                        help='skip counting FLOPs')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config keys')
    return parser.parse_args()


def clip_shape(cfg) -> tuple:
    """``(T, H, W)`` of the clips the config's training pipeline packs."""
    frames, size = None, None
    for step in cfg.train_dataloader.dataset.pipeline:
        if step['type'] == 'SampleFrameIndices':
            frames = step['num_frames']
        if 'size' in step:
            size = step['size']
    if frames is None or size is None:
        raise ValueError('Cannot tell the clip shape from the training '
                         'pipeline (SampleFrameIndices and a resize/crop).')
    h, w = (size, size) if isinstance(size, int) else size
    return frames, h, w


def random_batch(cfg, batch_size: int, num_classes: int) -> dict:
    """A batch as the data loader gives it: uint8 clips per modality."""
    t, h, w = clip_shape(cfg)
    keys = ['frames']
    for step in cfg.train_dataloader.dataset.pipeline:
        if step['type'] == 'RenderFaceMaps':
            keys += list(step.get('modalities', ('parsing', 'landmarks')))
    inputs = [{k: torch.randint(0, 256, (t, 3, h, w), dtype=torch.uint8)
               for k in keys} for _ in range(batch_size)]
    samples = [DFERDataSample().set_gt_label(i % num_classes)
               for i in range(batch_size)]
    return dict(inputs=inputs, data_samples=samples)


def train_step(model, optimizer, batch, amp: bool, device) -> None:
    data = model.data_preprocessor(batch, training=True)
    with torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp):
        loss = model(**data, mode='loss')['loss']
    loss.backward()
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)


def main():
    args = parse_args()
    cfg = load_config(args.config, args.cfg_options)
    cfg.model.clip.pretrained = None  # the cost does not depend on weights
    device = torch.device(args.device)
    model = MODELS.build(cfg.model).to(device).train()
    classes = [f'class {i}' for i in range(7)]
    model.set_class_names(classes)
    tunable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(tunable, lr=1e-4)
    batch_size = args.batch_size or cfg.train_dataloader.batch_size
    batch = random_batch(cfg, batch_size, len(classes))
    t, h, w = clip_shape(cfg)
    print(f'{args.config}: {batch_size} clips of {t} x {h} x {w} per step, '
          f'{sum(p.numel() for p in tunable) / 1e6:.2f}M tunable, on '
          f'{device}{" with bf16 autocast" if args.amp else ""}')

    if not args.no_flops:
        counter = FlopCounterMode(display=False)
        with counter:
            train_step(model, optimizer, random_batch(cfg, 1, len(classes)),
                       args.amp, device)
        print(f'FLOPs of one training step: '
              f'{counter.get_total_flops() / 1e9:.1f} GFLOP per clip')

    if args.steps <= 0:
        return
    train_step(model, optimizer, batch, args.amp, device)  # warm-up
    if device.type == 'cuda':
        torch.cuda.synchronize(device)
    start = time.perf_counter()
    for _ in range(args.steps):
        train_step(model, optimizer, batch, args.amp, device)
    if device.type == 'cuda':
        torch.cuda.synchronize(device)
    seconds = time.perf_counter() - start
    print(f'{args.steps} steps in {seconds:.1f} s: '
          f'{args.steps * batch_size / seconds:.2f} clips/s '
          f'({seconds / args.steps:.2f} s per step)')


if __name__ == '__main__':
    main()
