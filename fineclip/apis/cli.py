"""Command-line options shared by the tools (``tools/train.py``,
``tools/test.py`` and the analysis and data tools).

Config loading lives in :mod:`fineclip.utils.config` and the CPU process
groups in :mod:`fineclip.engine.distributed`; their names are re-exported
here because tools and user scripts import them from this module.
"""
import argparse
import os
import os.path as osp
from typing import Optional, Sequence

from mmengine.config import Config, DictAction

from fineclip.engine.distributed import (  # noqa: F401  (re-exported)
    _close_process_group, _torch_env_from_slurm, init_gloo_from_launcher,
    local_rank_from_env, setup_cpu_distributed, setup_distributed)
from fineclip.utils.config import (  # noqa: F401  (re-exported)
    enable_local_imports, import_custom_modules, load_config)
from fineclip.utils.config import merge_cfg_options
from fineclip.utils.config_checks import check_type_names
from fineclip.utils.config_values import check_config_values
from fineclip.utils.data_root import add_data_root_argument  # noqa: F401
from fineclip.utils.paths import check_writable_dir


def add_common_arguments(parser: argparse.ArgumentParser) -> None:
    """Adds the options every tool shares: ``--work-dir``,
    ``--cfg-options``, ``--data-root``, ``--launcher``, ``--local_rank``
    and ``--verbose``."""
    parser.add_argument('--work-dir', help='folder for logs and checkpoints')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override config keys, e.g. model.clip.pretrained=/path/w.pt '
        'or train_dataloader.dataset.fold=2')
    add_data_root_argument(parser)
    parser.add_argument('--launcher', default='none',
                        choices=['none', 'pytorch', 'slurm', 'mpi'],
                        help='job launcher for distributed runs')
    parser.add_argument('--local_rank', '--local-rank', type=int,
                        default=None)
    parser.add_argument('--verbose', action='store_true',
                        help='print the environment, config and hook order '
                        'on the console too (they always go to the log '
                        'file)')


def parse_with_common(parser: argparse.ArgumentParser,
                      argv: Optional[Sequence[str]] = None
                      ) -> argparse.Namespace:
    """Parses ``argv`` (the command line by default); exports
    ``LOCAL_RANK`` for torch.distributed.

    ``LOCAL_RANK`` comes from the environment (torchrun), else from
    ``--local_rank`` (the old ``torch.distributed.launch``), else from
    ``SLURM_LOCALID`` (srun), else 0.
    """
    args = parser.parse_args(argv)
    if args.local_rank is None:
        args.local_rank = local_rank_from_env()
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def apply_common_options(cfg: Config, config_path: str, work_dir=None,
                         cfg_options=None, launcher: str = 'none') -> Config:
    """Applies ``--cfg-options``, ``--launcher`` and ``--work-dir``.

    Without ``--work-dir`` or a ``work_dir`` in the config, runs go to
    ``./work_dirs/<config name>``, as in OpenMMLab projects.

    Raises:
        ConfigError: a ``--cfg-options`` key the part reading it does not
            accept (see :mod:`fineclip.utils.config_checks`), or a value no
            run can use (:mod:`fineclip.utils.config_values`); a
            ``ValueError``.
        UnknownTypeError: an unknown ``type`` name in the config (a
            ``KeyError``).
        PathError: a work dir that is a file or cannot be written.
    """
    # a misspelled key is named now, not as a TypeError at build time;
    # --data-root (data_root=DIR among them) points every dataset there
    merge_cfg_options(cfg, cfg_options, config_path)
    # train/test build every part anyway: an unknown type is named up
    # front, with the closest registered names
    check_type_names(cfg)
    # before anything is built: a bad value is named with its key
    check_config_values(cfg)
    cfg.launcher = launcher
    if work_dir:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(config_path))[0])
    check_writable_dir(cfg.work_dir)
    return cfg


def test_work_dir(checkpoint: str, fallback: str) -> str:
    """Where ``tools/test.py`` writes without ``--work-dir``: a ``test``
    folder beside the checkpoint (``W/epoch_10.pth`` -> ``W/test``), so
    the results sit with the model they score, not in whatever run of the
    config is newest; ``fallback`` when that folder cannot be written."""
    folder = osp.dirname(osp.abspath(checkpoint))
    target = osp.join(folder, 'test')
    if os.access(target if osp.isdir(target) else folder, os.W_OK):
        return target
    return fallback


def load_data_tool_config(path: str, cfg_options=None) -> Config:
    """Loads a config for a data tool that works outside a Runner.

    Like :func:`load_config`, and also imports ``custom_imports`` (a user's
    own face analysers or describers register there) and creates the
    embedded default's synthetic data if the config uses it.
    """
    from .embedded_default import prepare_embedded_default
    cfg = load_config(path, cfg_options)
    import_custom_modules(cfg)
    prepare_embedded_default(cfg)
    return cfg
