"""Process groups of the tools: gloo on CPUs, NCCL on GPUs, started from
torchrun's or Slurm's environment before the Runner and closed cleanly at
exit.

MMEngine's ``init_dist`` starts NCCL groups (one GPU per process); on CPUs
it is replaced by gloo (:func:`setup_cpu_distributed`, shared with the data
tools). :func:`setup_distributed` starts either before the Runner, so that
what depends on the rank's GPU (the bf16 probe, the memory budget) and on
the world size (the global batch) is decided after the device is set.
"""
import os
from typing import Mapping, Optional

from mmengine.config import Config

# Ports derived from a Slurm job id: below Linux's ephemeral range
# (32768-60999), so a port the kernel handed out to a client is not taken.
_PORT_BASE, _PORT_SPAN = 10000, 22000


def local_rank_from_env(env: Optional[Mapping[str, str]] = None) -> int:
    """This process's rank on its machine: ``LOCAL_RANK`` (torchrun), else
    ``SLURM_LOCALID`` (srun, which sets no ``LOCAL_RANK``), else 0."""
    env = os.environ if env is None else env
    return int(env.get('LOCAL_RANK', env.get('SLURM_LOCALID', 0)))


def slurm_master_port(env: Optional[Mapping[str, str]] = None) -> str:
    """The rendezvous port of a Slurm job.

    ``MASTER_PORT`` if set; else one derived from ``SLURM_JOB_ID`` and
    ``SLURM_STEP_ID``, which every task of the job sees alike (a port probed
    on one node could not be agreed on without the group that needs it),
    and which differs between jobs that share a node, unlike MMEngine's
    fixed 29500. Outside Slurm, 29500.
    """
    env = os.environ if env is None else env
    if env.get('MASTER_PORT'):
        return env['MASTER_PORT']
    job = env.get('SLURM_JOB_ID', '')
    if not job.isdigit():
        return '29500'
    step = env.get('SLURM_STEP_ID', '0')
    step = int(step) if step.isdigit() else 0
    # consecutive jobs are 8 ports apart, a job's steps 1 apart
    return str(_PORT_BASE + (int(job) * 8 + step % 8) % _PORT_SPAN)


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
    env['MASTER_PORT'] = slurm_master_port(env)
    env.update(RANK=rank, WORLD_SIZE=tasks,
               LOCAL_RANK=env.get('SLURM_LOCALID', '0'))


def _close_process_group() -> None:
    """Destroys the default process group, and the wrappers that hold it.

    Registered at exit for the groups the tools start, gloo and NCCL (an
    NCCL group left to the interpreter's finalisation is torn down without
    its communicators being aborted cleanly). With torch 2.14
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
    :func:`slurm_master_port`), before the Runner is built (the Runner then
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


def setup_distributed(cfg: Config) -> bool:
    """Starts the process group of a ``--launcher pytorch``/``slurm`` run
    before the Runner (which then finds it initialised and keeps it).

    On CPUs: gloo (:func:`setup_cpu_distributed`). On GPUs: MMEngine's
    ``init_dist`` with ``env_cfg.dist_cfg`` (NCCL), which sets the rank's
    GPU as the current device; under Slurm the port is
    :func:`slurm_master_port`'s. The group is destroyed at exit
    (:func:`_close_process_group`), and the evaluators gather results
    over the group (:func:`gather_metrics_on_gpu`). Without a launcher
    nothing changes.

    Args:
        cfg: The run's config (``launcher``, ``env_cfg``, evaluators).

    Returns:
        bool: whether a process group is in use.
    """
    import atexit

    import torch
    import torch.distributed as dist
    launcher = cfg.get('launcher', 'none')
    if launcher == 'none':
        return False
    if not torch.cuda.is_available():
        return setup_cpu_distributed(cfg)
    if not dist.is_initialized():
        from mmengine.dist import init_dist
        from mmengine.utils.dl_utils import set_multi_processing
        env_cfg = cfg.get('env_cfg') or {}
        # as the Runner would, first: init_dist would otherwise set the
        # 'spawn' start method, which the Runner then overrides, warning
        set_multi_processing(**(env_cfg.get('mp_cfg') or {}),
                             distributed=True)
        if launcher == 'slurm':
            os.environ['MASTER_PORT'] = slurm_master_port()
        init_dist(launcher, **dict(env_cfg.get('dist_cfg') or {}))
        atexit.register(_close_process_group)
    gather_metrics_on_gpu(cfg)
    return True


def gather_metrics_on_gpu(cfg: Config) -> int:
    """Sets ``collect_device='gpu'`` on the val and test metrics.

    MMEngine's default, ``'cpu'``, gathers the ranks' results through
    pickles in ``./.dist_test/``, which fails on nodes that share no
    working folder; ``'gpu'`` sends them over the process group (NCCL).
    A ``collect_device`` the config sets is kept, as are metrics whose
    class takes no such argument. CPU (gloo) runs keep ``'cpu'``.

    Returns:
        int: how many metrics were switched.
    """
    switched = 0
    for key in ('val_evaluator', 'test_evaluator'):
        evaluator = cfg.get(key)
        if isinstance(evaluator, dict) and 'metrics' in evaluator:
            evaluator = evaluator['metrics']  # an Evaluator's own config
        metrics = evaluator if isinstance(evaluator, (list, tuple)) else [
            evaluator]
        for metric in metrics:
            if isinstance(metric, dict) and 'collect_device' not in metric \
                    and _takes_collect_device(metric.get('type')):
                metric['collect_device'] = 'gpu'
                switched += 1
    return switched


def _takes_collect_device(type_name) -> bool:
    import inspect

    from mmengine.evaluator import BaseMetric

    from fineclip.registry import METRICS
    cls = METRICS.get(type_name) if isinstance(type_name, str) else type_name
    if not (inspect.isclass(cls) and issubclass(cls, BaseMetric)):
        return False
    params = inspect.signature(cls.__init__).parameters
    return 'collect_device' in params or any(
        p.kind is p.VAR_KEYWORD for p in params.values())
