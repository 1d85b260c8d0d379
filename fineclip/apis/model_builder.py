"""One way to build a config's model, with or without a trained checkpoint.

Every tool and API that needs a model outside a Runner (inference, the plot
tools, benchmarks, parameter and checkpoint-size counts) builds it here, so
the rules stay the same everywhere:

* the config loads as the tools load it (plugins from ``custom_imports``,
  ``--cfg-options``, the default scope);
* a top-level ``data_preprocessor`` is merged into the model, as MMEngine's
  Runner does;
* class names come from the checkpoint's ``meta.dataset_meta``, else the
  config (``model.class_names``, the test dataset's ``metainfo``, the
  dataset class's ``METAINFO``);
* ``shapes_only=True`` nulls every weight download or file the model would
  read (``pretrained`` and ``checkpoint`` entries: CLIP, Long-CLIP, a
  plugin's own), so a model can be sized without any weights.
"""
import contextlib
from typing import Optional, Sequence, Tuple, Union

import torch
from mmengine.config import Config, ConfigDict

from fineclip.engine.checkpoints import load_weights
from fineclip.utils.config import import_custom_modules, load_config

# Model config entries that name weights to read; ``shapes_only`` nulls them.
WEIGHT_KEYS = ('pretrained', 'checkpoint')


def null_weight_files(model_cfg: dict) -> dict:
    """Sets every string ``pretrained``/``checkpoint`` entry of a model
    config to ``None``, at any depth (in place; returns ``model_cfg``).

    Only strings are touched: they name a file or a download tag, while
    e.g. a boolean ``checkpoint`` switch is something else.
    """
    if isinstance(model_cfg, dict):
        for key, value in model_cfg.items():
            if key in WEIGHT_KEYS and isinstance(value, str):
                model_cfg[key] = None
            else:
                null_weight_files(value)
    elif isinstance(model_cfg, (list, tuple)):
        for value in model_cfg:
            null_weight_files(value)
    return model_cfg


def _mentions(cfg, value) -> bool:
    """Whether ``value`` is an entry of ``cfg`` at any depth."""
    if isinstance(cfg, dict):
        return any(_mentions(v, value) for v in cfg.values())
    if isinstance(cfg, (list, tuple)):
        return any(_mentions(v, value) for v in cfg)
    return value is not None and cfg == value


def model_config(cfg: Config, shapes_only: bool = False) -> ConfigDict:
    """The model entry of ``cfg`` as the Runner builds it: a copy, with the
    top-level ``data_preprocessor`` merged in (the model's own wins)."""
    model_cfg = cfg.model.copy()
    if cfg.get('data_preprocessor') is not None:
        model_cfg.setdefault('data_preprocessor', cfg.data_preprocessor)
    if shapes_only:
        null_weight_files(model_cfg)
    return model_cfg


def config_class_names(cfg: Config,
                       meta: Optional[dict] = None) -> Tuple[str, ...]:
    """Class names for a model of ``cfg``.

    In order: the checkpoint's ``meta.dataset_meta.classes``,
    ``model.class_names``, the test dataset's ``metainfo``, its class's
    ``METAINFO``.

    Raises:
        ValueError: none of them names the classes.
    """
    from fineclip.engine.checkpoint_classes import (checkpoint_classes,
                                                    dataset_classes)
    dataset = (cfg.get('test_dataloader') or {}).get('dataset') or {}
    classes = (checkpoint_classes(dict(meta=meta or {}))
               or cfg.model.get('class_names') or dataset_classes(dataset))
    if not classes:
        raise ValueError(
            'No class names: the checkpoint has no meta.dataset_meta.classes'
            ' and the config names none (model.class_names or the test '
            "dataset's metainfo).")
    return tuple(classes)


def check_device(device: Union[str, torch.device]) -> torch.device:
    """``device`` as a ``torch.device``; a clear error for CUDA on a
    machine without it."""
    device = torch.device(device)
    if device.type == 'cuda' and not torch.cuda.is_available():
        raise RuntimeError(f"device '{device}': CUDA is not available; use "
                           "device='cpu' (--device cpu)")
    return device


def build_model(config: Union[str, Config],
                checkpoint: Optional[str] = None,
                *,
                device: Union[str, torch.device] = 'cpu',
                shapes_only: bool = False,
                cfg_options: Optional[dict] = None,
                class_names: Optional[Sequence[str]] = None
                ) -> torch.nn.Module:
    """Builds the model of a config, loads a checkpoint, names its classes.

    The counterpart of mmaction2's ``init_recognizer`` and mmpretrain's
    ``get_model`` for FineCLIP configs.

    Args:
        config: Config file or loaded ``Config`` (not modified).
        checkpoint: A trained MMEngine checkpoint (full or adapter-only,
            see :mod:`fineclip.engine.checkpoints`); ``None`` keeps the
            weights the config names (or random ones with
            ``shapes_only``).
        device: Where the model goes. ``'meta'`` (with ``shapes_only``, no
            checkpoint) builds it there directly: parameters with shapes
            and no storage, for what only counts them (a ViT-B/16 model in
            0.1 s instead of 1 s of random initialisation).
        shapes_only: Build at the real shapes with random weights: no CLIP,
            Long-CLIP or other weight file is read or downloaded. A
            checkpoint given with it must hold every weight (an
            adapter-only checkpoint is refused: its frozen weights come
            from the files skipped here).
        cfg_options: Overrides, as ``--cfg-options`` gives them.
        class_names: Names to use instead of the checkpoint's or config's.

    Returns:
        torch.nn.Module: the model in eval mode on ``device``.

    Raises:
        FileNotFoundError: missing config or checkpoint.
        fineclip.engine.checkpoints.CheckpointError: a checkpoint that
            does not fit the model.
        ValueError: no class names anywhere.
        RuntimeError: CUDA asked for but not available.
        ValueError: ``device='meta'`` without ``shapes_only``, or with a
            checkpoint (there is no storage to load into).
    """
    import os.path as osp

    from fineclip.registry import MODELS
    from .embedded_default import prepare_embedded_default
    device = check_device(device)
    on_meta = device.type == 'meta'
    if on_meta and (not shapes_only or checkpoint is not None):
        raise ValueError("device='meta' builds shapes without storage: it "
                         'takes shapes_only=True and no checkpoint')
    cfg = load_config(config, cfg_options)
    import_custom_modules(cfg)
    if checkpoint is not None and not osp.isfile(checkpoint):
        raise FileNotFoundError(f"No such checkpoint: '{checkpoint}'")
    model_cfg = model_config(cfg, shapes_only)
    tiny = (cfg.get('embedded_default') or {}).get('tiny_clip') or {}
    if tiny and _mentions(model_cfg, tiny.get('out_file')):
        # the embedded default's tiny CLIP is made on first use, as
        # tools/train.py makes it, but only when the model still reads it
        # (not with shapes_only or model.clip.pretrained=None)
        prepare_embedded_default(cfg, parts=('tiny_clip', ))
    with torch.device('meta') if on_meta else contextlib.nullcontext():
        model = MODELS.build(model_cfg)
        meta = load_weights(model, checkpoint) if checkpoint else None
        if hasattr(model, 'set_class_names'):
            model.set_class_names(
                tuple(class_names) if class_names else
                config_class_names(cfg, meta))
    return (model if on_meta else model.to(device)).eval()
