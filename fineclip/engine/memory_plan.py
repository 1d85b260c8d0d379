"""Fitting a training config into a memory budget, keeping its batch.

The configs state the paper's batch (16 clips per step). On a GPU too small
for that step the plan keeps the batch as the *effective* one and changes
how it is computed, from the memory model of :mod:`fineclip.models.memory`:

1. the whole batch at once, if it fits;
2. else micro-batches of ``min_micro_batch`` clips (4: 64 frames a pass,
   enough to keep a GPU busy) with gradient accumulation (MMEngine's
   ``accumulative_counts``): the same gradient (the loss is a mean over
   clips with no term across clips), and the most room for what the
   estimate misses;
3. else gradient checkpointing in every encoder that has it (one more
   forward pass of the frozen layers, ~1.3x a step) and the largest
   micro-batch that then fits.

"Fits" means the estimate times :data:`ESTIMATE_MARGIN` is within the
budget.

Micro-batches divide the batch evenly, so every optimiser step sees exactly
``batch_size`` clips. The budget is the GPU's memory (less a margin for the
CUDA context and the allocator's fragmentation) unless ``max_memory_gb``
says otherwise; on a CPU there is no budget unless one is given.
"""
import inspect
from dataclasses import dataclass
from typing import List, Optional

import torch
from mmengine.config import Config, ConfigDict

from fineclip.models.memory import estimate_train_bytes, model_passes

#: Share of a GPU's memory the plan fills: the rest is the CUDA context,
#: cuDNN/cuBLAS workspaces and allocator fragmentation.
GPU_MEMORY_SHARE = 0.85
GIB = 2**30
#: The estimate times this must fit the budget: at ViT-B/16 scale the model
#: came within 10% of the measured peaks (README, "Speed and memory").
ESTIMATE_MARGIN = 1.1


@dataclass
class MemoryPlan:
    """How one training step is computed.

    Attributes:
        batch_size: Clips per optimiser step and process (the config's).
        micro_batch: Clips per forward/backward pass.
        grad_checkpointing: Encoders recompute their layers in backward.
        estimate_bytes: Estimated peak tensor memory of a micro-batch step.
        budget_bytes: The budget it was planned for (``None``: none).
        fits: Whether the estimate is within the budget.
        unmodelled: Branches the estimate leaves out.
    """

    batch_size: int
    micro_batch: int
    grad_checkpointing: bool
    estimate_bytes: int
    budget_bytes: Optional[int]
    fits: bool = True
    unmodelled: tuple = ()

    @property
    def accumulative_counts(self) -> int:
        """Micro-batches per optimiser step."""
        return self.batch_size // self.micro_batch

    def describe(self) -> str:
        """One line for the log."""
        budget = ('no budget' if self.budget_bytes is None else
                  f'budget {self.budget_bytes / GIB:.2f} GiB')
        text = (f'Memory plan: batch {self.batch_size} as '
                f'{self.accumulative_counts} x {self.micro_batch} clips, '
                f'gradient checkpointing '
                f"{'on' if self.grad_checkpointing else 'off'}, estimated "
                f'peak {self.estimate_bytes / GIB:.2f} GiB ({budget})')
        if not self.fits:
            text += ('; the smallest step is estimated above the budget, '
                     'expect an out-of-memory error')
        if self.unmodelled:
            text += (f"; branches {', '.join(self.unmodelled)} define no "
                     'memory_passes and are not counted')
        return text


def _divisors_descending(n: int) -> List[int]:
    return [d for d in range(n, 0, -1) if n % d == 0]


def plan_memory(model: torch.nn.Module, batch_size: int, half: bool,
                budget_bytes: Optional[int], optimizer: str = 'SGD',
                min_micro_batch: int = 4) -> MemoryPlan:
    """Chooses micro-batch and checkpointing for ``batch_size`` clips.

    Args:
        model: The model (a ``meta``-device build is enough).
        batch_size: Clips per optimiser step and process.
        half: Training under bf16/fp16 autocast.
        budget_bytes: Tensor memory available; ``None`` keeps the config.
        optimizer: Optimiser type (its state counts).
        min_micro_batch: The micro-batch tried before checkpointing (the
            smallest divisor of ``batch_size`` that is at least this).

    Returns:
        MemoryPlan: the first of the steps in the module docstring that
        fits, or the smallest step if none does (``fits=False``).
    """
    passes, unmodelled = model_passes(model)

    def estimate(clips, checkpointing):
        return estimate_train_bytes(model, clips, half, checkpointing,
                                    optimizer, passes)['total']

    def plan(clips, checkpointing, fits=True):
        return MemoryPlan(batch_size, clips, checkpointing,
                          estimate(clips, checkpointing), budget_bytes, fits,
                          tuple(unmodelled))

    if budget_bytes is None:
        return plan(batch_size, False)

    def fits(clips, checkpointing):
        return estimate(clips, checkpointing) * ESTIMATE_MARGIN <= budget_bytes

    if fits(batch_size, False):
        return plan(batch_size, False)
    sizes = _divisors_descending(batch_size)
    # split into passes of min_micro_batch clips: enough frames to keep a
    # GPU busy, and the most room for what the estimate misses
    small = [c for c in sizes if c >= min_micro_batch][-1:]
    if small and fits(small[0], False):
        return plan(small[0], False)
    for clips in sizes:
        if fits(clips, True):
            return plan(clips, True)
    return plan(1, True, fits=False)


def device_budget_bytes(max_memory_gb: Optional[float],
                        device_type: str) -> Optional[int]:
    """The tensor-memory budget: ``max_memory_gb`` if given, else the
    GPU's memory times :data:`GPU_MEMORY_SHARE` (none on a CPU)."""
    if max_memory_gb is not None:
        if max_memory_gb <= 0:
            raise ValueError(f'max_memory_gb must be > 0, got '
                             f'{max_memory_gb}')
        return int(max_memory_gb * GIB)
    if device_type == 'cuda':
        import os
        index = int(os.environ.get('LOCAL_RANK', 0))
        total = torch.cuda.get_device_properties(index).total_memory
        return int(total * GPU_MEMORY_SHARE)
    return None


def build_shape_model(model_cfg: dict, num_classes: int) -> torch.nn.Module:
    """The model of ``model_cfg`` on the ``meta`` device: every shape, no
    memory and no download (CLIP and Long-CLIP weights are not read)."""
    from fineclip.registry import MODELS
    import open_clip

    from fineclip.models.clip.builder import NAMED_ARCHS
    cfg = Config(dict(model=model_cfg)).model
    cfg.clip.pretrained = None
    arch = cfg.clip.get('arch', 'ViT-B-16')
    if isinstance(arch, str) and arch not in NAMED_ARCHS:
        # open_clip's factory moves a named model to a real device, which a
        # meta model cannot do; its shapes build the same model here
        shapes = open_clip.get_model_config(arch)
        if shapes is None:
            raise ValueError(f"model.clip.arch='{arch}' is not an open_clip "
                             'architecture.')
        cfg.clip.arch = shapes
    for branch in cfg.get('branches', {}).values():
        encoder = branch.get('encoder') or {}
        if encoder.get('checkpoint') is not None:
            encoder.checkpoint = None
    with torch.device('meta'):
        model = MODELS.build(cfg)
    if getattr(model, 'class_names', None) is None and num_classes:
        model.class_names = tuple(f'class {i}' for i in range(num_classes))
    return model


def enable_grad_checkpointing(model_cfg: dict) -> List[str]:
    """Sets ``grad_checkpointing=True`` on every part of ``model_cfg``
    whose registered type takes that argument.

    Returns:
        list: the config paths it set (for the log).
    """
    found = []

    def visit(node, path):
        if isinstance(node, dict):
            kind = node.get('type')
            if isinstance(kind, str):
                cls = _model_part(kind)
                if cls is not None and 'grad_checkpointing' in (
                        inspect.signature(cls).parameters):
                    node['grad_checkpointing'] = True
                    found.append(path)
            for key, value in node.items():
                visit(value, f'{path}.{key}')
        elif isinstance(node, (list, tuple)):
            for i, value in enumerate(node):
                visit(value, f'{path}[{i}]')

    visit(model_cfg, 'model')
    return found


def _model_part(name: str):
    """The class registered as ``name`` in ``MODELS`` or one of its domain
    registries (``ENCODERS``, ``BRANCHES``...), or ``None``."""
    from fineclip.registry import MODELS
    pending = [MODELS]
    while pending:
        registry = pending.pop()
        registry.import_from_location()
        if name in registry.module_dict:
            return registry.module_dict[name]
        pending.extend(registry.children.values())
    return None


def apply_memory_plan(cfg: Config, plan: MemoryPlan) -> List[str]:
    """Writes a plan into a training config.

    ``train_dataloader.batch_size`` becomes the micro-batch and
    ``optim_wrapper.accumulative_counts`` the number of micro-batches, so
    the optimiser still steps on ``batch_size`` clips; with checkpointing
    every encoder that has it recomputes its layers.

    Returns:
        list: config paths switched to gradient checkpointing.
    """
    cfg.train_dataloader.batch_size = plan.micro_batch
    if plan.accumulative_counts > 1:
        cfg.optim_wrapper.accumulative_counts = plan.accumulative_counts
    if plan.grad_checkpointing:
        return enable_grad_checkpointing(cfg.model)
    return []


def optimizer_type(cfg: Config) -> str:
    """The config's optimiser type name (for its state size)."""
    optimizer = cfg.optim_wrapper.get('optimizer', ConfigDict())
    kind = optimizer.get('type', 'SGD')
    return kind if isinstance(kind, str) else kind.__name__
