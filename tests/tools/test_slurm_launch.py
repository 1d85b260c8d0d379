"""tools/slurm_train.sh under a stand-in ``srun``: the job's options reach
srun, each task gets its Slurm rank, and training runs as one gloo group
of two processes (MMEngine's slurm launcher path, on CPU)."""
import os
import os.path as osp
import stat
import subprocess
import sys

import pytest
import torch
from mmengine.config import Config

from fineclip.apis import setup_cpu_distributed
from tests.helpers import ROOT, free_port, write_small_config

# Starts every task of the job on this machine with the variables srun
# sets; the command starts at the first word that is not an srun option.
FAKE_SRUN = '''#!{python}
import os, subprocess, sys
args = sys.argv[1:]
with open(os.environ['FAKE_SRUN_LOG'], 'w') as f:
    f.write('\\n'.join(args))
tasks = int([a for a in args if a.startswith('--ntasks=')][0].split('=')[1])
start = args.index('python')
command = [sys.executable] + args[start + 1:]
procs = [subprocess.Popen(command, env=dict(
    os.environ, SLURM_PROCID=str(rank), SLURM_NTASKS=str(tasks),
    SLURM_LOCALID=str(rank), SLURM_NODELIST='cpu-node-1'))
    for rank in range(tasks)]
sys.exit(max(p.wait() for p in procs))
'''
FAKE_SCONTROL = '#!/bin/sh\necho 127.0.0.1\n'


def _executable(path, text):
    with open(path, 'w') as f:
        f.write(text)
    os.chmod(path, os.stat(path).st_mode | stat.S_IEXEC)


def test_slurm_script_trains_on_two_ranks(tiny_data, tmp_path):
    bin_dir = tmp_path / 'bin'
    bin_dir.mkdir()
    _executable(bin_dir / 'srun', FAKE_SRUN.format(python=sys.executable))
    _executable(bin_dir / 'scontrol', FAKE_SCONTROL)
    config = write_small_config(tmp_path, tiny_data, max_epochs=1)
    work_dir = str(tmp_path / 'work')
    env = {k: v for k, v in os.environ.items() if k != 'MASTER_ADDR'}
    env.update(PATH=f'{bin_dir}{os.pathsep}{env["PATH"]}',
               FAKE_SRUN_LOG=str(tmp_path / 'srun_args'), GPUS='2',
               GPUS_PER_NODE='2', CPUS_PER_TASK='1', HF_HUB_OFFLINE='1',
               OMP_NUM_THREADS='1', MASTER_PORT=str(free_port()))
    proc = subprocess.run(
        ['bash', 'tools/slurm_train.sh', 'cpu_part', 'fineclip', config,
         '--work-dir', work_dir], cwd=ROOT, env=env, capture_output=True,
        text=True, timeout=900)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]

    srun_args = (tmp_path / 'srun_args').read_text().split('\n')
    for expected in ('cpu_part', '--job-name=fineclip', '--ntasks=2',
                     '--ntasks-per-node=2', '--cpus-per-task=1',
                     '--launcher', 'slurm'):
        assert expected in srun_args, srun_args
    # MMEngine's environment report: its "GPU number" is the world size
    assert 'Distributed launcher: slurm' in out, out[-3000:]
    assert 'GPU number: 2' in out, out[-3000:]
    checkpoint = torch.load(osp.join(work_dir, 'epoch_1.pth'),
                            weights_only=True)
    assert checkpoint['meta']['epoch'] == 1


def test_slurm_launch_outside_srun_names_the_missing_variable(monkeypatch):
    for name in ('SLURM_PROCID', 'SLURM_NTASKS', 'SLURM_NODELIST'):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    with pytest.raises(SystemExit, match="SLURM_PROCID.*srun"):
        setup_cpu_distributed(Config(dict(launcher='slurm')))
    assert not torch.distributed.is_initialized()
