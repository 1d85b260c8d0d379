"""GPU runs, simulated on a CPU: TF32 for fp32 layers, the bf16 probe that
does not count emulation (asked on the rank's own GPU, after the process
group set it), the NCCL group destroyed at exit, results gathered over the
group, and the learning rates scaled to the global batch. CUDA, MMEngine's
``init_dist`` and ``atexit`` are stand-ins; the tools' code paths are the
real ones."""
import os.path as osp
import sys
from types import SimpleNamespace

import pytest
import torch
from mmengine.config import Config

from fineclip.engine import distributed, train_setup
from tests.helpers import CONFIG, ROOT, load_tool


@pytest.fixture(autouse=True)
def tf32_flags():
    """The TF32 switches are process-wide: restored after each test."""
    saved = (torch.backends.cuda.matmul.allow_tf32,
             torch.backends.cudnn.allow_tf32)
    torch.backends.cuda.matmul.allow_tf32 = False
    yield
    torch.backends.cuda.matmul.allow_tf32 = saved[0]
    torch.backends.cudnn.allow_tf32 = saved[1]


@pytest.fixture(autouse=True)
def process_env(monkeypatch):
    """The tools export LOCAL_RANK: given a value here so that monkeypatch
    takes it back (as absent, if it was)."""
    monkeypatch.setenv('LOCAL_RANK', '0')


@pytest.fixture
def logged(monkeypatch):
    lines = []
    monkeypatch.setattr(train_setup, 'print_log',
                        lambda msg, **kw: lines.append(msg))
    return lines


class FakeGPUs:
    """CUDA on ``count`` GPUs of compute capability ``major``.0 and 24 GiB,
    with the process group's start recorded in ``events``."""

    def __init__(self, monkeypatch, major=8, count=2):
        self.major, self.current, self.events = major, 0, []
        self.exit_handlers = []
        for name, value in dict(
                is_available=lambda: True, device_count=lambda: count,
                current_device=lambda: self.current,
                get_device_capability=lambda *a: (self.major, 0),
                get_device_properties=self.properties,
                is_bf16_supported=self.is_bf16_supported).items():
            monkeypatch.setattr(torch.cuda, name, value)
        import atexit

        import mmengine.dist
        import mmengine.utils.dl_utils
        monkeypatch.setattr(mmengine.dist, 'init_dist', self.init_dist)
        monkeypatch.setattr(mmengine.utils.dl_utils, 'set_multi_processing',
                            lambda **kw: None)
        monkeypatch.setattr(atexit, 'register', self.exit_handlers.append)

    def init_dist(self, launcher, backend='nccl', **kwargs):
        # what MMEngine's does first: the rank's GPU becomes the current one
        import os
        self.current = int(os.environ['LOCAL_RANK'])
        self.events.append(('init_dist', launcher, backend, self.current))

    def is_bf16_supported(self, including_emulation=True):
        self.events.append(('bf16 probe', including_emulation, self.current))
        # torch's answer: natively from 8.0, by emulation on any GPU
        return self.major >= 8 or including_emulation

    def properties(self, index=None):
        self.events.append(('properties', index))
        return SimpleNamespace(total_memory=24 * 2**30, major=self.major)


def _train_merge(argv, monkeypatch):
    tool = load_tool('tools/train.py')
    monkeypatch.setattr(sys, 'argv', ['train.py'])
    args = tool.parse_args(argv)
    return tool.merge_args(Config.fromfile(args.config), args)


def test_tf32_is_the_default_for_cuda_runs_and_tf32_false_turns_it_off(
        monkeypatch, logged):
    FakeGPUs(monkeypatch)
    _train_merge([CONFIG], monkeypatch)  # the embedded default: fp32
    assert torch.backends.cuda.matmul.allow_tf32
    assert torch.backends.cudnn.allow_tf32
    line = [x for x in logged if x.startswith('Training precision')][-1]
    assert 'fp32 on cuda' in line and 'in TF32' in line, line

    _train_merge([CONFIG, '--cfg-options', 'tf32=False'], monkeypatch)
    assert not torch.backends.cuda.matmul.allow_tf32
    assert not torch.backends.cudnn.allow_tf32
    line = [x for x in logged if x.startswith('Training precision')][-1]
    assert 'IEEE fp32 (tf32=False)' in line, line


def test_cpu_runs_leave_the_tf32_switches_alone(monkeypatch, logged):
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    torch.backends.cudnn.allow_tf32 = False
    _train_merge([CONFIG], monkeypatch)
    assert not torch.backends.cuda.matmul.allow_tf32
    assert not torch.backends.cudnn.allow_tf32
    assert not any('TF32' in line for line in logged), logged


def test_the_test_tool_sets_tf32_on_cuda(monkeypatch, logged):
    FakeGPUs(monkeypatch)
    tool = load_tool('tools/test.py')
    ran = []
    # the tool up to the Runner; no data or tiny CLIP is made or read
    monkeypatch.setattr(tool, 'prepare_embedded_default', lambda cfg: None)
    monkeypatch.setattr(tool, 'fit_loader_options', lambda cfg: None)
    monkeypatch.setattr(tool, 'FineCLIPRunner', SimpleNamespace(
        from_cfg=lambda cfg: SimpleNamespace(test=lambda: ran.append(cfg))))
    monkeypatch.setattr(sys, 'path', list(sys.path))
    monkeypatch.setattr(sys, 'argv', ['test.py'])
    tool.main([CONFIG, 'epoch_10.pth'])
    assert ran and torch.backends.cuda.matmul.allow_tf32
    assert any(line.startswith('Test precision: fp32 on cuda') and 'TF32'
               in line for line in logged), logged


@pytest.mark.parametrize('major, wrapper', [(7, 'AmpOptimWrapper'),
                                            (8, 'AutocastOptimWrapper')])
def test_a_gpu_run_starts_nccl_then_asks_its_own_gpu_for_native_bf16(
        monkeypatch, logged, major, wrapper):
    gpus = FakeGPUs(monkeypatch, major=major)
    for name, value in dict(RANK='1', LOCAL_RANK='1', WORLD_SIZE='2',
                            MASTER_ADDR='127.0.0.1',
                            MASTER_PORT='29999').items():
        monkeypatch.setenv(name, value)
    config = osp.join(ROOT, 'configs', 'fineclip_dfew.py')
    base = Config.fromfile(config)
    cfg = _train_merge([config, '--launcher', 'pytorch',
                        '--cfg-options', 'precision=auto'], monkeypatch)

    # the group first (rank 1's GPU set), then the probe, not counting
    # emulation, on that GPU; the memory budget is GPU 1's too
    assert gpus.events[0] == ('init_dist', 'pytorch', 'nccl', 1)
    probes = [e for e in gpus.events if e[0] == 'bf16 probe']
    assert probes == [('bf16 probe', False, 1)]
    assert ('properties', 0) not in gpus.events
    # a V100 (7.0) gets fp16 with loss scaling; an A100 (8.0) bf16 and no
    # GradScaler
    assert cfg.optim_wrapper.type == wrapper
    if major >= 8:
        assert cfg.optim_wrapper.dtype == 'bfloat16'
        assert 'loss_scale' not in cfg.optim_wrapper
    else:
        assert cfg.optim_wrapper.dtype == 'float16'
        assert cfg.optim_wrapper.loss_scale == 'dynamic'
    # results are gathered over NCCL, not through ./.dist_test files
    assert cfg.val_evaluator.collect_device == 'gpu'
    assert cfg.test_evaluator.collect_device == 'gpu'
    # 2 processes x 16 clips against the recipe's 16: lr x2, once
    assert cfg.optim_wrapper.optimizer.lr == pytest.approx(
        2 * base.optim_wrapper.optimizer.lr)
    assert cfg.auto_scale_lr.enable is False

    # the NCCL group is destroyed at exit, as the gloo one is
    assert gpus.exit_handlers == [distributed._close_process_group]
    destroyed = []
    monkeypatch.setattr(torch.distributed, 'is_initialized', lambda: True)
    monkeypatch.setattr(torch.distributed, 'destroy_process_group',
                        lambda: destroyed.append(True))
    gpus.exit_handlers[0]()
    assert destroyed == [True]


def test_metrics_gather_on_gpu_runs_only_and_explicit_settings_stay(
        monkeypatch):
    from fineclip.registry import METRICS
    cfg = Config(dict(
        launcher='pytorch',
        val_evaluator=dict(type='DFERMetric'),
        test_evaluator=[dict(type='DFERMetric'),
                        dict(type='DumpResults', out_file_path='x.pkl'),
                        dict(type='DFERMetric', collect_device='cpu')]))
    cpu = cfg.copy()
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    monkeypatch.setattr(distributed, 'setup_cpu_distributed',
                        lambda c: True)  # no gloo group started here
    assert distributed.setup_distributed(cpu)
    assert 'collect_device' not in cpu.val_evaluator  # gloo: 'cpu'

    assert distributed.gather_metrics_on_gpu(cfg) == 3
    assert [m.get('collect_device') for m in cfg.test_evaluator] == [
        'gpu', 'gpu', 'cpu']
    assert METRICS.build(cfg.val_evaluator).collect_device == 'gpu'
    nested = Config(dict(val_evaluator=dict(
        type='Evaluator', metrics=[dict(type='DFERMetric')])))
    distributed.gather_metrics_on_gpu(nested)
    assert nested.val_evaluator.metrics[0].collect_device == 'gpu'


def test_the_lr_follows_the_global_batch_and_accumulation_counts(logged):
    def scaled(world, batch, counts=1, enable=True):
        cfg = Config(dict(
            train_dataloader=dict(batch_size=batch),
            optim_wrapper=dict(optimizer=dict(type='SGD', lr=1e-3),
                               accumulative_counts=counts),
            auto_scale_lr=dict(enable=enable, base_batch_size=16)))
        factor = train_setup.configure_global_batch(cfg, world)
        assert factor * 1e-3 == pytest.approx(cfg.optim_wrapper.optimizer.lr)
        assert cfg.auto_scale_lr.enable is False  # not again in the Runner
        return factor

    assert scaled(1, 16) == 1.0
    assert 'as configured' in logged[-1]
    assert scaled(8, 16) == 8.0
    assert 'Global batch 128 (8 processes x 16 clips)' in logged[-1]
    assert scaled(1, 8, counts=2) == 1.0  # micro-batches of one step
    assert scaled(1, 8) == 0.5
    assert scaled(8, 16, enable=False) == 1.0
    assert 'not scaled' in logged[-1]
    with pytest.raises(ValueError, match='base_batch_size'):
        train_setup.configure_global_batch(Config(dict(
            train_dataloader=dict(batch_size=8),
            auto_scale_lr=dict(enable=True),
            optim_wrapper=dict(optimizer=dict(lr=1.0)))))
