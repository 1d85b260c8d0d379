"""tools/slurm_train.sh under a stand-in ``srun``: the job's options reach
srun, each task gets its Slurm rank, and training runs as one gloo group
of two processes (MMEngine's slurm launcher path, on CPU). The job's sizes
come from the allocation, its port from the job id, and one task per node
makes the first-use files; tools/dist_train.sh picks a free port."""
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


@pytest.mark.slow(12)
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


# Records its command line and starts nothing: what the scripts pass on.
RECORD = '''#!{python}
import os, sys
with open(os.environ['FAKE_LOG'], 'w') as f:
    f.write('\\n'.join(sys.argv[1:]))
'''


def _launch_args(tmp_path, script, tool, args, **env_vars):
    """Runs ``tools/<script>`` with a recording stand-in for ``tool`` and
    returns the arguments it got."""
    bin_dir = tmp_path / 'bin'
    bin_dir.mkdir(exist_ok=True)
    _executable(bin_dir / tool, RECORD.format(python=sys.executable))
    env = {k: v for k, v in os.environ.items() if not k.startswith(
        ('SLURM_', 'GPUS', 'CPUS_PER_TASK', 'MASTER_', 'PORT', 'NNODES'))}
    env.update(PATH=f'{bin_dir}{os.pathsep}{env["PATH"]}',
               FAKE_LOG=str(tmp_path / 'args'), **env_vars)
    proc = subprocess.run(['bash', f'tools/{script}'] + args, cwd=ROOT,
                          env=env, capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    return (tmp_path / 'args').read_text().split('\n')


def test_slurm_script_takes_the_job_sizes_from_the_allocation(tmp_path):
    args = ['part', 'job', 'configs/fineclip_dfew.py']
    # inside sbatch: 2 nodes of 4 GPUs, 6 CPUs a task
    inside = _launch_args(tmp_path, 'slurm_train.sh', 'srun', args,
                          SLURM_NTASKS='8', SLURM_GPUS_ON_NODE='4',
                          SLURM_CPUS_PER_TASK='6', SLURM_JOB_ID='4242')
    for expected in ('--ntasks=8', '--ntasks-per-node=4', '--gres=gpu:4',
                     '--cpus-per-task=6'):
        assert expected in inside, inside
    # outside an allocation: one node of 8; GPUS alone sizes a small job
    assert {'--ntasks=8', '--ntasks-per-node=8'} <= set(_launch_args(
        tmp_path, 'slurm_train.sh', 'srun', args))
    small = _launch_args(tmp_path, 'slurm_train.sh', 'srun', args, GPUS='2')
    assert {'--ntasks=2', '--ntasks-per-node=2', '--gres=gpu:2'} <= set(
        small), small


def test_slurm_port_comes_from_the_job_not_a_fixed_29500(monkeypatch):
    from fineclip.engine.distributed import (_torch_env_from_slurm,
                                             slurm_master_port)
    ports = {slurm_master_port({'SLURM_JOB_ID': str(job)})
             for job in range(1000, 1100)}
    assert len(ports) == 100  # 100 consecutive jobs, 100 ports
    assert all(10000 <= int(p) < 32768 for p in ports)  # not ephemeral
    job = {'SLURM_JOB_ID': '1000'}
    assert slurm_master_port(dict(job, SLURM_STEP_ID='1')) != \
        slurm_master_port(job)
    assert slurm_master_port(dict(job, MASTER_PORT='1234')) == '1234'
    assert slurm_master_port({}) == '29500'  # outside Slurm
    for name, value in dict(SLURM_PROCID='3', SLURM_NTASKS='4',
                            SLURM_LOCALID='1', SLURM_NODELIST='n[1-2]',
                            SLURM_JOB_ID='1000',
                            MASTER_ADDR='10.0.0.1').items():
        monkeypatch.setenv(name, value)
    for name in ('MASTER_PORT', 'RANK', 'WORLD_SIZE', 'LOCAL_RANK'):
        monkeypatch.setenv(name, '0')  # so that the test's values go again
    monkeypatch.delenv('MASTER_PORT')
    _torch_env_from_slurm()  # the gloo path; the NCCL one sets the same
    assert os.environ['MASTER_PORT'] == slurm_master_port(job)
    assert (os.environ['RANK'], os.environ['LOCAL_RANK']) == ('3', '1')


@pytest.mark.parametrize('local_id, lead', [('0', True), ('1', False)])
def test_first_use_files_are_made_by_one_task_per_node(monkeypatch,
                                                       local_id, lead):
    import argparse

    from fineclip.apis import add_common_arguments, parse_with_common
    from fineclip.apis.embedded_default import _is_lead_process
    monkeypatch.setenv('LOCAL_RANK', '0')  # restored (absent) after
    monkeypatch.delenv('LOCAL_RANK')  # srun sets none
    monkeypatch.setenv('SLURM_LOCALID', local_id)
    parser = argparse.ArgumentParser()
    add_common_arguments(parser)
    args = parse_with_common(parser, ['--launcher', 'slurm'])
    assert os.environ['LOCAL_RANK'] == local_id == str(args.local_rank)
    assert _is_lead_process() is lead


def test_dist_train_picks_a_free_port_on_one_node(tmp_path):
    args = ['configs/fineclip_dfew.py', '2']
    first = _launch_args(tmp_path, 'dist_train.sh', 'torchrun', args)
    port = [a for a in first if a.startswith('--master_port=')][0]
    assert port != '--master_port=29500', first
    assert '--master_port=29600' in _launch_args(
        tmp_path, 'dist_train.sh', 'torchrun', args, PORT='29600')
    # several nodes must agree on a port: the fixed default
    assert '--master_port=29500' in _launch_args(
        tmp_path, 'dist_train.sh', 'torchrun', args, NNODES='2')
