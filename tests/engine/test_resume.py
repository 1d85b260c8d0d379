"""An interrupted run resumed with --resume ends where an uninterrupted one
does, from an adapter-only checkpoint."""
import copy

import pytest
import torch
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.runner import Runner

from fineclip.models.clip import build_clip
from fineclip.registry import HOOKS
from tests.helpers import write_small_config


class Interrupted(Exception):
    pass


@HOOKS.register_module(force=True)
class InterruptAfterFirstEpoch(Hook):
    """Stops training once the first epoch's checkpoint is written."""

    priority = 'LOWEST'  # after CheckpointHook

    def after_train_epoch(self, runner):
        # runner.epoch is still the 0-based index of the epoch that ends
        if runner.epoch == 0:
            raise Interrupted


def _run(cfg, work_dir, name, resume=False, interrupt=False):
    cfg = copy.deepcopy(cfg)
    cfg.work_dir = str(work_dir)
    cfg.experiment_name = name
    cfg.resume = resume
    if interrupt:
        cfg.custom_hooks = list(cfg.custom_hooks) + [
            dict(type='InterruptAfterFirstEpoch')]
    runner = Runner.from_cfg(cfg)
    runner.train()
    return {n: p.detach().clone()
            for n, p in runner.model.named_parameters() if p.requires_grad}


def test_resume_ends_where_the_uninterrupted_run_ends(tiny_data, tmp_path):
    cfg = Config.fromfile(
        write_small_config(tmp_path, tiny_data, max_epochs=2, workers=1))
    cfg.train_cfg.val_interval = 1
    # frozen weights from a file, as real CLIP weights are: checkpoints then
    # keep only the adapters
    clip_file = str(tmp_path / 'tiny_clip.pth')
    torch.manual_seed(5)
    torch.save(build_clip(cfg.model.clip.arch).state_dict(), clip_file)
    cfg.model.clip.pretrained = clip_file
    reference = _run(cfg, tmp_path / 'straight', 'straight')

    with pytest.raises(Interrupted):
        _run(cfg, tmp_path / 'broken', 'broken-1', interrupt=True)
    assert sorted(p.name for p in (tmp_path / 'broken').glob('*.pth')) == [
        'epoch_1.pth']
    saved = torch.load(tmp_path / 'broken' / 'epoch_1.pth',
                       weights_only=True)
    assert saved['frozen_weights']['source']['clip']['pretrained'] == \
        clip_file
    assert not any(k.startswith('clip.') for k in saved['state_dict'])
    resumed = _run(cfg, tmp_path / 'broken', 'broken-2', resume=True)

    assert reference.keys() == resumed.keys()
    for name in reference:
        assert torch.equal(reference[name], resumed[name]), name
