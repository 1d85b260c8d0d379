"""The datasets a config points at, read from their split files only.

Every data tool (face-map extraction, description generation and
refinement, ``check_dataset.py``) needs the clips of a config's dataset
without training on them: no pipeline, and usually without the face maps
or descriptions it may be about to create. :func:`bare_datasets` is the one
place that builds them, so the tools agree on which clips a config has.
"""
from typing import Iterator, NamedTuple, Optional, Sequence

from mmengine.config import Config

from fineclip.utils.config_datasets import (  # noqa: F401  (re-exported)
    LOADER_KEYS, leaf_dataset_cfgs)



class BareDataset(NamedTuple):
    """One dataset of a config, built bare.

    Attributes:
        name: Where it comes from: the dataloader key (``'test_dataloader'``)
            or the split and fold asked for (``'test fold 2'``).
        dataset: The built dataset (``load_data_list()``, ``classes``,
            ``bad_clips``).
        cfg: The dataset config as the config has it (before stripping),
            e.g. to find its ``face_map_dir``.
    """

    name: str
    dataset: object
    cfg: dict


def _sources(cfg: Config, splits: Optional[Sequence[str]],
             folds: Optional[Sequence[int]]):
    """``(name, dataset config)`` pairs before stripping."""
    if splits is None:
        for key in LOADER_KEYS:
            loader = cfg.get(key)
            if not loader:
                continue
            for leaf in leaf_dataset_cfgs(loader['dataset']):
                if folds and 'fold' in leaf:
                    for fold in folds:
                        yield f'{key} fold {fold}', dict(leaf, fold=fold)
                else:
                    yield key, leaf
        return
    # the training dataset re-pointed at each split (and fold) asked for
    for leaf in leaf_dataset_cfgs(cfg.train_dataloader.dataset):
        has_folds = 'fold' in leaf
        for fold in ((folds or [1, 2, 3, 4, 5]) if has_folds else [None]):
            for split in splits:
                ds_cfg = dict(leaf, split=split)
                if has_folds:
                    ds_cfg['fold'] = fold
                yield (f'{split} fold {fold}' if has_folds else split,
                       ds_cfg)


def bare_datasets(cfg: Config,
                  splits: Optional[Sequence[str]] = None,
                  folds: Optional[Sequence[int]] = None,
                  on_bad_clip: Optional[str] = None,
                  side_inputs: bool = False) -> Iterator[BareDataset]:
    """Builds the datasets of ``cfg`` from their split files only.

    Each is built with no pipeline and no hold-out (the clips a hold-out
    would move to validation are listed with the training split).

    Args:
        cfg: A loaded config.
        splits: ``None``: the train, val and test dataloaders' datasets as
            configured (wrappers such as ConcatDataset unwrapped). A list
            such as ``('train', 'test')``: the training dataset's config
            re-pointed at each of these splits.
        folds: Folds to build for datasets with a ``fold`` (DFEW, MAFW):
            ``None`` keeps the configured fold, or with ``splits`` all
            five.
        on_bad_clip: ``'skip'`` lists bad clips in ``dataset.bad_clips``
            instead of raising, however many there are; ``None`` keeps
            the config's policy.
        side_inputs: Keep the configured face maps and descriptions (a
            check of the dataset wants them); by default they are left out,
            since the tools that call this may be what creates them.

    Yields:
        BareDataset: one per dataset, in the order above.
    """
    from fineclip.registry import DATASETS
    for name, ds_cfg in _sources(cfg, splits, folds):
        bare = dict(ds_cfg, pipeline=[], holdout_fraction=0.0)
        if not side_inputs:
            bare.update(face_map_dir=None, description_file=None)
        if on_bad_clip is not None:
            bare['on_bad_clip'] = on_bad_clip
            if on_bad_clip == 'skip':
                bare['max_bad_fraction'] = 1.0
        yield BareDataset(name, DATASETS.build(bare), ds_cfg)
