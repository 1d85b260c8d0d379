"""DataLoader options that depend on the machine and the worker count.

The datasets' configs ask for what a GPU run wants: ``pin_memory=True`` (the
batch is copied to the GPU without blocking the host) and
``persistent_workers=True`` (the workers are not forked again every epoch
and at every validation). ``pin_memory`` needs an accelerator (without one
torch warns and ignores it) and ``persistent_workers`` needs workers (torch
refuses it with ``num_workers=0``, which debugging runs and the tests set).
:func:`fit_loader_options` turns each off where it cannot apply, so the
configs keep the GPU settings and run on every machine.
"""
from typing import List, Optional

import torch

from fineclip.utils.config_datasets import LOADER_KEYS


def accelerator_available() -> bool:
    """Whether pinned host memory can serve a device (as DataLoader asks)."""
    accelerator = getattr(torch, 'accelerator', None)
    if accelerator is not None:
        return accelerator.is_available()
    return torch.cuda.is_available()


def fit_loader_options(cfg, accelerator: Optional[bool] = None) -> List[str]:
    """Drops the loader options this machine and worker count cannot use.

    Call it on the final config (after ``--cfg-options``), before the
    Runner builds the loaders.

    Args:
        cfg: A config (or dict) with ``*_dataloader`` sections; changed in
            place.
        accelerator: Whether an accelerator is present; asked of torch
            when ``None``.

    Returns:
        list[str]: The options turned off, e.g.
        ``['train_dataloader.persistent_workers']``.
    """
    if accelerator is None:
        accelerator = accelerator_available()
    changed = []
    for name in LOADER_KEYS:
        loader = cfg.get(name)
        if not isinstance(loader, dict):
            continue  # absent, or a built DataLoader
        if loader.get('persistent_workers') and not loader.get(
                'num_workers', 0):
            loader['persistent_workers'] = False
            changed.append(f'{name}.persistent_workers')
        if loader.get('pin_memory') and not accelerator:
            loader['pin_memory'] = False
            changed.append(f'{name}.pin_memory')
    return changed
