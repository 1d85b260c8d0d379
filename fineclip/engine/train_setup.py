"""Precision and memory of a training run, decided before the Runner.

Two config keys (``configs/_base_/default_runtime.py``):

* ``precision``: ``'auto'`` (default), ``'bf16'``, ``'fp16'``, ``'fp32'``,
  or ``None`` to leave ``optim_wrapper`` exactly as written
  (:mod:`fineclip.engine.precision`);
* ``train_memory = dict(max_memory_gb=None, min_micro_batch=4)``: the
  budget one training step must fit (default: the GPU's memory; none on a
  CPU) and the smallest micro-batch tried before gradient checkpointing
  (:mod:`fineclip.engine.memory_plan`).
"""
from typing import Optional

import torch
from mmengine.config import Config
from mmengine.logging import print_log

from .memory_plan import (MemoryPlan, apply_memory_plan, build_shape_model,
                          device_budget_bytes, optimizer_type, plan_memory)
from .precision import precision_optim_wrapper, resolve_precision


def _device_type() -> str:
    return 'cuda' if torch.cuda.is_available() else 'cpu'


def _num_classes(cfg: Config) -> int:
    from fineclip.registry import DATASETS
    dataset = cfg.train_dataloader.dataset
    cls = DATASETS.get(dataset.get('type', ''))
    classes = dataset.get('metainfo', {}).get('classes') or getattr(
        cls, 'METAINFO', {}).get('classes', ())
    return len(classes)


def configure_precision(cfg: Config, device_type: Optional[str] = None
                        ) -> Optional[str]:
    """Resolves ``cfg.precision`` and rewrites ``cfg.optim_wrapper``.

    Returns:
        str: the precision in use (``None``: the config's wrapper is kept).
    """
    requested = cfg.get('precision', None)
    if requested is None:
        return None
    device_type = device_type or _device_type()
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
              f'({reason}); PN logits and losses in fp32.'
              if precision != 'fp32' else
              f'Training precision: fp32 on {device_type} ({reason}).',
              logger='current')
    return precision


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
