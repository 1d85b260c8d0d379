"""Loading a plugin config as the Runner would, at the tiny CLIP's size, and
training a few steps of it (shared by the plugin tests)."""
import os.path as osp

import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.utils import import_modules_from_strings

from fineclip.registry import MODELS
from tests.conftest import CLASSES, TINY_ARCH

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
#: Frames per clip and image size of the tiny runs.
FRAMES = 4
SIZE = TINY_ARCH['vision_cfg']['image_size']


def tiny_plugin_config(name: str) -> Config:
    """``configs/plugins/<name>`` with its plugins imported (the Runner's
    ``custom_imports``), a random tiny CLIP instead of the weight file, and
    pipelines sized for it."""
    cfg = Config.fromfile(osp.join(ROOT, 'configs', 'plugins', name))
    import_modules_from_strings(**cfg.custom_imports)
    cfg.model.clip = dict(type='OpenCLIP', arch=TINY_ARCH)
    cfg.model.class_names = CLASSES
    for branch in cfg.model.branches.values():
        if 'num_frames' in branch.get('encoder', {}):
            branch.encoder.num_frames = FRAMES
    for loader in ('train_dataloader', 'test_dataloader'):
        for step in cfg[loader].dataset.pipeline:
            if 'num_frames' in step:
                step.num_frames = FRAMES
            if 'size' in step:
                step.size = SIZE
    return cfg


def build_and_train(cfg: Config, batches, steps: int = 2):
    """Builds ``cfg.model`` and its optimiser and runs ``steps`` training
    steps (``train_step``, as the Runner's loop does) on ``batches(i)``.

    Returns:
        tuple: the model, and its parameters before training (copies).
    """
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    model.train()
    for i in range(steps):
        losses = model.train_step(batches(i), optim_wrapper)
        assert torch.isfinite(losses['loss'])
    return model, before
