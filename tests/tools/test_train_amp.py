"""tools/train.py --amp: MMEngine's AmpOptimWrapper, bf16 where the GPU has
it, fp16 with dynamic loss scaling otherwise, a clear refusal on CPU."""
import importlib.util
import os.path as osp
import sys

import pytest
import torch
from mmengine.config import Config

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(ROOT, 'configs', 'synthetic', 'fineclip_synthetic.py')


def _train_tool():
    spec = importlib.util.spec_from_file_location(
        '_tool_train', osp.join(ROOT, 'tools', 'train.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _merged(monkeypatch, cuda, bf16):
    tool = _train_tool()
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: cuda)
    monkeypatch.setattr(torch.cuda, 'is_bf16_supported', lambda *a: bf16)
    monkeypatch.setattr(sys, 'argv', ['train.py', CONFIG, '--amp'])
    return tool.merge_args(Config.fromfile(CONFIG), tool.parse_args())


def test_amp_uses_bf16_where_the_gpu_supports_it(monkeypatch):
    cfg = _merged(monkeypatch, cuda=True, bf16=True)
    assert cfg.optim_wrapper.type == 'AmpOptimWrapper'
    assert cfg.optim_wrapper.dtype == 'bfloat16'
    # the config's optimiser and its settings are kept
    assert cfg.optim_wrapper.optimizer == Config.fromfile(
        CONFIG).optim_wrapper.optimizer


def test_amp_falls_back_to_fp16_with_loss_scaling(monkeypatch):
    cfg = _merged(monkeypatch, cuda=True, bf16=False)
    assert cfg.optim_wrapper.type == 'AmpOptimWrapper'
    assert 'dtype' not in cfg.optim_wrapper  # MMEngine's default: fp16
    assert cfg.optim_wrapper.loss_scale == 'dynamic'


def test_amp_without_a_gpu_is_refused(monkeypatch):
    with pytest.raises(SystemExit, match='needs a CUDA GPU'):
        _merged(monkeypatch, cuda=False, bf16=False)
