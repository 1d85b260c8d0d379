"""Two gloo processes on CPU train and test like one process with the same
total batch and seed (tools/train.py and tools/test.py under torchrun)."""
import os.path as osp
import re

import pytest
import torch

from tests.helpers import run_tool_main, run_torchrun, write_small_config

# The training pipeline is the deterministic test pipeline: random
# augmentations draw from one stream per rank (and worker), so with them
# each clip of a 2-process run would be augmented differently from the
# 1-process run, and the runs could not be compared exactly. That ranks do
# get their own streams is test_distributed_augmentation.py's.
DETERMINISTIC = """
_base_ = [{base!r}]
train_dataloader = dict(batch_size={batch}, num_workers=0,
                        dataset=dict(pipeline=_base_.test_pipeline))
val_dataloader = dict(batch_size={batch}, num_workers=0)
test_dataloader = val_dataloader
"""


def _metrics(out):
    found = re.findall(r'Epoch\(test\).*?UAR: ([\d.]+)\s+WAR: ([\d.]+)', out)
    assert found, out[-2000:]
    return tuple(float(x) for x in found[-1])


@pytest.mark.slow(20)
@pytest.mark.skipif(not torch.distributed.is_gloo_available(),
                    reason='torch built without gloo')
def test_two_gloo_processes_match_one_process(tiny_data, tmp_path):
    small = write_small_config(tmp_path, tiny_data, max_epochs=1)
    configs = {}
    for name, batch in (('one', 8), ('two', 4)):  # total batch 8 both
        configs[name] = str(tmp_path / f'{name}.py')
        with open(configs[name], 'w') as f:
            f.write(DETERMINISTIC.format(base=small, batch=batch))

    one_dir, two_dir = str(tmp_path / 'one'), str(tmp_path / 'two')
    ckpt = osp.join(two_dir, 'epoch_1.pth')
    run_tool_main('tools/train.py', [configs['one'], '--work-dir', one_dir])
    # one job: train on two ranks, then test its checkpoint on two ranks
    out = run_torchrun(
        ['tools/train.py', configs['two'], '--work-dir', two_dir],
        ['tools/test.py', configs['two'], ckpt, '--work-dir',
         str(tmp_path / 't2')])
    assert 'world_size: 2' in out or 'Distributed launcher: pytorch' in out

    one = torch.load(osp.join(one_dir, 'epoch_1.pth'), weights_only=True)
    two = torch.load(ckpt, weights_only=True)
    assert one['state_dict'].keys() == two['state_dict'].keys()
    for key, value in one['state_dict'].items():
        # the same updates; only the order of float sums differs
        assert torch.allclose(value, two['state_dict'][key], atol=1e-5,
                              rtol=1e-4), key

    single = _metrics(run_tool_main('tools/test.py', [
        configs['one'], ckpt, '--work-dir', str(tmp_path / 't1')]))
    gathered = _metrics(out)  # training logs Epoch(val), the test Epoch(test)
    assert single == gathered
