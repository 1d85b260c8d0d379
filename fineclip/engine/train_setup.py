"""Precision, global batch and memory of a run, decided before the
Runner.

Config keys (``configs/_base_/default_runtime.py`` and the schedules):

* ``precision``: ``'auto'`` (default), ``'bf16'``, ``'fp16'``, ``'fp32'``,
  or ``None`` to leave ``optim_wrapper`` exactly as written
  (:mod:`fineclip.engine.precision`);
* ``train_memory = dict(max_memory_gb=None, min_micro_batch=4)``: the
  budget one training step must fit (default: the GPU's memory; none on a
  CPU) and the smallest micro-batch tried before gradient checkpointing
  (:mod:`fineclip.engine.memory_plan`);
* ``tf32 = True``: fp32 matmuls and convolutions on TF32 tensor cores on
  CUDA (:func:`fineclip.engine.precision.set_tf32`), in training and
  testing;
* ``auto_scale_lr = dict(enable=True, base_batch_size=16)`` (schedules):
  the global batch the learning rates were set for; another global batch
  (more processes, another ``batch_size``) scales them linearly
  (:func:`configure_global_batch`).
"""
import os
from typing import Optional

import torch
from mmengine.config import Config
from mmengine.logging import print_log

from .memory_plan import (MemoryPlan, apply_memory_plan, build_shape_model,
                          device_budget_bytes, optimizer_type, plan_memory)
from .precision import precision_optim_wrapper, resolve_precision, set_tf32


def _device_type() -> str:
    return 'cuda' if torch.cuda.is_available() else 'cpu'


def _num_classes(cfg: Config) -> int:
    from fineclip.registry import DATASETS
    dataset = cfg.train_dataloader.dataset
    cls = DATASETS.get(dataset.get('type', ''))
    classes = dataset.get('metainfo', {}).get('classes') or getattr(
        cls, 'METAINFO', {}).get('classes', ())
    return len(classes)


def configure_tf32(cfg: Config, device_type: Optional[str] = None) -> str:
    """Applies ``cfg.tf32`` (default True) on CUDA.

    Returns:
        str: how fp32 layers compute, for the precision log line.
    """
    device_type = device_type or _device_type()
    if set_tf32(cfg.get('tf32', True), device_type):
        return 'fp32 matmuls and convolutions in TF32 (tf32=False: IEEE)'
    if device_type == 'cuda':
        return 'fp32 matmuls and convolutions in IEEE fp32 (tf32=False)'
    return ''


def configure_test_precision(cfg: Config,
                             device_type: Optional[str] = None) -> str:
    """Sets TF32 for a test run (which runs in fp32) and logs it.

    Returns:
        str: the logged line.
    """
    device_type = device_type or _device_type()
    tf32 = configure_tf32(cfg, device_type)
    line = f'Test precision: fp32 on {device_type}' + (
        f'; {tf32}.' if tf32 else '.')
    print_log(line, logger='current')
    return line


def configure_precision(cfg: Config, device_type: Optional[str] = None
                        ) -> Optional[str]:
    """Resolves ``cfg.precision``, rewrites ``cfg.optim_wrapper`` and
    applies ``cfg.tf32``.

    On CUDA, call it after the process group has set the rank's GPU
    (:func:`fineclip.engine.distributed.setup_distributed`): the bf16
    probe reads the current device.

    Returns:
        str: the precision in use (``None``: the config's wrapper is kept).
    """
    device_type = device_type or _device_type()
    tf32 = configure_tf32(cfg, device_type)
    tf32 = f'; {tf32}' if tf32 else ''
    requested = cfg.get('precision', None)
    if requested is None:
        if tf32:
            print_log(f'Training precision: optim_wrapper as configured '
                      f'(precision=None){tf32}.', logger='current')
        return None
    precision = resolve_precision(requested, device_type)
    cfg.optim_wrapper = precision_optim_wrapper(cfg.optim_wrapper, precision)
    why = {('cuda', 'bf16'): 'native on this GPU',
           ('cuda', 'fp16'): 'this GPU has no native bf16; dynamic loss '
           'scaling',
           ('cpu', 'bf16'): 'this CPU has native bf16 instructions',
           ('cpu', 'fp32'): 'this CPU has no native bf16'}
    reason = why.get((device_type, precision), f"precision='{requested}'")
    if requested != 'auto':
        reason = f"precision='{requested}'"
    print_log(f'Training precision: {precision} autocast on {device_type} '
              f'({reason}); PN logits and losses in fp32{tf32}.'
              if precision != 'fp32' else
              f'Training precision: fp32 on {device_type} ({reason}){tf32}.',
              logger='current')
    return precision


def run_world_size(cfg: Config) -> int:
    """Processes in the run: the process group's, else ``WORLD_SIZE`` or
    ``SLURM_NTASKS`` with a launcher, else 1."""
    import torch.distributed as dist
    if dist.is_available() and dist.is_initialized():
        return dist.get_world_size()
    if cfg.get('launcher', 'none') == 'none':
        return 1
    env = os.environ
    return int(env.get('WORLD_SIZE', env.get('SLURM_NTASKS', 1)))


def configure_global_batch(cfg: Config, world_size: Optional[int] = None
                           ) -> float:
    """Scales the learning rates to the run's global batch.

    The global batch is processes x ``train_dataloader.batch_size`` x
    ``optim_wrapper.accumulative_counts``; ``auto_scale_lr.base_batch_size``
    is the one the rates were set for (the recipe's). With
    ``auto_scale_lr.enable`` the optimiser's ``lr`` (the parts'
    ``paramwise_cfg`` rates are multiples of it) is multiplied by
    global / base (the linear scaling rule, Goyal et al.
    2017); without it, a global batch other than the base is warned about.
    Either way ``auto_scale_lr.enable`` is then set False in ``cfg``: the
    Runner's own scaling would scale again, by a batch that leaves out
    gradient accumulation. Call it before the memory plan splits the batch.

    Args:
        cfg: The run's config.
        world_size: Processes in the run (default: the process group's,
            else ``WORLD_SIZE``/``SLURM_NTASKS`` with a launcher, else 1).

    Returns:
        float: the factor applied to the learning rates (1.0 if none).

    Raises:
        ValueError: ``auto_scale_lr`` without ``base_batch_size``.
    """
    settings = cfg.get('auto_scale_lr')
    loader = cfg.get('train_dataloader')
    if not settings or loader is None or cfg.get('optim_wrapper') is None:
        return 1.0
    base = settings.get('base_batch_size')
    if not base or base <= 0:
        raise ValueError(f'auto_scale_lr={dict(settings)} needs a positive '
                         'base_batch_size (the batch the lr was set for).')
    world_size = world_size or run_world_size(cfg)
    per_process = loader.batch_size * cfg.optim_wrapper.get(
        'accumulative_counts', 1)
    total = world_size * per_process
    enabled = settings.get('enable', False)
    cfg.auto_scale_lr = dict(settings, enable=False)
    batch = (f'Global batch {total} ({world_size} process'
             f"{'es' if world_size > 1 else ''} x {per_process} clips)")
    if total == base:
        print_log(f"{batch}: the recipe's base batch; learning rates as "
                  'configured.', logger='current')
        return 1.0
    if not enabled:
        print_log(f"{batch} differs from the recipe's base batch {base} "
                  'and auto_scale_lr.enable is False: learning rates as '
                  'configured, not scaled.', logger='current', level=30)
        return 1.0
    factor = total / base
    optimizer = cfg.optim_wrapper.optimizer
    optimizer.lr = optimizer.lr * factor
    print_log(f"{batch}, the recipe's base batch is {base}: learning rates "
              f'scaled x{factor:g} (auto_scale_lr; '
              'auto_scale_lr.enable=False keeps them).', logger='current',
              level=30)
    return factor


def configure_memory(cfg: Config, precision: Optional[str],
                     device_type: Optional[str] = None
                     ) -> Optional[MemoryPlan]:
    """Plans the training step into the memory budget and writes the plan
    into ``cfg`` (micro-batch, accumulation, checkpointing).

    Returns:
        MemoryPlan: the plan, or ``None`` where there is no budget (a CPU
        run without ``max_memory_gb``) and the config stays as it is.
    """
    settings = cfg.get('train_memory') or {}
    device_type = device_type or _device_type()
    budget = device_budget_bytes(settings.get('max_memory_gb'), device_type)
    if budget is None or cfg.get('train_dataloader') is None:
        return None
    if cfg.optim_wrapper.get('accumulative_counts', 1) > 1:
        print_log('Memory plan: none, the config sets its own '
                  'accumulative_counts.', logger='current')
        return None
    half = precision in ('bf16', 'fp16')
    model = build_shape_model(cfg.model, _num_classes(cfg))
    plan = plan_memory(model, cfg.train_dataloader.batch_size, half, budget,
                       optimizer_type(cfg),
                       settings.get('min_micro_batch', 4))
    switched = apply_memory_plan(cfg, plan)
    print_log(plan.describe() + (f" (checkpointing: {', '.join(switched)})"
                                 if switched else '') + '.',
              logger='current')
    if plan.accumulative_counts > 1 and _has_batch_contrast(cfg.model):
        print_log('A branch has an in-batch contrastive loss '
                  '(alignment_weight > 0): micro-batches give it fewer '
                  'negatives than the configured batch.', logger='current',
                  level=30)
    return plan


def _has_batch_contrast(model_cfg: dict) -> bool:
    return any((branch.get('alignment_weight') or 0) > 0
               for branch in (model_cfg.get('branches') or {}).values())


def configure_training(cfg: Config) -> Optional[str]:
    """What ``tools/train.py`` does to a config before its Runner, for the
    drivers that train several runs in one process (cross-validation,
    seed comparisons, zero-shot sources): precision and TF32, learning
    rates scaled to the global batch, then the memory plan (in that
    order: the plan splits the batch the rates were scaled for).

    Returns:
        str: the precision in use (``None``: the config's wrapper kept).
    """
    precision = configure_precision(cfg)
    configure_global_batch(cfg)
    configure_memory(cfg, precision)
    return precision
