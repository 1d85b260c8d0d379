"""GPU smoke test: does every variant train, test and benchmark here?

``python tools/analysis/gpu_smoke.py`` (or
``bash tools/analysis/gpu_smoke.sh``) runs, each as its own process with a
timeout:

1. ``tools/train.py``: 2 training steps of each variant (FineCLIPER, *, †,
   *†, DFER-CLIP) at its real shapes (its config's CLIP architecture, 16
   frames of 224 px, its batch size) with random CLIP weights, on
   synthetic clips in DFEW's layout (with face maps and descriptions),
   then one validation batch and a checkpoint. Nothing is downloaded.
2. ``tools/test.py`` on the first variant's checkpoint.
3. ``tools/analysis/benchmark.py``: one timed training step of the first
   variant with its peak memory.
4. With 2 or more GPUs: the first variant's 2 steps again under torchrun
   on 2 GPUs (``tools/dist_train.sh``).

Every tool runs with its defaults (precision, memory plan), so the smoke
test checks what a user gets. It prints a markdown table (step, result,
wall time, peak memory where the tool prints it) and exits with status 1
if any step failed.

The configs it runs are the real-data configs with the data pointed at
the synthetic set, ``pretrained=None`` (and no Long-CLIP checkpoint), and
the schedule cut to one epoch over ``2 x batch`` training clips; they are
written to ``WORK_DIR/configs/``. The synthetic set is written on first use
(default ``data/smoke_dfew``).

``--tiny`` swaps in the tiny CLIP (``fineclip-tiny``: ViT-B/16's structure
at toy size), 4 frames of 32 px and batch 4, so ``--tiny --device cpu``
checks the same path on a CPU in well under a minute per variant.
"""
import argparse
import json
import os
import os.path as osp
import re
import subprocess
import sys
import time
from dataclasses import dataclass, field
from typing import Callable, List, Optional, Sequence, Union

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))

#: Variant name -> its real-data config (relative to the repository).
VARIANTS = {
    'fineclip': 'configs/fineclip_dfew.py',
    'fineclip_star': 'configs/fineclip_star_dfew.py',
    'fineclip_dagger': 'configs/fineclip_dagger_dfew.py',
    'fineclip_star_dagger': 'configs/fineclip_star_dagger_dfew.py',
    'dfer_clip': 'configs/plugins/dfer_clip_dfew.py',
}

#: ``--tiny``: the tiny CLIP and inputs to match.
TINY = dict(arch='fineclip-tiny', num_frames=4, input_size=32, batch=4,
            # Long-CLIP's stretch of the tiny text tower: 4 * 24 - 3 * 20
            description_context=36)

#: Synthetic set: enough fold-1 training clips for 2 steps of the largest
#: batch (DFER-CLIP's 48) and for 2 GPUs x 2 steps x 16.
REAL_DATA = dict(num_clips=140, image_size=112, min_frames=8, max_frames=24)
TINY_DATA = dict(num_clips=35, image_size=40, min_frames=6, max_frames=20)

# MMEngine's logger prints "memory: N" (MiB, torch.cuda.max_memory_allocated)
# on GPUs.
MEMORY_RE = re.compile(r'\bmemory: (\d+)')


@dataclass
class Step:
    """One row of the table: a command, or a Python callable."""
    name: str
    command: Union[Sequence[str], Callable[[], str], None]
    timeout: float = 600.
    env: Optional[dict] = None
    #: What to read from a passed step's output (peak memory, a metric).
    parse: Optional[Callable[[str], dict]] = None
    #: Steps that must pass first; if one failed this one is skipped.
    needs: List[str] = field(default_factory=list)


TRAIN_ITER_RE = re.compile(r'Epoch\(train\)\s+\[\d+\]\[\s*(\d+)/(\d+)\]')
LOSS_RE = re.compile(r'\bloss: (\S+)')


def parse_train(output: str) -> dict:
    """Steps run, last loss and peak memory from a training log; a run that
    logged no step or a non-finite loss fails."""
    steps = TRAIN_ITER_RE.findall(output)
    losses = LOSS_RE.findall(output)
    peaks = [int(m) for m in MEMORY_RE.findall(output)]
    row = dict(peak=f'{max(peaks)} MiB' if peaks else '-')
    if not steps or not losses:
        return dict(row, status='FAIL', note='no training step in the log')
    try:
        last = float(losses[-1])
    except ValueError:
        last = float('nan')
    note = f'{steps[-1][0]} steps, loss {last:.4f}'
    if last != last or abs(last) == float('inf'):
        return dict(row, status='FAIL', note=note)
    return dict(row, note=note)


def parse_test(output: str) -> dict:
    found = re.findall(r'\bUAR: ([0-9.]+)', output)
    return dict(note=f'UAR {float(found[-1]):.4f}' if found else '')


def benchmark_parser(out_json: str) -> Callable[[str], dict]:
    def parse(output: str) -> dict:
        with open(out_json) as f:
            row = json.load(f)['rows'][0]
        return dict(peak=f"{row['peak_bytes'] / 2**20:.0f} MiB",
                    note=f"step {row['step_s']:.2f} s")
    return parse


def last_lines(text: str, count: int = 3) -> str:
    lines = [line.strip() for line in text.strip().splitlines()
             if line.strip()]
    return ' / '.join(lines[-count:])[-300:]


def run_step(step: Step) -> dict:
    """Runs ``step``; returns its row (``status`` PASS or FAIL)."""
    start = time.perf_counter()
    row = dict(step=step.name, status='PASS', peak='-', note='')
    try:
        if callable(step.command):
            row['note'] = step.command() or ''
        else:
            env = dict(os.environ, PYTHONUNBUFFERED='1', HF_HUB_OFFLINE='1',
                       **(step.env or {}))
            proc = subprocess.run(list(step.command), cwd=ROOT, env=env,
                                  stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, text=True,
                                  timeout=step.timeout)
            output = proc.stdout
            if proc.returncode != 0:
                row.update(status='FAIL', note=f'exit {proc.returncode}: '
                           + last_lines(output))
            elif step.parse is not None:
                row.update(step.parse(output))
    except subprocess.TimeoutExpired:
        row.update(status='FAIL', note=f'timed out after {step.timeout:.0f}'
                   ' s')
    except Exception as err:  # a failed step is a row, not a crash
        row.update(status='FAIL', note=f'{type(err).__name__}: {err}'[:300])
    row['seconds'] = time.perf_counter() - start
    return row


def run_steps(steps: Sequence[Step], echo: bool = True) -> List[dict]:
    """Runs the steps in order; a step whose ``needs`` failed is SKIP."""
    rows, status = [], {}
    for step in steps:
        failed = [n for n in step.needs if status.get(n) != 'PASS']
        if failed:
            row = dict(step=step.name, status='SKIP', seconds=0., peak='-',
                       note=f"needs {', '.join(failed)}")
        else:
            if echo:
                print(f'[gpu_smoke] {step.name} ...', flush=True)
            row = run_step(step)
        status[step.name] = row['status']
        rows.append(row)
        if echo:
            print(f"[gpu_smoke] {step.name}: {row['status']} "
                  f"({row['seconds']:.1f} s) {row['note']}", flush=True)
    return rows


def format_table(rows: Sequence[dict]) -> str:
    lines = ['| step | result | wall time | peak memory | note |',
             '|---|---|---|---|---|']
    for row in rows:
        note = row['note'].replace('|', '/')
        lines.append(f"| {row['step']} | {row['status']} | "
                     f"{row['seconds']:.1f} s | {row['peak']} | {note} |")
    return '\n'.join(lines)


# --- configs and data ----------------------------------------------------
def _walk(node, visit):
    """Calls ``visit(d)`` on every dict inside ``node``."""
    if isinstance(node, dict):
        visit(node)
        for value in node.values():
            _walk(value, visit)
    elif isinstance(node, (list, tuple)):
        for value in node:
            _walk(value, visit)


def _shrink(node) -> None:
    """``--tiny`` sizes on a model or pipeline config, in place."""
    def visit(d):
        kind = str(d.get('type', ''))
        if 'num_frames' in d:
            d['num_frames'] = TINY['num_frames']
        if kind.startswith('Group') and 'size' in d:
            d['size'] = TINY['input_size']
        if kind in ('TokenizeDescription', 'LongCLIPTextEncoder'):
            d['context_length'] = TINY['description_context']
        if kind == 'OpenCLIP':
            d['arch'] = TINY['arch']
    _walk(node, visit)


def write_smoke_config(config: str, out_file: str, data_root: str,
                       tiny: bool, gpus: int = 1) -> str:
    """Writes ``config`` as a smoke run: synthetic data, random CLIP, one
    epoch of 2 steps per process, one validation batch. Returns a note."""
    from fineclip.apis import load_config
    path = config if osp.isabs(config) else osp.join(ROOT, config)
    if not osp.isfile(path):
        raise FileNotFoundError(
            f'{config}: no such config (give one of {sorted(VARIANTS)} or a '
            'config path)')
    cfg = load_config(path)
    cfg.model.clip.pretrained = None
    _walk(cfg.model, lambda d: d.update(checkpoint=None)
          if 'checkpoint' in d and d.get('type') != 'CheckpointHook'
          else None)
    if tiny:
        _shrink(cfg.model)
    batch = TINY['batch'] if tiny else cfg.train_dataloader.batch_size
    for name, clips in (('train_dataloader', 2 * batch * gpus),
                        ('val_dataloader', batch),
                        ('test_dataloader', batch)):
        loader = cfg[name]
        loader.batch_size = batch
        if tiny:
            loader.num_workers = 0
            loader.persistent_workers = False
            _shrink(loader.dataset.pipeline)
        dataset = loader.dataset
        dataset.data_root = data_root
        dataset.indices = clips  # the first clips of the split
        if 'description_file' in dataset:
            # the generator's descriptions, written without emotion words
            dataset.description_file = 'descriptions.jsonl'
    cfg.train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=1,
                         val_interval=1)
    cfg.default_hooks.logger.interval = 1
    cfg.default_hooks.checkpoint.interval = 1
    os.makedirs(osp.dirname(out_file), exist_ok=True)
    cfg.dump(out_file)
    return f'batch {batch}, {cfg.model.clip.arch}'


def ensure_data(data_root: str, tiny: bool) -> str:
    """Writes the synthetic set unless ``data_root`` already has one."""
    if osp.isfile(osp.join(data_root, 'meta.json')):
        return f'reused {data_root}'
    from fineclip.datasets.synthetic import generate_synthetic_dfew
    sizes = TINY_DATA if tiny else REAL_DATA
    generate_synthetic_dfew(data_root, seed=0, progress=False, **sizes)
    return f"wrote {sizes['num_clips']} clips to {data_root}"


# --- the plan ------------------------------------------------------------
def plan(args) -> List[Step]:
    """The steps for these options, in order."""
    py = sys.executable
    work = osp.abspath(args.work_dir)
    data_root = osp.abspath(args.data_root)
    cpu_env = {'CUDA_VISIBLE_DEVICES': ''} if args.device == 'cpu' else {}
    timeout = args.timeout
    steps = [Step('synthetic data', lambda: ensure_data(data_root,
                                                         args.tiny))]
    trained = []
    for name in args.variants:
        config = VARIANTS.get(name, name)
        smoke_cfg = osp.join(work, 'configs', f'{name_of(name)}.py')
        steps.append(Step(
            f'config {name_of(name)}',
            lambda c=config, o=smoke_cfg: write_smoke_config(
                c, o, data_root, args.tiny),
            needs=['synthetic data']))
        steps.append(Step(
            f'train {name_of(name)}',
            [py, 'tools/train.py', smoke_cfg, '--work-dir',
             osp.join(work, name_of(name))],
            timeout=timeout, env=cpu_env, parse=parse_train,
            needs=[f'config {name_of(name)}']))
        trained.append((name, smoke_cfg))
    if not trained:
        return steps
    first, first_cfg = trained[0]
    first_dir = osp.join(work, name_of(first))
    steps.append(Step(
        f'test {name_of(first)}',
        [py, 'tools/test.py', first_cfg, osp.join(first_dir, 'epoch_1.pth'),
         '--work-dir', osp.join(work, name_of(first) + '_test')],
        timeout=timeout, env=cpu_env, parse=parse_test,
        needs=[f'train {name_of(first)}']))
    bench_json = osp.join(work, 'benchmark.json')
    steps.append(Step(
        f'benchmark {name_of(first)}',
        [py, 'tools/analysis/benchmark.py', first_cfg, '--device',
         args.device, '--batch', str(TINY['batch'] if args.tiny else 16),
         '--steps', '1', '--warmup', '1', '--no-baseline', '--out',
         bench_json] + quick_benchmark(),
        timeout=timeout, env=cpu_env, parse=benchmark_parser(bench_json),
        needs=[f'config {name_of(first)}']))
    if args.device == 'cuda' and args.gpus >= 2:
        dist_cfg = osp.join(work, 'configs', f'{name_of(first)}_2gpu.py')
        steps.append(Step(
            f'config {name_of(first)} 2-GPU',
            lambda: write_smoke_config(VARIANTS.get(first, first), dist_cfg,
                                       data_root, args.tiny, gpus=2),
            needs=['synthetic data']))
        steps.append(Step(
            f'torchrun 2 GPUs {name_of(first)}',
            ['bash', 'tools/dist_train.sh', dist_cfg, '2', '--work-dir',
             osp.join(work, name_of(first) + '_2gpu')],
            timeout=timeout, env=dict(PORT=str(args.port)),
            parse=parse_train,
            needs=[f'config {name_of(first)} 2-GPU']))
    return steps


def quick_benchmark() -> List[str]:
    """``--quick`` (step time and memory only: no FLOP count, inference or
    matmul reference) where this version of benchmark.py has it."""
    with open(osp.join(ROOT, 'tools/analysis/benchmark.py')) as f:
        return ['--quick'] if "'--quick'" in f.read() else []


def name_of(variant: str) -> str:
    """A file-name-safe name for a variant or config path."""
    return osp.splitext(osp.basename(variant))[0]


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog='Variants: ' + ', '.join(VARIANTS))
    parser.add_argument('--device', default='cuda', choices=['cuda', 'cpu'],
                        help='cuda (default; refused without a GPU) or cpu')
    parser.add_argument('--variants', nargs='+', default=list(VARIANTS),
                        metavar='NAME', help='variant names or config paths '
                        '(default: all); the first is also tested and '
                        'benchmarked')
    parser.add_argument('--tiny', action='store_true',
                        help='tiny CLIP, 4 frames of 32 px, batch 4 (a CPU '
                        'check of the same path)')
    parser.add_argument('--work-dir', default='work_dirs/gpu_smoke',
                        help='where the smoke configs (configs/), each '
                        "run's folder and benchmark.json go (default "
                        'work_dirs/gpu_smoke)')
    parser.add_argument('--data-root', help='synthetic DFEW-layout set '
                        '(written if missing; default data/smoke_dfew, or '
                        'data/smoke_dfew_tiny with --tiny)')
    parser.add_argument('--timeout', type=float, default=600,
                        help='seconds per step (default 600)')
    parser.add_argument('--port', type=int, default=29517,
                        help='torchrun master port of the 2-GPU step')
    args = parser.parse_args(argv)
    if args.data_root is None:
        args.data_root = osp.join(
            ROOT, 'data', 'smoke_dfew_tiny' if args.tiny else 'smoke_dfew')
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    import torch
    if args.device == 'cuda' and not torch.cuda.is_available():
        print('gpu_smoke: CUDA is not available here (torch '
              f'{torch.__version__}, CUDA build {torch.version.cuda}). '
              'Run it on a machine with a GPU, or check the same path on '
              'the CPU with --device cpu (and --tiny to finish in a '
              'minute).', file=sys.stderr)
        return 2
    args.gpus = torch.cuda.device_count() if args.device == 'cuda' else 0
    start = time.perf_counter()
    rows = run_steps(plan(args))
    failed = [r['step'] for r in rows if r['status'] != 'PASS']
    device = (torch.cuda.get_device_name(0) if args.device == 'cuda'
              else 'cpu')
    print(f"\nGPU smoke test on {device} ({args.gpus} GPUs), "
          f"{'tiny' if args.tiny else 'real'} shapes, "
          f'{time.perf_counter() - start:.0f} s:\n')
    print(format_table(rows))
    if args.device == 'cuda' and args.gpus < 2:
        print('\n(one GPU: the 2-GPU torchrun step was not run)')
    print('\n' + ('PASSED' if not failed else
                  f"FAILED: {', '.join(failed)}"))
    return 1 if failed else 0


if __name__ == '__main__':
    # here, not at the top: this tool imports the package lazily
    from fineclip.apis.error_boundary import run_main
    sys.exit(run_main(main))
