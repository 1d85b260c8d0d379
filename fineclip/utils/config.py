"""Loading configs the way every tool and API does."""
import copy
import os
import os.path as osp
import sys
from typing import Optional, Union

from mmengine.config import Config

from .config_checks import check_cfg_options, check_type_names
from .data_root import apply_data_root, pop_data_root


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
        FileNotFoundError: ``config`` names no file.
        ValueError: an override key the part reading it does not accept.
        KeyError: an unknown ``type`` name once overrides are merged.
    """
    from mmengine.registry import init_default_scope
    enable_local_imports()
    if isinstance(config, Config):
        cfg = copy.deepcopy(config)
    else:
        if not osp.isfile(config):
            raise FileNotFoundError(f"No such config: '{config}'")
        cfg = Config.fromfile(config)
    init_default_scope(cfg.get('default_scope', 'fineclip'))
    merge_cfg_options(cfg, cfg_options,
                      config if isinstance(config, str) else 'the config')
    if cfg_options:
        # a type set by an override is checked now, not at build time
        check_type_names(cfg)
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
