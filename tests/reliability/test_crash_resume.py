"""Crash-safe training: killed, interrupted and killed-while-saving runs
resume with ``--resume`` to the uninterrupted run's weights, optimiser
state and metrics, tensor for tensor; one run per work dir.

The faults are placed by a small hook the test writes next to its config
(``FaultAt``): ``SIGKILL`` in the middle of an epoch, ``SIGINT`` in the
middle of an epoch, and ``SIGKILL`` half-way through writing a checkpoint.
The two SIGKILLs need a process of their own; SIGINT is raised in this
process (Python's own handler turns it into ``KeyboardInterrupt``), which
saves an interpreter start.
"""
import json
import logging
import os
import os.path as osp
import signal
import socket
import subprocess
import sys

import pytest
import torch
from mmengine.config import Config

from fineclip.engine.checkpoint_io import atomic_write_bytes
from fineclip.engine.work_dir_lock import LOCK_NAME, work_dir_lock
from tests.helpers import ROOT, call_tool_main, write_small_config

FAULTS = '''
import os
import signal

from mmengine.hooks import Hook

from fineclip.engine import checkpoint_io
from fineclip.registry import HOOKS


@HOOKS.register_module(force=True)
class FaultAt(Hook):
    """Kills or interrupts the run at a set point (0-based epoch index)."""

    priority = 'LOWEST'

    def __init__(self, epoch, action, iteration=None):
        self.epoch, self.action, self.iteration = epoch, action, iteration

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None):
        if runner.epoch == self.epoch and batch_idx == self.iteration:
            print(f'FAULT {self.action} at epoch {self.epoch + 1} iteration '
                  f'{batch_idx + 1}', flush=True)
            if self.action == 'sigkill':
                os.kill(os.getpid(), signal.SIGKILL)
            elif self.action == 'sigint':
                signal.raise_signal(signal.SIGINT)

    def before_save_checkpoint(self, runner, checkpoint):
        if self.action != 'kill_in_save' or runner.epoch != self.epoch:
            return

        def half_then_die(f, data):
            f.write(data[:len(data) // 2])
            f.flush()
            os.fsync(f.fileno())
            print(f'FAULT killed after {len(data) // 2} of {len(data)} '
                  'bytes', flush=True)
            os.kill(os.getpid(), signal.SIGKILL)

        checkpoint_io._write_bytes = half_then_die
'''


def _fault_config(folder, base, **fault):
    """A config that is ``base`` plus the ``FaultAt`` hook."""
    hooks = [dict(h) for h in Config.fromfile(base).custom_hooks]
    hooks.append(dict(type='FaultAt', **fault))
    name = f"faulty_{fault['action']}.py"
    with open(osp.join(folder, name), 'w') as f:
        f.write(f'_base_ = [{osp.basename(base)!r}]\n'
                "custom_imports = dict(imports=['fineclip_faults'], "
                'allow_failed_imports=False)\n'
                f'custom_hooks = {hooks!r}\n')
    return osp.join(folder, name)


def _train_killed(config, work_dir, folder, resume=False):
    """``python tools/train.py`` in its own process, expected to die of
    SIGKILL; returns its output."""
    cmd = [sys.executable, osp.join(ROOT, 'tools/train.py'), config,
           '--work-dir', work_dir] + (['--resume'] if resume else [])
    env = dict(os.environ, HF_HUB_OFFLINE='1', PYTHONUNBUFFERED='1')
    proc = subprocess.run(cmd, cwd=folder, env=env, capture_output=True,
                          text=True, timeout=600)
    out = proc.stdout + proc.stderr
    assert proc.returncode == -signal.SIGKILL, out[-3000:]
    assert 'FAULT' in out, out[-3000:]
    return out


def _state(path):
    return torch.load(path, map_location='cpu', weights_only=True)


def _tensors(tree, prefix=''):
    """Every tensor in a nested checkpoint structure, by path."""
    found = {}
    if isinstance(tree, torch.Tensor):
        found[prefix] = tree
    elif isinstance(tree, dict):
        for key, value in tree.items():
            found.update(_tensors(value, f'{prefix}/{key}'))
    elif isinstance(tree, (list, tuple)):
        for i, value in enumerate(tree):
            found.update(_tensors(value, f'{prefix}/{i}'))
    return found


def _val_metrics(work_dir, epoch):
    """The metrics logged after validating ``epoch``, from the newest log
    folder that has them."""
    for stamp in sorted(os.listdir(work_dir), reverse=True):
        scalars = osp.join(work_dir, stamp, 'vis_data', 'scalars.json')
        if not osp.isfile(scalars):
            continue
        with open(scalars) as f:
            rows = [json.loads(line) for line in f if line.strip()]
        for row in rows:
            if 'UAR' in row and row.get('step') == epoch:
                return {k: v for k, v in row.items()
                        if k == 'UAR' or k == 'WAR' or k.startswith('recall')}
    raise AssertionError(f'no validation of epoch {epoch} in {work_dir}')


@pytest.mark.slow(24)
def test_killed_interrupted_and_killed_in_save_resume_exactly(
        small_trained_run, tiny_data, tmp_path):
    folder = str(tmp_path)
    epochs = small_trained_run['epochs']
    config = write_small_config(folder, tiny_data, max_epochs=epochs)
    with open(osp.join(folder, 'fineclip_faults.py'), 'w') as f:
        f.write(FAULTS)
    work = osp.join(folder, 'work')
    last = epochs - 1  # 0-based index of the last epoch

    # 1. SIGKILL in the middle of the last epoch (after its 2nd of 4
    #    iterations): the previous epoch's checkpoint survives
    _train_killed(_fault_config(folder, config, epoch=last,
                                action='sigkill', iteration=1),
                  work, folder)
    assert osp.isfile(osp.join(work, f'epoch_{last}.pth'))
    assert not osp.exists(osp.join(work, f'epoch_{epochs}.pth'))
    assert osp.isfile(osp.join(work, LOCK_NAME))  # left by the dead run

    # 2. resume, stopped by SIGINT after the 3rd iteration; the dead run's
    #    lock is taken over, and released on the way out
    sigint = _fault_config(folder, config, epoch=last, action='sigint',
                           iteration=2)
    with pytest.raises(KeyboardInterrupt):
        call_tool_main('tools/train.py', [sigint, '--work-dir', work,
                                          '--resume'], cwd=folder)
    assert not osp.exists(osp.join(work, LOCK_NAME))
    assert not osp.exists(osp.join(work, f'epoch_{epochs}.pth'))

    # 3. resume, SIGKILL half-way through writing the last checkpoint:
    #    only a temporary file is left, never a truncated epoch_N.pth
    out = _train_killed(_fault_config(folder, config, epoch=last,
                                      action='kill_in_save'),
                        work, folder, resume=True)
    assert f'resumed epoch: {last}, iter: ' in out, out[-3000:]
    partial = [n for n in os.listdir(work) if n.endswith('.tmp')]
    assert len(partial) == 1 and partial[0].startswith(f'.epoch_{epochs}'), \
        os.listdir(work)
    assert not osp.exists(osp.join(work, f'epoch_{epochs}.pth'))
    _state(osp.join(work, f'epoch_{last}.pth'))  # still loads

    # what a non-atomic writer would have left: a truncated newest
    # checkpoint that last_checkpoint points to; --resume must skip it
    with open(osp.join(work, partial[0]), 'rb') as f:
        half = f.read()
    broken = osp.join(work, f'epoch_{epochs}.pth')
    with open(broken, 'wb') as f:
        f.write(half)
    with open(osp.join(work, 'last_checkpoint'), 'w') as f:
        f.write(broken)

    # 4. resume to the end, in this process
    run = call_tool_main('tools/train.py', [config, '--work-dir', work,
                                            '--resume'], cwd=folder)
    log = run.stdout + run.stderr
    assert run.returncode == 0, log[-3000:]
    assert 'Taking over the stale lock' in log, log[-3000:]  # run 3's
    assert f'skipping Cannot read checkpoint \'{broken}\'' in log, log[-3000:]

    reference = _state(small_trained_run['checkpoint'])
    resumed = _state(osp.join(work, f'epoch_{epochs}.pth'))
    for part in ('state_dict', 'optimizer'):
        ref, res = _tensors(reference[part]), _tensors(resumed[part])
        assert ref.keys() == res.keys() and ref, part
        for name in ref:
            assert torch.equal(ref[name], res[name]), f'{part}{name}'
    assert reference['param_schedulers'] == resumed['param_schedulers']
    assert reference['optimizer']['param_groups'] == \
        resumed['optimizer']['param_groups']
    assert reference['meta']['epoch'] == resumed['meta']['epoch'] == epochs
    assert _val_metrics(small_trained_run['work_dir'], epochs) == \
        _val_metrics(work, epochs)


def test_a_second_run_into_a_held_work_dir_refuses_to_start(
        small_trained_run, tmp_path):
    work = str(tmp_path / 'work')
    with work_dir_lock(work) as lock:
        with open(lock) as f:
            holder = json.load(f)
        assert holder['pid'] == os.getpid()
        assert holder['host'] == socket.gethostname()
        run = call_tool_main('tools/train.py', [
            small_trained_run['config'], '--work-dir', work])
        assert run.returncode == 2
        assert f'pid {os.getpid()}' in run.stderr, run.stderr[-2000:]
        assert 'in use by another training run' in run.stderr
        # the refused run wrote nothing; the holder's lock is intact
        assert os.listdir(work) == [LOCK_NAME]
    assert not osp.exists(lock)


def test_a_stale_lock_of_a_dead_process_is_taken_over(
        tmp_path, monkeypatch):
    from fineclip.engine import work_dir_lock as module
    said = []
    # MMEngine's logger drops repeated warnings: record the call itself
    monkeypatch.setattr(module, 'print_log',
                        lambda msg, **kw: said.append((msg, kw)))
    work = str(tmp_path)
    dead = subprocess.Popen(['true'])
    dead.wait()
    with open(osp.join(work, LOCK_NAME), 'w') as f:
        json.dump(dict(pid=dead.pid, host=socket.gethostname(), started=0,
                       command='tools/train.py old.py'), f)
    with work_dir_lock(work) as lock:
        with open(lock) as f:
            assert json.load(f)['pid'] == os.getpid()
    assert len(said) == 1 and said[0][1]['level'] == logging.WARNING
    text = said[0][0]
    assert 'Taking over the stale lock' in text
    assert f'pid {dead.pid}' in text and 'no longer runs' in text


def test_atomic_write_keeps_the_old_file_when_a_write_fails(
        tmp_path, monkeypatch):
    from fineclip.engine import checkpoint_io
    path = str(tmp_path / 'epoch_1.pth')
    torch.save({'state_dict': {'w': torch.ones(3)}}, path)
    with open(path, 'rb') as f:
        before = f.read()

    def half_then_fail(f, data):
        f.write(data[:len(data) // 2])
        raise KeyboardInterrupt  # as SIGINT would, mid-write

    monkeypatch.setattr(checkpoint_io, '_write_bytes', half_then_fail)
    with pytest.raises(KeyboardInterrupt):
        atomic_write_bytes(b'x' * 1000, path)
    with open(path, 'rb') as f:
        assert f.read() == before
    assert os.listdir(tmp_path) == ['epoch_1.pth']  # temp file removed
