"""Nothing a user types loses data: a diverging run stops before it saves
and leaves the good checkpoints byte for byte; no tool writes over its own
input; an existing output is replaced only with ``--force``, atomically."""
import errno
import os
import os.path as osp
import re
import shutil
import time
from types import SimpleNamespace

import pytest
import torch

from fineclip.engine.hooks import FiniteTrainingHook, TrainingDiverged
from tests.helpers import call_tool_main


def _work_dir_with_a_good_checkpoint(small_trained_run, tmp_path):
    work = tmp_path / 'work'
    work.mkdir()
    shutil.copy(osp.join(small_trained_run['work_dir'], 'epoch_1.pth'),
                work / 'epoch_1.pth')
    (work / 'last_checkpoint').write_text(str(work / 'epoch_1.pth'))
    return work


def test_diverging_run_stops_before_it_saves(small_trained_run, tmp_path,
                                             nothing_lost):
    work = _work_dir_with_a_good_checkpoint(small_trained_run, tmp_path)
    nothing_lost(str(work))
    run = call_tool_main('tools/train.py', [
        small_trained_run['config'], '--work-dir', str(work),
        '--cfg-options', 'optim_wrapper.optimizer.lr=1000'])
    assert run.returncode == 2, (run.stdout + run.stderr)[-3000:]
    assert 'Traceback' not in run.stderr
    assert 'Training diverged at epoch 1, iteration ' in run.stderr
    assert 'loss=nan' in run.stderr  # the loss terms, named
    assert re.search(r'; learning rate \d', run.stderr)
    saved = sorted(f for f in os.listdir(work) if f.endswith('.pth'))
    assert saved == ['epoch_1.pth']  # nothing beside it either


def test_nan_weights_are_never_saved(tmp_path):
    # a step with a finite loss can still leave NaN weights behind: the
    # checkpoint of that model is refused before it is written
    model = torch.nn.Linear(2, 2)
    frozen = torch.nn.Linear(2, 2).requires_grad_(False)
    model.frozen = frozen
    runner = SimpleNamespace(model=model, epoch=2, iter=30,
                             work_dir=str(tmp_path), optim_wrapper=None)
    hook = FiniteTrainingHook()
    hook.before_save_checkpoint(runner, {})  # finite: saved as usual
    with torch.no_grad():
        frozen.weight[0, 0] = float('nan')  # not tuned: not the run's doing
    hook.before_save_checkpoint(runner, {})
    with torch.no_grad():
        model.bias[1] = float('inf')
    with pytest.raises(TrainingDiverged, match=r'by epoch 3 \(30 iterations'
                       r'\): 1 tuned weight tensors hold NaN or infinite '
                       r'values \(bias\)'):
        hook.before_save_checkpoint(runner, {})


def test_finite_loss_passes_and_nan_names_iteration_and_terms(tmp_path):
    runner = SimpleNamespace(epoch=0, iter=6, work_dir=str(tmp_path),
                             optim_wrapper=None)
    hook = FiniteTrainingHook()
    hook.after_train_iter(runner, 2, outputs=dict(loss=torch.tensor(1.5)))
    with pytest.raises(TrainingDiverged, match=r'epoch 1, iteration 3 of '
                       r'the epoch \(7 overall\): loss=inf, ce=2'):
        hook.after_train_iter(runner, 2, outputs=dict(
            loss=torch.tensor(float('inf')), ce=torch.tensor(2.0)))


def test_export_onto_its_own_input_refuses(small_trained_run, tmp_path,
                                           nothing_lost):
    ckpt = str(tmp_path / 'epoch_1.pth')
    shutil.copy(osp.join(small_trained_run['work_dir'], 'epoch_1.pth'), ckpt)
    os.symlink(ckpt, tmp_path / 'alias.pth')
    nothing_lost(str(tmp_path))
    for out in (ckpt, str(tmp_path / 'alias.pth')):  # the same file twice
        run = call_tool_main('tools/export_adapters.py',
                             [ckpt, '--out', out, '--force'])
        assert run.returncode == 2, run.stdout + run.stderr
        assert f'--out {out} is the checkpoint being exported' in run.stderr
        assert 'Traceback' not in run.stderr
    assert sorted(os.listdir(tmp_path)) == ['alias.pth', 'epoch_1.pth']


def test_export_replaces_an_output_only_with_force(small_trained_run,
                                                   tmp_path, monkeypatch):
    ckpt = osp.join(small_trained_run['work_dir'], 'epoch_1.pth')
    out = tmp_path / 'shared.safetensors'
    out.write_bytes(b'a file someone keeps')
    run = call_tool_main('tools/export_adapters.py', [ckpt, '--out', out])
    assert run.returncode == 2 and 'exists; add --force' in run.stderr
    assert out.read_bytes() == b'a file someone keeps'
    # a full disk mid-write: the old file stays, the message names the path
    from safetensors import torch as st_torch

    def full_disk(state, path, metadata=None):
        with open(path, 'wb') as f:
            f.write(b'half')
        raise OSError(errno.ENOSPC, 'No space left on device')

    monkeypatch.setattr(st_torch, 'save_file', full_disk)
    run = call_tool_main('tools/export_adapters.py',
                         [ckpt, '--out', out, '--force'])
    assert run.returncode == 2, run.stderr[-2000:]
    assert f'cannot write {out}: No space left on device' in run.stderr
    assert 'Traceback' not in run.stderr
    assert out.read_bytes() == b'a file someone keeps'
    assert os.listdir(tmp_path) == ['shared.safetensors']  # no leftovers
    monkeypatch.undo()
    run = call_tool_main('tools/export_adapters.py',
                         [ckpt, '--out', out, '--force'])
    assert run.returncode == 0, run.stderr[-2000:]
    assert out.read_bytes() != b'a file someone keeps'


def test_runs_in_the_same_second_get_folders_of_their_own(
        small_trained_run, tmp_path, monkeypatch):
    real = time.strftime

    def same_second(fmt, *args):  # both runs start "at once"
        return '20261207_120000' if fmt == '%Y%m%d_%H%M%S' else real(
            fmt, *args)

    monkeypatch.setattr(time, 'strftime', same_second)
    work = tmp_path / 'tests'
    for _ in range(2):
        run = call_tool_main('tools/test.py', [
            small_trained_run['config'], small_trained_run['checkpoint'],
            '--work-dir', work])
        assert run.returncode == 0, (run.stdout + run.stderr)[-3000:]
    folders = sorted(f for f in os.listdir(work) if osp.isdir(work / f))
    assert folders == ['20261207_120000', '20261207_120000_2']
    for folder in folders:  # each its own log, of one run
        logs = [f for f in os.listdir(work / folder) if f.endswith('.log')]
        assert logs == [f'{folder}.log']
        text = (work / folder / logs[0]).read_text()
        assert text.count('Load checkpoint from') == 1


def test_rerun_prepare_train_resumes_the_interrupted_training(
        small_trained_run, tmp_path):
    # the run was interrupted after epoch 1 of 2
    work = _work_dir_with_a_good_checkpoint(small_trained_run, tmp_path)
    first = (work / 'epoch_1.pth').read_bytes()
    run = call_tool_main('tools/data/prepare.py', [
        small_trained_run['config'], '--run', '--train', '--work-dir', work])
    out = run.stdout + run.stderr
    assert run.returncode == 0, out[-3000:]
    assert f'tools/train.py {small_trained_run["config"]} --resume' in out
    assert f'newest loadable checkpoint in {work} is {work}/epoch_1.pth' \
        in out
    assert 'resumed epoch: 1' in out
    assert 'Epoch(train) [1]' not in out and 'Epoch(train) [2]' in out
    assert (work / 'epoch_2.pth').is_file()
    assert (work / 'epoch_1.pth').read_bytes() == first  # kept as it was


def test_full_disk_at_a_checkpoint_names_it_and_keeps_the_old_one(
        small_trained_run, tmp_path, monkeypatch):
    from fineclip.engine import checkpoint_io
    work = _work_dir_with_a_good_checkpoint(small_trained_run, tmp_path)
    good = (work / 'epoch_1.pth').read_bytes()

    def full_disk(f, data):
        f.write(data[:100])
        raise OSError(errno.ENOSPC, 'No space left on device')

    monkeypatch.setattr(checkpoint_io, '_write_bytes', full_disk)
    run = call_tool_main('tools/train.py', [
        small_trained_run['config'], '--work-dir', work, '--cfg-options',
        'train_cfg.max_epochs=1'])
    assert run.returncode == 2, (run.stdout + run.stderr)[-3000:]
    assert (f'cannot write {work}/epoch_1.pth: No space left on device'
            in run.stderr)
    assert 'Traceback' not in run.stderr
    assert (work / 'epoch_1.pth').read_bytes() == good
    assert not [f for f in os.listdir(work) if f.endswith('.tmp')]
