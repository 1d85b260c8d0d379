"""Loading configs the way every tool and API does."""
import copy
import os
import os.path as osp
import sys
from typing import Optional, Union

from mmengine.config import Config

from .config_checks import check_cfg_options, check_type_names
from .config_values import check_config_values
from .data_root import apply_data_root, pop_data_root
from .errors import ConfigError

#: The config file types MMEngine reads.
CONFIG_EXTENSIONS = ('.py', '.json', '.yml', '.yaml')


def read_config_file(path: str) -> Config:
    """``Config.fromfile`` with the user's mistakes named.

    A missing path, a folder, a file type MMEngine cannot read, a syntax
    error (with its line) or an error raised while the file runs end in a
    :class:`~fineclip.utils.errors.ConfigError` naming the file.

    Args:
        path: The config file.

    Returns:
        Config: the loaded config.
    """
    if osp.isdir(path):
        raise ConfigError(f"{path}: is a folder; give a config file in it "
                          "(e.g. configs/synthetic/fineclip_synthetic.py)")
    if not osp.exists(path):
        raise ConfigError(f"No such config: '{path}'")
    if osp.splitext(path)[1].lower() not in CONFIG_EXTENSIONS:
        raise ConfigError(
            f"{path}: not a config file; configs are "
            f"{'/'.join(CONFIG_EXTENSIONS)} files (see configs/)")
    try:
        return Config.fromfile(path)
    except SyntaxError as err:
        where = f'{err.filename}:{err.lineno}' if err.lineno else path
        if err.filename in (None, '<unknown>'):
            where = f'{path}:{err.lineno}' if err.lineno else path
        raise ConfigError(f'{where}: syntax error in the config: {err.msg}'
                          ) from err
    except (OSError, NameError, KeyError, TypeError, ValueError,
            AttributeError, ImportError) as err:
        raise ConfigError(f'{path}: the config cannot be read: '
                          f'{type(err).__name__}: {err}') from err


def enable_local_imports() -> None:
    """Lets ``custom_imports`` name modules relative to the working folder.

    ``python tools/train.py`` puts ``tools/`` first on ``sys.path``, not the
    folder it runs from, so ``plugins.my_part`` would not import; this adds
    the working folder, as ``python -m`` does.
    """
    cwd = os.getcwd()
    if cwd not in sys.path:
        sys.path.insert(0, cwd)


def import_custom_modules(cfg: Config) -> None:
    """Imports the modules ``cfg.custom_imports`` names (a user's own
    parts register there), as the Runner does when it starts."""
    if cfg.get('custom_imports'):
        from mmengine.utils import import_modules_from_strings
        import_modules_from_strings(**cfg.custom_imports)


def load_config(config: Union[str, Config],
                cfg_options: Optional[dict] = None) -> Config:
    """Loads a config the way every tool does.

    Plugins named in ``custom_imports`` resolve from the working folder,
    ``--cfg-options`` are merged, and the config's default scope is set, so
    registries build its parts outside a Runner too.

    Args:
        config: A config file, or a loaded ``Config`` (copied first, so
            the overrides never reach the caller's object).
        cfg_options: Overrides, as ``--cfg-options`` gives them.

    Returns:
        Config: the loaded config.

    Raises:
        ConfigError: ``config`` names no readable config file, an override
            key the part reading it does not accept, or a value no run can
            use (both also ``ValueError``; a missing file was a
            ``FileNotFoundError`` before and is this now).
        UnknownTypeError: an unknown ``type`` name once overrides are
            merged (a ``KeyError``).
    """
    from mmengine.registry import init_default_scope
    enable_local_imports()
    if isinstance(config, Config):
        cfg = copy.deepcopy(config)
    else:
        cfg = read_config_file(config)
    init_default_scope(cfg.get('default_scope', 'fineclip'))
    merge_cfg_options(cfg, cfg_options,
                      config if isinstance(config, str) else 'the config')
    if cfg_options:
        # a type set by an override is checked now, not at build time
        check_type_names(cfg)
    check_config_values(cfg)
    return cfg


def merge_cfg_options(cfg: Config, cfg_options: Optional[dict],
                      config_name: str = 'the config') -> None:
    """Checks and merges ``--cfg-options`` into ``cfg``; a ``data_root``
    among them (what ``--data-root`` sets) points every dataset there
    (:func:`fineclip.utils.data_root.apply_data_root`).

    ``cfg_options`` itself is left as it was, so a tool can pass it on.

    Raises:
        ValueError: an override key the part reading it does not accept.
        UserInputError: a data root that is no folder, or one for a config
            that reads several data sets.
    """
    if not cfg_options:
        return
    options = dict(cfg_options)
    root = pop_data_root(options)
    if options:
        check_cfg_options(cfg, options)
        cfg.merge_from_dict(options)
    if root is not None:
        apply_data_root(cfg, root, config_name)
