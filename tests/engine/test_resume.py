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


@pytest.mark.slow(15)
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


def test_cuda_generators_are_saved_and_restored(monkeypatch):
    """With CUDA in use, checkpoints keep every device's generator state
    and a resume puts them back (torch.cuda mocked: no GPU here)."""
    from fineclip.engine.hooks import RNGStateHook
    states = [torch.tensor([1, 2], dtype=torch.uint8),
              torch.tensor([3, 4], dtype=torch.uint8)]
    restored = []
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: True)
    monkeypatch.setattr(torch.cuda, 'is_initialized', lambda: True)
    monkeypatch.setattr(torch.cuda, 'device_count', lambda: 2)
    monkeypatch.setattr(torch.cuda, 'get_rng_state_all',
                        lambda: [s.clone() for s in states])
    monkeypatch.setattr(torch.cuda, 'set_rng_state_all',
                        lambda new: restored.extend(new))
    hook, checkpoint = RNGStateHook(), {}
    hook.before_save_checkpoint(None, checkpoint)
    assert [s.tolist() for s in checkpoint['rng_state']['cuda']] == [
        [1, 2], [3, 4]]
    states[0].fill_(9)  # training goes on; a resume must undo it
    cpu_before = torch.get_rng_state()
    hook.after_load_checkpoint(None, checkpoint)
    hook.before_train(None)
    assert [s.tolist() for s in restored] == [[1, 2], [3, 4]]
    assert torch.equal(torch.get_rng_state(), cpu_before)


def test_cuda_state_is_not_touched_before_cuda_is_used(monkeypatch):
    from fineclip.engine.hooks import RNGStateHook

    def fail():
        raise AssertionError('would create a CUDA context on every GPU')
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: True)
    monkeypatch.setattr(torch.cuda, 'is_initialized', lambda: False)
    monkeypatch.setattr(torch.cuda, 'get_rng_state_all', fail)
    checkpoint = {}
    RNGStateHook().before_save_checkpoint(None, checkpoint)
    assert 'cuda' not in checkpoint['rng_state']
