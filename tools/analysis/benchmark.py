"""Training-step time, inference time and peak memory, against full
fine-tuning of the same backbone, measured in one run.

``python tools/analysis/benchmark.py CONFIG [CONFIG ...] [--steps 2]
[--batch 1] [--device cpu|cuda] [--precision config|auto|bf16|fp16|fp32]
[--max-memory-gb GB | --no-plan] [--grad-checkpointing] [--no-baseline]
[--cfg-options ...]``

Each model trains as ``tools/train.py`` would train it: in the config's
precision resolved for the device (``precision='auto'``: bf16 autocast on
GPUs and on CPUs with native bf16), and with the memory plan for the
budget (micro-batches with gradient accumulation, then gradient
checkpointing; ``--batch`` stays the clips per optimiser step). The budget
is the GPU's on CUDA and, on a CPU, that of a 24 GB card unless
``--max-memory-gb`` says otherwise; ``--no-plan`` runs the whole batch at
once. Each row says how its step ran and the memory model's estimate.

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
import sys

from mmengine.config import DictAction

from fineclip.apis.benchmark import (BASELINE, format_table,
                                     matmul_flop_rate, measure)
from fineclip.apis.error_boundary import run_main
from fineclip.engine.memory_plan import GIB, GPU_MEMORY_SHARE

#: The paper's GPU (RTX 4090), in GiB (24,564 MiB).
CARD_24GB = 24


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('configs', nargs='+', help='config files')
    parser.add_argument('--steps', type=int, default=2,
                        help='timed steps per model')
    parser.add_argument('--warmup', type=int, default=1)
    parser.add_argument('--batch', type=int, default=1, help='clips/step')
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--threads', type=int,
                        help='torch threads (default: torch decides)')
    parser.add_argument('--precision', default='config',
                        choices=['config', 'auto', 'bf16', 'fp16', 'fp32'],
                        help="'config': the config's, as tools/train.py "
                        'resolves it for the device')
    parser.add_argument('--amp', action='store_true',
                        help='same as --precision bf16')
    budget = parser.add_mutually_exclusive_group()
    budget.add_argument('--max-memory-gb', type=float, metavar='GB',
                        help="memory budget of the plan (default: the GPU's;"
                        ' on a CPU a 24 GB card\'s)')
    budget.add_argument('--no-plan', action='store_true',
                        help='the whole batch at once, no memory plan')
    parser.add_argument('--grad-checkpointing', action='store_true',
                        help='also run the first config with gradient '
                        'checkpointing of the frozen image blocks')
    parser.add_argument('--quick', action='store_true',
                        help='training step time and memory only (no FLOPs,'
                        ' no inference); on a CPU one profiled step is '
                        'also the timed one')
    parser.add_argument('--no-baseline', action='store_true',
                        help='skip the full fine-tuning baseline')
    parser.add_argument('--out', help='also write the rows as JSON here')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config keys in every config')
    return parser.parse_args(argv)


def memory_budget(args):
    """The plan's budget in GB: ``None`` with ``--no-plan``, else the flag,
    else the GPU's (``tools/train.py``'s default) or, on a CPU, what
    ``tools/train.py`` would plan for on a 24 GB GPU."""
    if args.no_plan:
        return None
    if args.max_memory_gb is not None:
        return args.max_memory_gb
    if args.device.startswith('cuda'):
        import torch
        index = torch.device(args.device).index or 0
        total = torch.cuda.get_device_properties(index).total_memory
        return total * GPU_MEMORY_SHARE / GIB
    return CARD_24GB * GPU_MEMORY_SHARE


def main(argv=None):
    args = parse_args(argv)
    common = dict(batch=args.batch, steps=args.steps, warmup=args.warmup,
                  device=args.device, threads=args.threads,
                  precision='bf16' if args.amp else args.precision,
                  max_memory_gb=memory_budget(args), quick=args.quick,
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
        infer = row['infer_s_per_clip']
        print(f"{name}: step {row['step_s']:.2f} s, inference "
              f"{'-' if infer is None else f'{infer:.2f}'} s/clip, peak "
              f"{row['peak_bytes'] / 2**30:.2f} GiB of tensors", flush=True)
    budget = common['max_memory_gb']
    print('\nMemory plan budget: ' + (
        'none (--no-plan)' if budget is None else f'{budget:.1f} GiB'))
    matmul = None if args.quick else matmul_flop_rate(args.device,
                                                      threads=args.threads)
    reference = None if args.no_baseline else rows[0]
    print()
    print(format_table(rows, reference, matmul))
    if args.out:
        with open(args.out, 'w') as f:
            json.dump(dict(rows=rows, matmul_flops_per_s=matmul), f,
                      indent=2)


if __name__ == '__main__':
    sys.exit(run_main(main))
