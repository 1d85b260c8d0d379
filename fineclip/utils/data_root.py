"""One data root for every dataset a config builds (``--data-root DIR``).

A config reads its data set in up to three places (the train, val and test
dataloaders, and datasets nested in wrappers). ``--data-root DIR`` on a tool
becomes the override ``data_root=DIR`` in its ``--cfg-options``, which
:func:`apply_data_root` spreads over all of them; tools that pass their
overrides on to other tools (``prepare.py``) pass it on with them.
"""
import argparse
import os.path as osp
from typing import Iterator, List, Optional, Tuple

from .config_datasets import LOADER_KEYS, leaf_dataset_cfgs
from .errors import UserInputError

#: The ``--cfg-options`` key ``--data-root`` sets.
DATA_ROOT_KEY = 'data_root'


class DataRootAction(argparse.Action):
    """Stores ``--data-root DIR`` as ``data_root=DIR`` among the parsed
    ``--cfg-options`` (before or after them on the command line)."""

    def __call__(self, parser, namespace, values, option_string=None):
        options = dict(getattr(namespace, self.dest, None) or {})
        options[DATA_ROOT_KEY] = values
        setattr(namespace, self.dest, options)


def add_data_root_argument(parser: argparse.ArgumentParser) -> None:
    """Adds ``--data-root DIR`` to a tool that reads a data set; the tool
    must also have ``--cfg-options`` (the value lands there)."""
    parser.add_argument(
        '--data-root', metavar='DIR', dest='cfg_options',
        action=DataRootAction, default=None,
        help='root folder of the data set, for every dataset the config '
        'builds (train, val and test); same as --cfg-options data_root=DIR')


def dataset_nodes(cfg) -> Iterator[Tuple[str, dict]]:
    """``(dataloader key, dataset dict)`` of every dataset with a
    ``data_root`` under the config's dataloaders, wrappers' inner datasets
    included."""
    for loader in LOADER_KEYS:
        section = cfg.get(loader)
        if isinstance(section, dict) and 'dataset' in section:
            for leaf in leaf_dataset_cfgs(section['dataset']):
                if DATA_ROOT_KEY in leaf:
                    yield loader, leaf


def data_roots(cfg) -> List[str]:
    """The distinct data roots of the config's datasets, in order."""
    roots: List[str] = []
    for _, node in dataset_nodes(cfg):
        if node[DATA_ROOT_KEY] not in roots:
            roots.append(node[DATA_ROOT_KEY])
    return roots


def pop_data_root(cfg_options: Optional[dict]) -> Optional[str]:
    """Takes ``data_root`` out of ``cfg_options`` (it is not a key of the
    config to merge but an instruction to :func:`apply_data_root`)."""
    if not cfg_options or DATA_ROOT_KEY not in cfg_options:
        return None
    return str(cfg_options.pop(DATA_ROOT_KEY))


def apply_data_root(cfg, root: str, config_name: str = 'the config') -> None:
    """Points every dataset of ``cfg`` at ``root``.

    Also sets the config's ``data_root`` variable and drops the embedded
    default's synthetic set when it would be written elsewhere (the user's
    own data needs none); the tiny CLIP stays.

    Raises:
        UserInputError: ``root`` is not a folder, or the config reads
            several data sets (e.g. zero-shot: trains on one, tests on
            another), where one root cannot be right for all.
    """
    if osp.isfile(root):
        raise UserInputError(f"--data-root '{root}' is a file; give the "
                             'folder that holds the data set.')
    if not osp.isdir(root):
        raise UserInputError(f"--data-root '{root}' does not exist; give "
                             'the folder that holds the data set.')
    roots = data_roots(cfg)
    if len(roots) > 1:
        keys = ', '.join(f'{key}: {node[DATA_ROOT_KEY]!r}'
                         for key, node in dataset_nodes(cfg))
        raise UserInputError(
            f'{config_name} reads {len(roots)} data sets ({keys}); '
            '--data-root would point them all at one folder. Set each with '
            '--cfg-options KEY=DIR instead.')
    for _, node in dataset_nodes(cfg):
        node[DATA_ROOT_KEY] = root
    if DATA_ROOT_KEY in cfg:
        cfg[DATA_ROOT_KEY] = root
    synthetic = (cfg.get('embedded_default') or {}).get('synthetic_data')
    if synthetic and osp.abspath(synthetic.get('out_dir', '')) != \
            osp.abspath(root):
        del cfg.embedded_default['synthetic_data']
