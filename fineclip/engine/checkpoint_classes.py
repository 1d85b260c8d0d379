"""Refusing a checkpoint trained on other classes than the config's.

A checkpoint remembers the classes it was trained on
(``meta.dataset_meta.classes``, which MMEngine's Runner writes from the
training set). FineCLIPER builds its class prompts from names, so a MAFW
checkpoint (11 classes) tested on a DFEW config (7) runs and prints a UAR
without a word. Here such a load is refused with both lists, unless the
config says the mismatch is meant (``allow_class_mismatch = True``, as the
zero-shot configs do; ``--allow-other-classes`` on test.py and infer.py).
"""
from typing import Optional, Sequence

from .checkpoint_io import CheckpointError

#: The config key (and what the tools' flag sets) that allows it.
ALLOW_KEY = 'allow_class_mismatch'


class ClassMismatchError(CheckpointError):
    """A checkpoint's classes differ from the config's dataset's."""


def checkpoint_classes(checkpoint: dict) -> Optional[tuple]:
    """The class names a checkpoint was trained on, or None if it does
    not say (a plain state dict, an old export)."""
    meta = checkpoint.get('meta') if isinstance(checkpoint, dict) else None
    dataset_meta = (meta or {}).get('dataset_meta') or {}
    classes = dataset_meta.get('classes') if isinstance(
        dataset_meta, dict) else None
    return tuple(classes) if classes else None


def dataset_classes(dataset_cfg) -> Optional[tuple]:
    """The classes a dataset config will have, without building it: its
    ``metainfo.classes`` or its type's ``METAINFO``."""
    if not isinstance(dataset_cfg, dict):
        return None
    metainfo = dataset_cfg.get('metainfo') or {}
    if metainfo.get('classes'):
        return tuple(metainfo['classes'])
    type_name = dataset_cfg.get('type')
    klass = type_name
    if isinstance(type_name, str):
        from fineclip.registry import DATASETS
        try:
            klass = DATASETS.get(type_name)
        except Exception:  # an unknown type is reported where it is built
            return None
    classes = (getattr(klass, 'METAINFO', None) or {}).get('classes')
    return tuple(classes) if classes else None


def check_classes(trained: Optional[Sequence[str]],
                  expected: Optional[Sequence[str]], where: str,
                  dataset: str = 'the config\'s dataset') -> None:
    """Raises :class:`ClassMismatchError` when both lists are known and
    differ (names or order: a label index means another class).

    Args:
        trained: The checkpoint's classes.
        expected: The classes of the dataset it is loaded for.
        where: The checkpoint, as the message names it.
        dataset: The dataset, as the message names it.
    """
    if not trained or not expected or tuple(trained) == tuple(expected):
        return
    raise ClassMismatchError(
        f'{where} was trained on other classes than {dataset}:\n'
        f'  checkpoint ({len(trained)}): {", ".join(trained)}\n'
        f'  config     ({len(expected)}): {", ".join(expected)}\n'
        'Use a checkpoint trained on this dataset. For a deliberate '
        'cross-dataset (zero-shot) test, pass --allow-other-classes '
        f'(tools/test.py, tools/infer.py) or set {ALLOW_KEY} = True in '
        'the config.')
