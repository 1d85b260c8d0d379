"""Measured cost of a config's model: training step, inference, memory.

Each measurement runs in its own process (spawned), so its peak memory is
its own: on a GPU ``torch.cuda.max_memory_allocated``, on a CPU the
process's peak resident set (``ru_maxrss``, which includes the Python
runtime and the weights). Inputs are random tensors with the config's real
shapes; the timings do not depend on their values.
"""
import multiprocessing as mp
import resource
import time
from typing import Dict, List, Optional

import torch

#: What each comparison row changes in the config's model.
BASELINE = 'full fine-tuning'


def _model_inputs(model, batch: int, device) -> Dict[str, torch.Tensor]:
    """Random inputs for every branch of ``model``."""
    from fineclip.models.branches import DescriptionBranch, FaceMapBranch
    video = model.branches['video'].encoder
    size = video.visual.image_size
    size = size[0] if isinstance(size, (tuple, list)) else size
    frames = video.num_frames
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
        # The same backbone with every CLIP weight trainable, no adapters.
        video = cfg.model.branches.video.encoder
        video.update(t_adapter=False, s_adapter=False, mlp_adapter=False)
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


def _sync(device):
    if device.type == 'cuda':
        torch.cuda.synchronize(device)


def _measure(config, cfg_options, variant, grad_checkpointing, batch,
             steps, warmup, device_name, threads, amp, queue):
    """Child process: builds, times and reports one variant."""
    from fineclip.structures import DFERDataSample
    if threads:
        torch.set_num_threads(threads)
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
    _sync(device)
    start = time.perf_counter()
    for _ in range(steps):
        train_step()
    _sync(device)
    step_s = (time.perf_counter() - start) / steps
    peak = (torch.cuda.max_memory_allocated(device) if device.type == 'cuda'
            else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)

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
        _sync(device)
        start = time.perf_counter()
        for _ in range(steps):
            model(inputs, samples, mode='predict')
        _sync(device)
    infer_s = (time.perf_counter() - start) / steps / batch
    queue.put(dict(variant=variant, grad_checkpointing=grad_checkpointing,
                   step_s=step_s, infer_s_per_clip=infer_s, peak_bytes=peak,
                   flops_per_step=flops, tunable=tunable))


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
        dict: ``step_s``, ``infer_s_per_clip``, ``peak_bytes``,
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
    """Markdown table; ratios against ``reference`` (the baseline)."""
    lines = ['| model | tunable | train step (s) | x baseline | inference '
             '(s/clip) | peak memory (GiB) | x baseline | GFLOP/step | '
             'GFLOP/s (% of matmul) |', '|---' * 9 + '|']
    for row in rows:
        step_ratio = mem_ratio = '-'
        if reference is not None:
            step_ratio = f"{row['step_s'] / reference['step_s']:.2f}"
            mem_ratio = f"{row['peak_bytes'] / reference['peak_bytes']:.2f}"
        rate = row['flops_per_step'] / row['step_s']
        lines.append(
            f"| {row['name']} | {row['tunable'] / 1e6:.2f}M | "
            f"{row['step_s']:.2f} | {step_ratio} | "
            f"{row['infer_s_per_clip']:.2f} | "
            f"{row['peak_bytes'] / 2**30:.2f} | {mem_ratio} | "
            f"{row['flops_per_step'] / 1e9:.0f} | {rate / 1e9:.1f} "
            f'({100 * rate / matmul:.0f}%) |')
    lines.append(f'\nDense fp32 matmul on the same device: '
                 f'{matmul / 1e9:.1f} GFLOP/s.')
    return '\n'.join(lines) + '\n'
