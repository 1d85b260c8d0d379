"""Command-line options shared by ``tools/train.py`` and ``tools/test.py``."""
import argparse
import os
import os.path as osp
import sys

from mmengine.config import Config, DictAction


def add_common_arguments(parser: argparse.ArgumentParser) -> None:
    """Adds the options every tool shares: ``--work-dir``,
    ``--cfg-options``, ``--launcher`` and ``--local_rank``."""
    parser.add_argument('--work-dir', help='folder for logs and checkpoints')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override config keys, e.g. model.clip.pretrained=/path/w.pt '
        'or train_dataloader.dataset.fold=2')
    parser.add_argument('--launcher', default='none',
                        choices=['none', 'pytorch', 'slurm', 'mpi'],
                        help='job launcher for distributed runs')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)


def parse_with_common(parser: argparse.ArgumentParser) -> argparse.Namespace:
    """Parses arguments; exports ``LOCAL_RANK`` for torch.distributed."""
    args = parser.parse_args()
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def enable_local_imports() -> None:
    """Lets ``custom_imports`` name modules relative to the working folder.

    ``python tools/train.py`` puts ``tools/`` first on ``sys.path``, not the
    folder it runs from, so ``plugins.my_part`` would not import; this adds
    the working folder, as ``python -m`` does.
    """
    cwd = os.getcwd()
    if cwd not in sys.path:
        sys.path.insert(0, cwd)


def apply_common_options(cfg: Config, config_path: str, work_dir=None,
                         cfg_options=None, launcher: str = 'none') -> Config:
    """Applies ``--cfg-options``, ``--launcher`` and ``--work-dir``.

    Without ``--work-dir`` or a ``work_dir`` in the config, runs go to
    ``./work_dirs/<config name>``, as in OpenMMLab projects.
    """
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    cfg.launcher = launcher
    if work_dir:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(config_path))[0])
    return cfg


def load_config(path: str, cfg_options=None) -> Config:
    """Loads a config the way every tool does.

    Plugins named in ``custom_imports`` resolve from the working folder,
    ``--cfg-options`` are merged, and the config's default scope is set, so
    registries build its parts outside a Runner too.
    """
    from mmengine.registry import init_default_scope
    enable_local_imports()
    cfg = Config.fromfile(path)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    init_default_scope(cfg.get('default_scope', 'fineclip'))
    return cfg


def load_data_tool_config(path: str, cfg_options=None) -> Config:
    """Loads a config for a data tool that works outside a Runner.

    Like :func:`load_config`, and also imports ``custom_imports`` (a user's
    own face analysers or describers register there) and creates the
    embedded default's synthetic data if the config uses it.
    """
    from mmengine.utils import import_modules_from_strings

    from .embedded_default import prepare_embedded_default
    cfg = load_config(path, cfg_options)
    if cfg.get('custom_imports'):
        import_modules_from_strings(**cfg.custom_imports)
    prepare_embedded_default(cfg)
    return cfg


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
