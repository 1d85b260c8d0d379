"""Training-step time, inference time and peak memory, against full
fine-tuning of the same backbone, measured in one run.

``python tools/analysis/benchmark.py CONFIG [CONFIG ...] [--steps 2]
[--batch 1] [--device cpu|cuda] [--amp] [--grad-checkpointing]
[--no-baseline] [--cfg-options ...]``

Every model is built at its config's real shapes (random weights: the cost
does not depend on them) and measured in a process of its own. The first
config also runs as the baseline: every CLIP weight trainable, no adapter,
the same optimiser (parts that are not adapters, such as a plugin's
temporal model, stay). With ``--grad-checkpointing`` the first config runs a
second time with its frozen image blocks recomputed in the backward pass.
Times come from CUDA events on a GPU and the host clock on a CPU; peak
memory is the tensor peak (``torch.cuda.max_memory_allocated``, or its CPU
counterpart from the profiler's allocation records) and, on a CPU, the peak
resident set as well. FLOPs per step (forward + backward) come from
``torch.utils.flop_counter`` and are compared with a dense fp32 matmul
timed on the same device.
Training clips per second are ``batch / step``: on a GPU, compare them with
``bench_data.py``'s clips per second per worker to size the data loader.
"""
import argparse
import json
import os.path as osp

from mmengine.config import DictAction

from fineclip.apis.benchmark import (BASELINE, format_table,
                                     matmul_flop_rate, measure)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('configs', nargs='+', help='config files')
    parser.add_argument('--steps', type=int, default=2,
                        help='timed steps per model')
    parser.add_argument('--warmup', type=int, default=1)
    parser.add_argument('--batch', type=int, default=1, help='clips/step')
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--threads', type=int,
                        help='torch threads (default: torch decides)')
    parser.add_argument('--amp', action='store_true',
                        help='train under bf16 autocast')
    parser.add_argument('--grad-checkpointing', action='store_true',
                        help='also run the first config with gradient '
                        'checkpointing of the frozen image blocks')
    parser.add_argument('--no-baseline', action='store_true',
                        help='skip the full fine-tuning baseline')
    parser.add_argument('--out', help='also write the rows as JSON here')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config keys in every config')
    return parser.parse_args()


def main():
    args = parse_args()
    common = dict(batch=args.batch, steps=args.steps, warmup=args.warmup,
                  device=args.device, threads=args.threads, amp=args.amp,
                  cfg_options=args.cfg_options)
    runs = []
    first = args.configs[0]
    if not args.no_baseline:
        runs.append((f'{osp.basename(first)} ({BASELINE})', first,
                     dict(variant=BASELINE)))
    runs += [(osp.basename(c), c, {}) for c in args.configs]
    if args.grad_checkpointing:
        runs.append((f'{osp.basename(first)} + gradient checkpointing',
                     first, dict(grad_checkpointing=True)))
    rows = []
    for name, config, extra in runs:
        row = measure(config, **extra, **common)
        row['name'] = name
        rows.append(row)
        print(f"{name}: step {row['step_s']:.2f} s, inference "
              f"{row['infer_s_per_clip']:.2f} s/clip, peak "
              f"{row['peak_bytes'] / 2**30:.2f} GiB of tensors", flush=True)
    matmul = matmul_flop_rate(args.device, threads=args.threads)
    reference = None if args.no_baseline else rows[0]
    print()
    print(format_table(rows, reference, matmul))
    if args.out:
        with open(args.out, 'w') as f:
            json.dump(dict(rows=rows, matmul_flops_per_s=matmul), f,
                      indent=2)


if __name__ == '__main__':
    main()
