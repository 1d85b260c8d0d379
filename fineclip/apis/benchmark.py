"""Measured cost of a config's model: training step, inference, memory.

Each measurement runs in its own process (spawned), so its peak memory is
its own. Peak memory is the most tensor memory held at once during a
training step: on a GPU ``torch.cuda.max_memory_allocated``, on a CPU the
same quantity from the profiler's allocation events
(:func:`peak_tensor_bytes`). On a CPU the process's peak resident set
(``ru_maxrss``) is reported too; it adds the Python runtime and libraries
and memory the C allocator keeps after tensors are freed. Inputs are random
tensors with the config's real shapes; the timings do not depend on their
values.
"""
import gc
import multiprocessing as mp
import os
import resource
import time
from typing import Callable, Dict, List, Optional

import torch

#: What each comparison row changes in the config's model.
BASELINE = 'full fine-tuning'


def _frames_per_clip(model) -> int:
    """T of the model's video branch: the first ``num_frames`` found in it
    (the AIM encoder's, a temporal model's)."""
    for module in model.branches['video'].modules():
        if isinstance(getattr(module, 'num_frames', None), int):
            return module.num_frames
    raise ValueError(
        f"Cannot tell how many frames the video branch "
        f"({type(model.branches['video']).__name__}) takes: none of its "
        'modules has an integer num_frames.')


def _model_inputs(model, batch: int, device) -> Dict[str, torch.Tensor]:
    """Random inputs for every branch of ``model``."""
    from fineclip.models.branches import DescriptionBranch, FaceMapBranch
    if 'video' not in model.branches:
        raise ValueError('benchmark.py measures models with a video branch; '
                         f'this one has {sorted(model.branches)}.')
    size = model.clip.visual.image_size
    size = size[0] if isinstance(size, (tuple, list)) else size
    frames = _frames_per_clip(model)
    inputs = {'frames': torch.randn(batch, frames, 3, size, size)}
    for branch in model.branches.values():
        if isinstance(branch, FaceMapBranch):
            for name in branch.modalities:
                inputs[name] = torch.randn(batch, frames, 3, size, size)
        if isinstance(branch, DescriptionBranch):
            length = branch.context_length
            tokens = torch.randint(1, 40000, (batch, length))
            tokens[:, -1] = 49407  # end of text: the largest id
            inputs[branch.input_key] = tokens
    return {k: v.to(device) for k, v in inputs.items()}


def _build(config: str, cfg_options: Optional[dict], variant: str,
           grad_checkpointing: bool, device):
    from mmengine.optim import build_optim_wrapper

    from fineclip.apis import load_config
    from fineclip.registry import DATASETS, MODELS
    cfg = load_config(config, cfg_options)
    cfg.model.clip.pretrained = None  # shapes, not values, set the cost
    for branch in cfg.model.branches.values():
        encoder = branch.get('encoder', {})
        if 'checkpoint' in encoder:
            encoder.checkpoint = None
        if encoder.get('type') == 'AIMVideoEncoder':
            encoder.grad_checkpointing = grad_checkpointing
    if variant == BASELINE:
        # The same backbone with every CLIP weight trainable, no adapters
        # (parts that are not adapters, e.g. a temporal transformer, stay).
        video = cfg.model.branches.video.get('encoder', {})
        if video.get('type') == 'AIMVideoEncoder':
            video.update(t_adapter=False, s_adapter=False,
                         mlp_adapter=False)
        if cfg.model.get('text_encoder') is not None:
            cfg.model.text_encoder.stacks = ()
    model = MODELS.build(cfg.model)
    if variant == BASELINE:
        for param in model.clip.parameters():
            param.requires_grad_(True)
    dataset = DATASETS.get(cfg.test_dataloader.dataset.type)
    model.set_class_names(dataset.METAINFO['classes'])
    model.to(device)
    optim = build_optim_wrapper(model, cfg.optim_wrapper)
    return model, optim


def _missing_flop_formulas() -> dict:
    """FLOP formulas for ops ``torch.utils.flop_counter`` does not know.

    Attention on CPU runs ``scaled_dot_product_attention`` as its own flash
    kernel, which the counter has no formula for (it counts the CUDA
    kernels only), so ``q k^T`` and the weighted sum of ``v`` would count
    as zero in every model here, fine-tuned or adapted alike. They get the
    counter's own SDPA formulas, forward and backward; a torch that counts
    these ops itself keeps its formulas.
    """
    from torch.utils import flop_counter
    aten = torch.ops.aten

    def forward(query, key, value, *args, out_shape=None, **kwargs):
        return flop_counter.sdpa_flop_count(query, key, value)

    def backward(grad_out, query, key, value, *args, out_shape=None,
                 **kwargs):
        return flop_counter.sdpa_backward_flop_count(grad_out, query, key,
                                                     value)

    formulas = {
        getattr(aten, '_scaled_dot_product_flash_attention_for_cpu',
                None): forward,
        getattr(aten, '_scaled_dot_product_flash_attention_for_cpu_backward',
                None): backward,
    }
    return {op: f for op, f in formulas.items()
            if op is not None and op not in flop_counter.flop_registry}


def live_tensor_bytes() -> int:
    """Bytes of CPU tensor storage reachable from Python right now.

    Between training steps this is what a step starts from: weights,
    gradients not yet freed, optimiser state, inputs and caches (no
    autograd graph is alive then). Views share a storage and count once.
    """
    gc.collect()
    storages = {}
    for obj in gc.get_objects():
        # gc also tracks lazily imported module proxies whose isinstance
        # check imports (and warns); real tensors are found by their type
        if not issubclass(type(obj), torch.Tensor) or obj.is_meta:
            continue
        if obj.device.type != 'cpu':
            continue
        storage = obj.untyped_storage()
        storages[storage.data_ptr()] = storage.nbytes()
    return sum(storages.values())


def peak_tensor_bytes(step: Callable[[], None]) -> int:
    """The most CPU tensor memory held at once while ``step()`` runs.

    CPU counterpart of ``torch.cuda.max_memory_allocated``: what is live
    before the step (:func:`live_tensor_bytes`) plus the highest running
    sum of the allocations and frees the profiler records during it
    (activations, gradients, recomputation, optimiser temporaries). Unlike
    the resident set it leaves out the runtime, the libraries and freed
    memory the C allocator keeps for reuse, so it compares what two models
    need rather than how the allocator behaved.
    """
    from torch.profiler import ProfilerActivity, profile
    before = live_tensor_bytes()
    with profile(activities=[ProfilerActivity.CPU],
                 profile_memory=True) as prof:
        step()
    # The per-allocation records (size, sign, time) are only exposed by
    # the profiler's raw result; the aggregated events merge them into ops.
    records = [e for e in prof.profiler.kineto_results.events()
               if e.name() == '[memory]'
               and e.device_type() == torch.autograd.DeviceType.CPU]
    records.sort(key=lambda e: e.start_ns())
    current = highest = 0
    for record in records:
        current += record.nbytes()
        highest = max(highest, current)
    return before + highest


def _sync(device):
    if device.type == 'cuda':
        torch.cuda.synchronize(device)


def seconds_per_call(fn: Callable[[], None], repeats: int,
                     device: torch.device) -> float:
    """Mean wall time of ``fn()`` over ``repeats`` calls.

    On a GPU the time between two CUDA events recorded around the calls
    (kernels run asynchronously, so a host clock would stop before they
    finish); on a CPU the host clock.
    """
    if device.type == 'cuda':
        start = torch.cuda.Event(enable_timing=True)
        end = torch.cuda.Event(enable_timing=True)
        torch.cuda.synchronize(device)
        start.record()
        for _ in range(repeats):
            fn()
        end.record()
        end.synchronize()
        return start.elapsed_time(end) / 1000 / repeats
    begin = time.perf_counter()
    for _ in range(repeats):
        fn()
    return (time.perf_counter() - begin) / repeats


def _measure(config, cfg_options, variant, grad_checkpointing, batch,
             steps, warmup, device_name, threads, amp, queue):
    """Child process: builds, times and reports one variant."""
    from fineclip.structures import DFERDataSample
    if threads:
        torch.set_num_threads(threads)
    # The profiler behind peak_tensor_bytes would log a failed GPU query on
    # CPU-only machines; errors only.
    os.environ.setdefault('KINETO_LOG_LEVEL', '5')
    device = torch.device(device_name)
    torch.manual_seed(0)
    model, optim = _build(config, cfg_options, variant, grad_checkpointing,
                          device)
    inputs = _model_inputs(model, batch, device)
    num_classes = len(model.class_names)
    samples = [DFERDataSample().set_gt_label(i % num_classes)
               for i in range(batch)]
    tunable = sum(p.numel() for p in model.parameters() if p.requires_grad)

    def train_step():
        # bf16 autocast keeps fp32 master weights: no loss scaling needed
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp):
            losses = model(inputs, samples, mode='loss')
        loss = sum(v for k, v in losses.items() if 'loss' in k)
        optim.update_params(loss)

    model.train()
    for _ in range(warmup):
        train_step()
    if device.type == 'cuda':
        torch.cuda.reset_peak_memory_stats(device)
    step_s = seconds_per_call(train_step, steps, device)
    if device.type == 'cuda':
        peak, peak_rss = torch.cuda.max_memory_allocated(device), None
    else:
        # the resident set first: the profiler's own records would add to it
        peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        peak = peak_tensor_bytes(train_step)

    # FLOPs of one step's forward and backward (the optimiser is not
    # counted: it is elementwise).
    from torch.utils.flop_counter import FlopCounterMode
    counter = FlopCounterMode(display=False,
                              custom_mapping=_missing_flop_formulas())
    with counter:
        losses = model(inputs, samples, mode='loss')
        sum(v for k, v in losses.items() if 'loss' in k).backward()
    optim.zero_grad()
    flops = counter.get_total_flops()

    model.eval()
    with torch.no_grad():
        model(inputs, samples, mode='predict')  # prompts cached here
        infer_s = seconds_per_call(
            lambda: model(inputs, samples, mode='predict'), steps,
            device) / batch
    queue.put(dict(variant=variant, grad_checkpointing=grad_checkpointing,
                   step_s=step_s, infer_s_per_clip=infer_s, peak_bytes=peak,
                   peak_rss_bytes=peak_rss, flops_per_step=flops,
                   tunable=tunable))


def measure(config: str, variant: str = 'config',
            grad_checkpointing: bool = False, batch: int = 1,
            steps: int = 2, warmup: int = 1, device: str = 'cpu',
            threads: Optional[int] = None, amp: bool = False,
            cfg_options: Optional[dict] = None) -> dict:
    """Times one variant of ``config`` in a fresh process.

    Args:
        config: Config path.
        variant: ``'config'`` (as written) or :data:`BASELINE`.
        grad_checkpointing: Recompute the frozen blocks in backward.
        batch, steps, warmup: Clips per step, timed and untimed steps.
        device: ``'cpu'`` or ``'cuda'``.
        threads: torch threads in the child (default: torch's).
        amp: Train under bf16 autocast.
        cfg_options: Config overrides.

    Returns:
        dict: ``step_s``, ``infer_s_per_clip``, ``peak_bytes`` (tensor
        memory), ``peak_rss_bytes`` (CPU only, else ``None``),
        ``flops_per_step``, ``tunable``, ``variant``,
        ``grad_checkpointing``.
    """
    ctx = mp.get_context('spawn')
    queue = ctx.Queue()
    proc = ctx.Process(target=_measure, args=(
        config, cfg_options, variant, grad_checkpointing, batch, steps,
        warmup, device, threads, amp, queue))
    proc.start()
    proc.join()
    if proc.exitcode != 0:
        raise RuntimeError(f'Measuring {config} ({variant}) failed in its '
                           f'process (exit code {proc.exitcode}).')
    return queue.get()


def matmul_flop_rate(device: str = 'cpu', size: int = 2048,
                     seconds: float = 2.0,
                     threads: Optional[int] = None) -> float:
    """Dense fp32 matmul FLOP/s on ``device``: the achievable reference."""
    if threads:
        torch.set_num_threads(threads)
    dev = torch.device(device)
    a = torch.randn(size, size, device=dev)
    b = torch.randn(size, size, device=dev)
    a @ b
    _sync(dev)
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        a @ b
        count += 1
    _sync(dev)
    return 2 * size ** 3 * count / (time.perf_counter() - start)


def format_table(rows: List[dict], reference: Optional[dict],
                 matmul: float) -> str:
    """Markdown table; ratios against ``reference`` (the baseline).

    Peak memory is tensor memory (see the module docstring); the resident
    set follows where it was measured (CPU).
    """
    def ratio(row, key):
        if reference is None:
            return '-'
        return f'{row[key] / reference[key]:.2f}'

    lines = ['| model | tunable | train step (s) | x baseline | inference '
             '(s/clip) | peak memory (GiB) | x baseline | peak RSS (GiB) | '
             'GFLOP/step | x baseline | GFLOP/s (% of matmul) |',
             '|---' * 11 + '|']
    for row in rows:
        rate = row['flops_per_step'] / row['step_s']
        rss = row.get('peak_rss_bytes')
        rss = '-' if rss is None else f'{rss / 2**30:.2f}'
        lines.append(
            f"| {row['name']} | {row['tunable'] / 1e6:.2f}M | "
            f"{row['step_s']:.2f} | {ratio(row, 'step_s')} | "
            f"{row['infer_s_per_clip']:.2f} | "
            f"{row['peak_bytes'] / 2**30:.2f} | "
            f"{ratio(row, 'peak_bytes')} | {rss} | "
            f"{row['flops_per_step'] / 1e9:.0f} | "
            f"{ratio(row, 'flops_per_step')} | {rate / 1e9:.1f} "
            f'({100 * rate / matmul:.0f}%) |')
    lines.append(f'\nDense fp32 matmul on the same device: '
                 f'{matmul / 1e9:.1f} GFLOP/s.')
    return '\n'.join(lines) + '\n'
