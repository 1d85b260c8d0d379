"""The recipe's global batch survives added processes: ``batch_size`` is
per process, so two gloo ranks of 16 clips train at 32, and the learning
rate the Runner's optimiser gets is scaled x2 (``auto_scale_lr``, once:
the Runner's own scaling is switched off)."""
import re

import pytest
import torch
from mmengine.config import Config

from tests.helpers import load_tool, run_torchrun, write_small_config

# tools/train.py up to the optimiser, as Runner.train builds it: the
# wrapper, then the Runner's scale_lr (a no-op once the tool has scaled)
BUILD_OPTIMIZER = '''
import sys

import torch.distributed as dist
from mmengine.config import Config
from mmengine.runner import Runner

from tests.helpers import load_tool

tool = load_tool('tools/train.py')
args = tool.parse_args(sys.argv[1:])
cfg = tool.merge_args(Config.fromfile(args.config), args)
runner = Runner.from_cfg(cfg)
optim = runner.build_optim_wrapper(cfg.optim_wrapper)
runner.scale_lr(optim, runner.auto_scale_lr)
lrs = sorted({g['lr'] for g in optim.optimizer.param_groups})
print(f'rank {dist.get_rank()} of {dist.get_world_size()} lrs {lrs}')
'''


@pytest.mark.slow(14)
@pytest.mark.skipif(not torch.distributed.is_gloo_available(),
                    reason='torch built without gloo')
def test_two_ranks_train_at_twice_the_batch_with_twice_the_lr(
        tiny_data, tmp_path, monkeypatch):
    config = write_small_config(tmp_path, tiny_data, max_epochs=1)
    options = ['--cfg-options', 'train_dataloader.batch_size=16']
    configured = Config.fromfile(config).optim_wrapper.optimizer.lr

    # one process at the recipe's batch: the rates as configured
    tool = load_tool('tools/train.py')
    monkeypatch.setenv('LOCAL_RANK', '0')  # the tool exports it
    one = tool.merge_args(Config.fromfile(config), tool.parse_args(
        [config] + options))
    assert one.optim_wrapper.optimizer.lr == pytest.approx(configured)

    script = tmp_path / 'build_optimizer.py'
    script.write_text(BUILD_OPTIMIZER)
    out = run_torchrun([str(script), config, '--work-dir',
                        str(tmp_path / 'work')] + options)
    found = re.findall(r'rank (\d) of 2 lrs \[(.*)\]', out)
    assert sorted(rank for rank, _ in found) == ['0', '1'], out[-3000:]
    for _, lrs in found:
        assert [float(x) for x in lrs.split(',')] == pytest.approx(
            [2 * configured])
    assert 'Global batch 32 (2 processes x 16 clips)' in out, out[-3000:]
    assert 'scaled x2' in out
