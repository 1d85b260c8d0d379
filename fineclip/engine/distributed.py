"""Process groups for CPU runs: gloo from torchrun's or Slurm's
environment, closed cleanly at exit.

MMEngine starts NCCL groups for GPU runs itself; these are the pieces it
lacks on CPUs, shared by the training tools and the data tools.
"""
from mmengine.config import Config


def _torch_env_from_slurm() -> None:
    """Rank, world size and master address for ``init_process_group``
    from Slurm's variables (what MMEngine's slurm launcher reads)."""
    import os
    import subprocess
    env = os.environ
    try:
        rank, tasks = env['SLURM_PROCID'], env['SLURM_NTASKS']
        nodes = env['SLURM_NODELIST']
    except KeyError as missing:
        raise SystemExit(f'--launcher slurm: {missing} is not set; start '
                         'the job with srun (tools/slurm_train.sh).')
    if 'MASTER_ADDR' not in env:
        # the first host of the allocation, as MMEngine picks it
        hosts = subprocess.run(['scontrol', 'show', 'hostnames', nodes],
                               capture_output=True, text=True, check=True)
        env['MASTER_ADDR'] = hosts.stdout.split()[0]
    env.setdefault('MASTER_PORT', '29500')
    env.update(RANK=rank, WORLD_SIZE=tasks,
               LOCAL_RANK=env.get('SLURM_LOCALID', '0'))


def _close_process_group() -> None:
    """Destroys the default process group, and the wrappers that hold it.

    Registered at exit for the gloo groups the tools start. With torch 2.14
    a gloo group that outlives this point is torn down during interpreter
    finalisation, and that aborts the process in a fair share of runs
    ("terminate called without an active exception", SIGABRT, after all
    work is done), which fails the whole torchrun/srun job. The Runner sits
    in reference cycles and its DDP wrapper keeps the group alive, so the
    cycles are collected before the group is destroyed.
    """
    import gc

    import torch.distributed as dist
    gc.collect()
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def init_gloo_from_launcher(launcher: str) -> bool:
    """Starts a gloo process group from torchrun's or Slurm's environment.

    The piece :func:`setup_cpu_distributed` and the data tools share. With
    ``'slurm'`` the rank, world size and master address come from the
    ``SLURM_*`` variables (:func:`_torch_env_from_slurm`); with
    ``'pytorch'`` from the ones torchrun sets. The group is destroyed at
    exit (:func:`_close_process_group`). A group that is already
    initialised is kept as it is.

    Args:
        launcher: ``'none'``, ``'pytorch'`` or ``'slurm'``.

    Returns:
        bool: whether a process group is in use (False for ``'none'``).

    Raises:
        SystemExit: another launcher (e.g. ``'mpi'``), or ``'slurm'``
            outside an srun job.
    """
    import atexit

    import torch.distributed as dist
    if launcher == 'none':
        return False
    if launcher not in ('pytorch', 'slurm'):
        raise SystemExit(f'--launcher {launcher} is not supported here; use '
                         'torchrun with --launcher pytorch, or srun with '
                         '--launcher slurm.')
    if not dist.is_initialized():
        if launcher == 'slurm':
            _torch_env_from_slurm()
        dist.init_process_group(backend='gloo')
        atexit.register(_close_process_group)
    return True


def setup_cpu_distributed(cfg: Config) -> bool:
    """Lets ``--launcher pytorch`` and ``--launcher slurm`` runs work on
    CPUs (gloo).

    MMEngine's own ``init_dist`` assumes one GPU per process (it calls
    ``torch.cuda.set_device``). Without CUDA this starts the gloo process
    group from torchrun's environment, or from Slurm's (``SLURM_PROCID``,
    ``SLURM_NTASKS``, the first host of ``SLURM_NODELIST``,
    ``MASTER_PORT`` or 29500), before the Runner is built (the Runner then
    finds it initialised and keeps it), and wraps the model in DDP without
    ``device_ids``. With CUDA, or without a launcher, nothing changes.

    Returns:
        bool: whether a CPU process group is in use.
    """
    import torch
    if cfg.get('launcher', 'none') == 'none' or torch.cuda.is_available():
        return False
    if cfg.launcher not in ('pytorch', 'slurm'):
        raise SystemExit(f"--launcher {cfg.launcher} needs CUDA GPUs; on CPU "
                         'use torchrun (tools/dist_train.sh) with '
                         '--launcher pytorch, or srun with --launcher '
                         'slurm.')
    init_gloo_from_launcher(cfg.launcher)
    cfg.setdefault('env_cfg', {})['dist_cfg'] = dict(backend='gloo')
    wrapper = cfg.get('model_wrapper_cfg') or dict(
        type='MMDistributedDataParallel')
    wrapper['device_ids'] = None
    cfg.model_wrapper_cfg = wrapper
    return True
