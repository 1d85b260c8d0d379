"""Measured cost of a config's model: training step, inference, memory.

Each measurement runs in its own process, so its peak memory is its own:
on a CPU forked from a server that imported torch, MMEngine and this
package once (:func:`_measuring_context`, about 5 s saved per row on 2
cores), on a GPU spawned. Peak memory is the most tensor memory held at
once during a training step: on a GPU ``torch.cuda.max_memory_allocated``,
on a CPU the same quantity from the profiler's allocation events
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
    """Random inputs for every key ``model.input_keys('loss')`` names.

    Text branches (``DescriptionBranch``) get token ids of their context
    length; every other key, a plugin's modality included, a clip shaped
    like the frames, ``(B, T, 3, H, W)``.
    """
    from fineclip.models.branches import DescriptionBranch
    if 'video' not in model.branches:
        raise ValueError('benchmark.py measures models with a video branch; '
                         f'this one has {sorted(model.branches)}.')
    size = model.clip.visual.image_size
    size = size[0] if isinstance(size, (tuple, list)) else size
    frames = _frames_per_clip(model)
    text_keys = {}
    for branch in model.branches.values():
        if isinstance(branch, DescriptionBranch):
            text_keys.update({k: branch.context_length
                              for k in branch.input_keys})
    inputs = {}
    for key in model.input_keys('loss'):
        if key in text_keys:
            tokens = torch.randint(1, 40000, (batch, text_keys[key]))
            tokens[:, -1] = 49407  # end of text: the largest id
            inputs[key] = tokens
        else:
            inputs[key] = torch.randn(batch, frames, 3, size, size)
    return {k: v.to(device) for k, v in inputs.items()}


def _build(config: str, cfg_options: Optional[dict], variant: str,
           grad_checkpointing: bool, device, batch: int,
           precision: Optional[str], max_memory_gb: Optional[float]):
    """Builds the model and optimiser of ``config`` as ``tools/train.py``
    would train it on ``device``: its precision, and its memory plan for
    ``max_memory_gb`` (``None``: the whole batch at once).

    Returns:
        tuple: model, optimiser wrapper, precision in use, memory plan (or
        ``None``).
    """
    from mmengine.optim import build_optim_wrapper

    from fineclip.engine.memory_plan import enable_grad_checkpointing
    from fineclip.engine.train_setup import (configure_memory,
                                             configure_precision)
    from fineclip.utils.config import load_config
    from .model_builder import build_model
    cfg = load_config(config, cfg_options)
    if grad_checkpointing:
        enable_grad_checkpointing(cfg.model)
    if variant == BASELINE:
        # The same backbone with every CLIP weight trainable, no adapters
        # (parts that are not adapters, e.g. a temporal transformer, stay).
        video = cfg.model.branches.video.get('encoder', {})
        if video.get('type') == 'AIMVideoEncoder':
            video.update(t_adapter=False, s_adapter=False,
                         mlp_adapter=False)
        if cfg.model.get('text_encoder') is not None:
            cfg.model.text_encoder.stacks = ()
        cfg.model.clip['freeze'] = False
    if precision != 'config':
        cfg.precision = precision
    cfg.train_dataloader.batch_size = batch
    cfg.train_memory = dict(cfg.get('train_memory') or {},
                            max_memory_gb=max_memory_gb)
    used = configure_precision(cfg, device.type) or 'fp32'
    plan = configure_memory(cfg, used, device.type)
    # shapes, not values, set the cost: no weights are read
    model = build_model(cfg, device=device, shapes_only=True).train()
    optim = build_optim_wrapper(model, cfg.optim_wrapper)
    return model, optim, used, plan


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


def _split(inputs: Dict[str, torch.Tensor], samples: list, size: int):
    """The batch as micro-batches of ``size`` clips."""
    for start in range(0, len(samples), size):
        yield ({k: v[start:start + size] for k, v in inputs.items()},
               samples[start:start + size])


def _measure(config, cfg_options, variant, grad_checkpointing, batch,
             steps, warmup, device_name, threads, precision, max_memory_gb,
             quick, queue):
    """Child process: builds, times and reports one variant."""
    from fineclip.structures import DFERDataSample
    if threads:
        torch.set_num_threads(threads)
    # The profiler behind peak_tensor_bytes would log a failed GPU query on
    # CPU-only machines; errors only.
    os.environ.setdefault('KINETO_LOG_LEVEL', '5')
    device = torch.device(device_name)
    torch.manual_seed(0)
    model, optim, used, plan = _build(config, cfg_options, variant,
                                      grad_checkpointing, device, batch,
                                      precision, max_memory_gb)
    micro = plan.micro_batch if plan is not None else batch
    inputs = _model_inputs(model, batch, device)
    num_classes = len(model.class_names)
    samples = [DFERDataSample().set_gt_label(i % num_classes)
               for i in range(batch)]
    tunable = sum(p.numel() for p in model.parameters() if p.requires_grad)

    def train_step():
        # one optimiser step over the whole batch, as the Runner runs it:
        # each micro-batch under the wrapper's context (autocast), the
        # wrapper accumulating and stepping after the last one
        for chunk, chunk_samples in _split(inputs, samples, micro):
            with optim.optim_context(model):
                losses = model(chunk, chunk_samples, mode='loss')
            optim.update_params(sum(v for k, v in losses.items()
                                    if 'loss' in k))

    model.train()
    for _ in range(warmup):
        train_step()
    if device.type == 'cuda':
        torch.cuda.reset_peak_memory_stats(device)
    if quick and device.type == 'cpu':
        # one step, timed and profiled at once (the profiler's overhead is
        # in every row's time alike)
        begin = time.perf_counter()
        peak = peak_tensor_bytes(train_step)
        step_s = time.perf_counter() - begin
        peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    else:
        step_s = seconds_per_call(train_step, steps, device)
    if device.type == 'cuda':
        peak, peak_rss = torch.cuda.max_memory_allocated(device), None
    elif not quick:
        # the resident set first: the profiler's own records would add to it
        peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        peak = peak_tensor_bytes(train_step)
    result = dict(variant=variant, grad_checkpointing=(
        grad_checkpointing or bool(plan and plan.grad_checkpointing)),
        step_s=step_s, peak_bytes=peak, peak_rss_bytes=peak_rss,
        tunable=tunable, batch=batch, micro_batch=micro, precision=used,
        estimate_bytes=plan.estimate_bytes if plan else None,
        infer_s_per_clip=None, flops_per_step=None)
    if quick:
        queue.put(result)
        return

    # FLOPs of one micro-batch's forward and backward, times the
    # micro-batches of a step (the optimiser is not counted: elementwise).
    from torch.utils.flop_counter import FlopCounterMode
    counter = FlopCounterMode(display=False,
                              custom_mapping=_missing_flop_formulas())
    chunk, chunk_samples = next(_split(inputs, samples, micro))
    with counter, optim.optim_context(model):
        losses = model(chunk, chunk_samples, mode='loss')
        sum(v for k, v in losses.items() if 'loss' in k).backward()
    optim.zero_grad()
    flops = counter.get_total_flops() * (batch // micro)

    model.eval()
    with torch.no_grad():
        model(chunk, chunk_samples, mode='predict')  # prompts cached here
        infer_s = seconds_per_call(
            lambda: model(chunk, chunk_samples, mode='predict'), steps,
            device) / len(chunk_samples)
    result.update(infer_s_per_clip=infer_s, flops_per_step=flops)
    queue.put(result)


def _measuring_context(device: str):
    """The multiprocessing context a measurement runs in.

    CPU rows fork from a forkserver that has imported this module (and
    with it torch, MMEngine, open_clip): a spawned process would import
    them again for every row. GPU rows are spawned: importing MMEngine asks
    the CUDA driver for its devices, and a process forked after that may
    not start CUDA.
    """
    if torch.device(device).type != 'cpu' or (
            'forkserver' not in mp.get_all_start_methods()):
        return mp.get_context('spawn')
    ctx = mp.get_context('forkserver')
    # before the server starts (it keeps the first list); later calls
    # find it running and reuse it
    ctx.set_forkserver_preload([__name__])
    return ctx


def measure(config: str, variant: str = 'config',
            grad_checkpointing: bool = False, batch: int = 1,
            steps: int = 2, warmup: int = 1, device: str = 'cpu',
            threads: Optional[int] = None, precision: str = 'config',
            max_memory_gb: Optional[float] = None, quick: bool = False,
            cfg_options: Optional[dict] = None) -> dict:
    """Times one variant of ``config`` in a fresh process.

    Args:
        config: Config path.
        variant: ``'config'`` (as written) or :data:`BASELINE`.
        grad_checkpointing: Recompute the frozen blocks in backward
            (whatever the memory plan says).
        batch, steps, warmup: Clips per optimiser step, timed and untimed
            steps.
        device: ``'cpu'`` or ``'cuda'``.
        threads: torch threads in the child (default: torch's).
        precision: ``'config'`` (the config's ``precision``, resolved for
            the device as ``tools/train.py`` does), or ``'auto'``,
            ``'bf16'``, ``'fp16'``, ``'fp32'``.
        max_memory_gb: Plan the step into this budget as
            ``tools/train.py --max-memory-gb`` does (micro-batches,
            checkpointing); ``None``: the whole batch at once.
        quick: Training step and memory only (no FLOPs, no inference);
            on a CPU the one profiled step is also the timed one.
        cfg_options: Config overrides.

    Returns:
        dict: ``step_s``, ``infer_s_per_clip``, ``peak_bytes`` (tensor
        memory), ``peak_rss_bytes`` (CPU only, else ``None``),
        ``flops_per_step`` and ``infer_s_per_clip`` (``None`` with
        ``quick``), ``tunable``, ``variant``,
        ``grad_checkpointing``, ``batch``, ``micro_batch``, ``precision``
        and ``estimate_bytes`` (the memory model's, with a plan).
    """
    from fineclip.utils.config import load_config

    # a config the user got wrong is named here, not as the child's status
    load_config(config, cfg_options)
    ctx = _measuring_context(device)
    queue = ctx.Queue()
    proc = ctx.Process(target=_measure, args=(
        config, cfg_options, variant, grad_checkpointing, batch, steps,
        warmup, device, threads, precision, max_memory_gb, quick, queue))
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


def _step_as(row: dict) -> str:
    """How a row's step ran: micro-batches, checkpointing, precision."""
    batch = row.get('batch', 1)
    micro = row.get('micro_batch', batch)
    parts = [f'{batch // micro} x {micro}']
    if row.get('grad_checkpointing'):
        parts.append('ckpt')
    parts.append(row.get('precision', 'fp32'))
    return ', '.join(parts)


def format_table(rows: List[dict], reference: Optional[dict],
                 matmul: float) -> str:
    """Markdown table; ratios against ``reference`` (the baseline).

    Peak memory is tensor memory (see the module docstring); the resident
    set follows where it was measured (CPU).
    """
    def ratio(row, key):
        if reference is None or row.get(key) is None:
            return '-'
        return f'{row[key] / reference[key]:.2f}'

    lines = ['| model | tunable | train step (s) | x baseline | inference '
             '(s/clip) | peak memory (GiB) | x baseline | peak RSS (GiB) | '
             'GFLOP/step | x baseline | GFLOP/s (% of matmul) | step as | '
             'estimated peak (GiB) |',
             '|---' * 13 + '|']
    def number(row, key, scale=1., digits=2):
        value = row.get(key)
        return '-' if value is None else f'{value / scale:.{digits}f}'

    for row in rows:
        flops = row.get('flops_per_step')
        rate = None if flops is None else flops / row['step_s']
        rate_text = '-' if rate is None else (
            f'{rate / 1e9:.1f} ({100 * rate / matmul:.0f}%)')
        rss = row.get('peak_rss_bytes')
        rss = '-' if rss is None else f'{rss / 2**30:.2f}'
        estimate = row.get('estimate_bytes')
        estimate = '-' if estimate is None else f'{estimate / 2**30:.2f}'
        lines.append(
            f"| {row['name']} | {row['tunable'] / 1e6:.2f}M | "
            f"{row['step_s']:.2f} | {ratio(row, 'step_s')} | "
            f"{number(row, 'infer_s_per_clip')} | "
            f"{row['peak_bytes'] / 2**30:.2f} | "
            f"{ratio(row, 'peak_bytes')} | {rss} | "
            f"{number(row, 'flops_per_step', 1e9, 0)} | "
            f"{ratio(row, 'flops_per_step')} | {rate_text} | "
            f'{_step_as(row)} | {estimate} |')
    if matmul:
        lines.append(f'\nDense fp32 matmul on the same device: '
                     f'{matmul / 1e9:.1f} GFLOP/s.')
    return '\n'.join(lines) + '\n'
