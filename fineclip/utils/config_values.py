"""Checks of a config's values before anything is built from it.

A batch size of 0, ``num_workers=-1``, ``max_epochs=-1`` or a NaN learning
rate either fails deep inside PyTorch or MMEngine with a message that names
no key, or, worse, runs: ``max_epochs=-1`` trains nothing and exits 0.
:func:`check_config_values` names the key, the value and what is allowed,
as a :class:`~fineclip.utils.errors.ConfigError`.
"""
import math
import numbers
from typing import Iterable, Optional

from .config_datasets import LOADER_KEYS
from .errors import ConfigError



def _is_int(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _need_int(key: str, value, least: int) -> None:
    if not _is_int(value) or value < least:
        what = 'a positive whole number' if least == 1 else (
            f'a whole number >= {least}')
        raise ConfigError(f'{key}={value!r}: must be {what}; set it in the '
                          f'config or with --cfg-options {key}=...')


def _need_positive_number(key: str, value) -> None:
    if (not isinstance(value, numbers.Real) or isinstance(value, bool)
            or not math.isfinite(value) or value <= 0):
        raise ConfigError(f'{key}={value!r}: must be a finite number > 0 '
                          f'(e.g. --cfg-options {key}=1e-3)')


def dataset_folds(dataset: dict) -> Optional[int]:
    """How many cross-validation folds the dataset type of ``dataset``
    has (its class's ``NUM_FOLDS``), or None when it has none or the type
    cannot be resolved here."""
    type_name = dataset.get('type') if isinstance(dataset, dict) else None
    if not isinstance(type_name, str):
        return getattr(type_name, 'NUM_FOLDS', None)
    from fineclip.registry import DATASETS
    try:
        klass = DATASETS.get(type_name)
    except Exception:  # an unknown type is the type check's to report
        return None
    return getattr(klass, 'NUM_FOLDS', None)


def check_fold(key: str, dataset: dict, fold) -> None:
    """Raises a :class:`ConfigError` unless ``fold`` is one of the
    dataset's folds (``key`` names where the fold comes from)."""
    folds = dataset_folds(dataset)
    if folds is None:
        return
    if not _is_int(fold) or not 1 <= fold <= folds:
        raise ConfigError(
            f'{key}={fold!r}: {dataset.get("type")} has folds 1-{folds}; '
            f'choose one of them.')


def check_folds(cfg, folds: Iterable, option: str = '--folds') -> None:
    """Checks the folds a cross-validation will run against the config's
    datasets before any fold trains."""
    for section in LOADER_KEYS:
        dataset = (cfg.get(section) or {}).get('dataset')
        if isinstance(dataset, dict):
            for fold in folds:
                check_fold(option, dataset, fold)
            return


def _loader_values(cfg) -> None:
    for section in LOADER_KEYS:
        loader = cfg.get(section)
        if not isinstance(loader, dict):
            continue
        if 'batch_size' in loader:
            _need_int(f'{section}.batch_size', loader['batch_size'], 1)
        if 'num_workers' in loader:
            _need_int(f'{section}.num_workers', loader['num_workers'], 0)
        dataset = loader.get('dataset')
        if isinstance(dataset, dict) and 'fold' in dataset:
            check_fold(f'{section}.dataset.fold', dataset, dataset['fold'])


def _schedule_values(cfg) -> None:
    train_cfg = cfg.get('train_cfg')
    if isinstance(train_cfg, dict):
        for key in ('max_epochs', 'max_iters', 'val_interval'):
            if key in train_cfg:
                _need_int(f'train_cfg.{key}', train_cfg[key], 1)
        if 'val_begin' in train_cfg:
            _need_int('train_cfg.val_begin', train_cfg['val_begin'], 0)
    optim_wrapper = cfg.get('optim_wrapper')
    if isinstance(optim_wrapper, dict):
        optimizer = optim_wrapper.get('optimizer')
        if isinstance(optimizer, dict) and 'lr' in optimizer:
            _need_positive_number('optim_wrapper.optimizer.lr',
                                  optimizer['lr'])
        if 'accumulative_counts' in optim_wrapper:
            _need_int('optim_wrapper.accumulative_counts',
                      optim_wrapper['accumulative_counts'], 1)


def _hook_values(cfg) -> None:
    hooks = cfg.get('default_hooks')
    if isinstance(hooks, dict):
        for name, hook in hooks.items():
            if not isinstance(hook, dict) or 'interval' not in hook:
                continue
            if name == 'checkpoint' and hook['interval'] == -1:
                continue  # CheckpointHook's "never save on a schedule"
            _need_int(f'default_hooks.{name}.interval', hook['interval'], 1)
    for i, hook in enumerate(cfg.get('custom_hooks') or []):
        if isinstance(hook, dict) and 'interval' in hook:
            _need_int(f'custom_hooks.{i}.interval', hook['interval'], 1)


def check_config_values(cfg) -> None:
    """Checks the values a run needs before anything is built.

    Positive batch sizes, ``num_workers >= 0``, ``max_epochs``,
    ``max_iters`` and ``val_interval >= 1``, a finite positive learning
    rate, hook intervals >= 1 and folds the dataset has.

    Args:
        cfg: The merged config (``mmengine.Config`` or a dict).

    Raises:
        ConfigError: the first bad value, with its key and what is allowed.
    """
    _loader_values(cfg)
    _schedule_values(cfg)
    _hook_values(cfg)
