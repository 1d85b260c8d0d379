"""Train-to-test label leakage of a config's descriptions, per fold.

The question a reviewer asks of a description branch is not whether the
texts predict their labels in general, but whether a model trained on one
fold's training texts could read the answer off that fold's test texts. A
text-only classifier fitted on the training descriptions and scored on the
test descriptions of each fold of the dataset's own protocol answers it
(:func:`fineclip.preprocessing.refinement.fold_leakage`). This module finds
the folds (:func:`fold_splits`) and writes the one line
``tools/data/check_dataset.py`` prints (:func:`leakage_line`).
"""
import os.path as osp
from collections import OrderedDict
from typing import Dict, List, Optional, Sequence, Tuple

from mmengine.config import Config

from fineclip.datasets.bare import bare_datasets

#: ``(fold name, training clip ids, test clip ids)``.
Split = Tuple[str, List[str], List[str]]


def fold_splits(cfg: Config, folds: Optional[Sequence[int]] = None
                ) -> Tuple[List[Split], Dict[str, str]]:
    """The train/test splits of the config's training dataset, per fold.

    Args:
        cfg: A loaded config.
        folds: Folds to build (default: all five where the dataset has
            folds; a dataset without folds gives one split).

    Returns:
        ``(splits, labels)``: one ``(name, train ids, test ids)`` per fold
        (``'fold 2'``; ``'train/test'`` without folds) and ``{clip_id:
        class name}`` of every clip in them.
    """
    per_fold: 'OrderedDict[str, Dict[str, List[str]]]' = OrderedDict()
    labels: Dict[str, str] = {}
    for name, dataset, _ in bare_datasets(cfg, ('train', 'test'), folds,
                                          on_bad_clip='skip'):
        split, _, fold = name.partition(' fold ')
        ids = per_fold.setdefault(f'fold {fold}' if fold else 'train/test',
                                  {}).setdefault(split, [])
        for info in dataset.load_data_list():
            ids.append(info['clip_id'])
            labels[info['clip_id']] = dataset.classes[info['label']]
    splits = [(name, s.get('train', []), s.get('test', []))
              for name, s in per_fold.items()]
    return splits, labels


def _configured_fold(cfg: Config) -> Optional[List[int]]:
    fold = cfg.train_dataloader.dataset.get('fold')
    return None if fold is None else [fold]


def leakage_line(cfg: Config) -> Optional[str]:
    """The check's one line: how well the configured descriptions of the
    configured fold's training clips predict its test clips' labels.

    Returns:
        The line, or ``None`` when the config reads no descriptions file or
        the file is not there yet (the check reports that already).
        Without scikit-learn the line says so instead of a figure.
    """
    ds_cfg = cfg.train_dataloader.dataset
    if not ds_cfg.get('description_file'):
        return None
    path = osp.join(ds_cfg['data_root'], ds_cfg['description_file'])
    if not osp.isfile(path):
        return None
    head = f'description leakage ({path}):'
    try:
        from fineclip.preprocessing.refinement import (fold_leakage,
                                                       require_scikit_learn)
        require_scikit_learn()
    except ImportError:
        return (f'{head} not measured: scikit-learn is not installed (pip '
                'install "fineclip[refine]")')
    from fineclip.datasets.descriptions import read_descriptions
    try:
        texts = read_descriptions(path)
        splits, labels = fold_splits(cfg, _configured_fold(cfg))
    except (OSError, ValueError) as err:
        return f'{head} not measured: {err}'
    rows = fold_leakage(texts, None, labels, splits)
    if not rows or 'skipped' in rows[0]:
        why = rows[0]['skipped'] if rows else 'no split'
        return f'{head} not measured: {why}'
    row = rows[0]
    return (f"{head} a text-only classifier fitted on {row['fold']}'s "
            f"{row['num_train']} training descriptions predicts its "
            f"{row['num_test']} test clips' labels with accuracy "
            f"{100 * row['accuracy_before']:.1f}%, UAR "
            f"{100 * row['uar_before']:.1f}% (chance: majority class "
            f"{100 * row['majority_share']:.1f}%, uniform "
            f"{100 * row['uniform_chance']:.1f}%)")
