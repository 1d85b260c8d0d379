"""The datasets of a config, read so that a bad one is reported, not raised.

:func:`fineclip.datasets.bare.bare_datasets` builds each dataset from its
split file; here each is built lazily and then loaded under ``try``, so a
split that cannot be read (its file missing, every clip bad) becomes an
entry with the error and the bad clips found before it, and the next split
is still read.
"""
import copy
import os.path as osp
from typing import Iterator, List, NamedTuple, Optional, Sequence

from mmengine.config import Config

from fineclip.datasets.bare import LOADER_KEYS, bare_datasets, \
    leaf_dataset_cfgs


class ScannedSplit(NamedTuple):
    """One dataset of a config, loaded or not.

    Attributes:
        name: ``'train fold 1'``, ``'test_dataloader'``...
        dataset: The loaded dataset, or ``None`` when it could not load.
        cfg: Its dataset config as the config has it.
        error: Why it could not load.
        bad_clips: The bad lines and clips recorded (before the error).
    """

    name: str
    dataset: Optional[object]
    cfg: dict
    error: Optional[str] = None
    bad_clips: Sequence[str] = ()


def leaf_cfgs(cfg: Config, splits: Optional[Sequence[str]] = None
              ) -> List[dict]:
    """The leaf dataset configs ``scan_datasets`` reads: every loader's, or
    with ``splits`` the training loader's."""
    keys = ('train_dataloader', ) if splits else LOADER_KEYS
    return [leaf for key in keys if cfg.get(key)
            for leaf in leaf_dataset_cfgs(cfg[key]['dataset'])]


def missing_data_roots(cfg: Config,
                       splits: Optional[Sequence[str]] = None) -> List[str]:
    """Data roots of the datasets to scan that do not exist."""
    roots = []
    for leaf in leaf_cfgs(cfg, splits):
        root = leaf.get('data_root')
        if root and not osp.isdir(root) and root not in roots:
            roots.append(root)
    return roots


def scan_datasets(cfg: Config, splits: Optional[Sequence[str]] = None,
                  folds: Optional[Sequence[int]] = None
                  ) -> Iterator[ScannedSplit]:
    """Loads each dataset :func:`bare_datasets` would build (bad clips
    skipped and recorded, face maps and descriptions left out: the checks
    read those themselves).

    Check :func:`missing_data_roots` first: a dataset whose data root is
    missing cannot be built at all.

    Yields:
        ScannedSplit: one per dataset, in ``bare_datasets``' order.
    """
    cfg = copy.deepcopy(cfg)
    for leaf in leaf_cfgs(cfg, splits):
        leaf['lazy_init'] = True  # loaded below, where errors are caught
    for name, dataset, ds_cfg in bare_datasets(cfg, splits, folds,
                                               on_bad_clip='skip'):
        ds_cfg = {k: v for k, v in ds_cfg.items() if k != 'lazy_init'}
        try:
            dataset.full_init()
        except (OSError, ValueError) as err:
            yield ScannedSplit(name, None, ds_cfg, str(err),
                               list(getattr(dataset, 'bad_clips', [])))
            continue
        yield ScannedSplit(name, dataset, ds_cfg, None,
                           list(dataset.bad_clips))


def split_file_of(ds_cfg: dict) -> Optional[str]:
    """The split file a dataset config reads, also before its data root
    exists (the dataset is then built, unloaded, on an empty folder and
    the path moved to the real root)."""
    import tempfile

    from fineclip.registry import DATASETS
    root = ds_cfg.get('data_root')
    bare = dict(ds_cfg, pipeline=[], lazy_init=True, face_map_dir=None,
                description_file=None)
    try:
        if root and osp.isdir(root):
            return DATASETS.build(bare).split_file
        with tempfile.TemporaryDirectory() as tmp:
            path = DATASETS.build(dict(bare, data_root=tmp)).split_file
        rel = osp.relpath(path, tmp)
        return path if rel.startswith('..') else osp.join(root, rel)
    except (NotImplementedError, AttributeError, TypeError):
        return None  # a dataset without one split file
