"""tools/train.py precision: bf16 autocast where the device computes it
natively (no loss scale), fp16 with dynamic loss scaling on older GPUs,
fp32 elsewhere or with --no-amp; and the memory plan on a GPU."""
import importlib.util
import os.path as osp
import sys
from types import SimpleNamespace

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


def _merged(monkeypatch, *flags, cuda=False, capability=(8, 0),
            cpu_bf16=False, precision='auto', gpu_gib=24):
    tool = _train_tool()
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: cuda)
    monkeypatch.setattr(torch.cuda, 'device_count', lambda: int(cuda))
    monkeypatch.setattr(torch.cuda, 'get_device_capability',
                        lambda *a: capability)

    def is_bf16_supported(including_emulation=True):
        # torch's answer: natively from 8.0, by emulation on any GPU
        return capability[0] >= 8 or including_emulation

    monkeypatch.setattr(torch.cuda, 'is_bf16_supported', is_bf16_supported)
    monkeypatch.setattr(torch.cuda, 'get_device_properties',
                        lambda *a: SimpleNamespace(
                            total_memory=gpu_gib * 2**30))
    monkeypatch.setattr(torch.cpu, '_is_avx512_bf16_supported',
                        lambda: cpu_bf16)
    monkeypatch.setattr(torch.cpu, '_is_amx_tile_supported', lambda: False)
    monkeypatch.setattr(sys, 'argv', ['train.py', CONFIG, *flags])
    cfg = Config.fromfile(CONFIG)
    cfg.precision = precision
    return tool.merge_args(cfg, tool.parse_args())


def test_bf16_without_loss_scaling_on_gpus_with_native_bf16(monkeypatch):
    cfg = _merged(monkeypatch, cuda=True, capability=(8, 0))
    assert cfg.optim_wrapper.type == 'AutocastOptimWrapper'
    assert cfg.optim_wrapper.dtype == 'bfloat16'
    assert 'loss_scale' not in cfg.optim_wrapper
    # the config's optimiser and its settings are kept
    assert cfg.optim_wrapper.optimizer == Config.fromfile(
        CONFIG).optim_wrapper.optimizer


def test_fp16_with_loss_scaling_where_bf16_is_only_emulated(monkeypatch):
    # a V100 (7.0): torch.cuda.is_bf16_supported() says yes by emulation
    cfg = _merged(monkeypatch, cuda=True, capability=(7, 0))
    assert cfg.optim_wrapper.type == 'AmpOptimWrapper'
    assert cfg.optim_wrapper.dtype == 'float16'
    assert cfg.optim_wrapper.loss_scale == 'dynamic'


def test_cpu_bf16_where_the_cpu_has_it_and_fp32_otherwise(monkeypatch):
    cfg = _merged(monkeypatch, cpu_bf16=True)
    assert cfg.optim_wrapper.type == 'AutocastOptimWrapper'
    cfg = _merged(monkeypatch, cpu_bf16=False)
    assert cfg.optim_wrapper.type == 'OptimWrapper'
    with pytest.raises(SystemExit, match='native bf16'):
        _merged(monkeypatch, '--amp', cpu_bf16=False)


def test_no_amp_and_the_synthetic_default_train_in_fp32(monkeypatch):
    cfg = _merged(monkeypatch, '--no-amp', cuda=True)
    assert cfg.optim_wrapper.type == 'OptimWrapper'
    cfg = _train_tool().merge_args(
        Config.fromfile(CONFIG),
        SimpleNamespace(config=CONFIG, work_dir=None, cfg_options=None,
                        launcher='none', no_amp=False, amp=False,
                        max_memory_gb=None, resume=None))
    assert cfg.precision == 'fp32' and cfg.optim_wrapper.type == 'OptimWrapper'


def test_gpu_runs_get_a_memory_plan_that_keeps_the_batch(monkeypatch):
    batch = Config.fromfile(CONFIG).train_dataloader.batch_size
    roomy = _merged(monkeypatch, cuda=True)
    assert roomy.train_dataloader.batch_size == batch
    assert roomy.optim_wrapper.get('accumulative_counts', 1) == 1
    # a budget far below one step: micro-batches and checkpointing, and
    # micro-batch x accumulation is still the configured batch
    tight = _merged(monkeypatch, '--max-memory-gb', '0.02', cuda=True)
    micro = tight.train_dataloader.batch_size
    assert micro < batch
    assert micro * tight.optim_wrapper.accumulative_counts == batch
    assert tight.model.branches.video.encoder.grad_checkpointing
    assert tight.model.text_encoder.grad_checkpointing
