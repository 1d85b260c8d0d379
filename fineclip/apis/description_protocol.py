"""The evaluation protocol of descriptions: no evaluated clip's text may
have been written knowing its label.

A description written by an MLLM told the clip's class carries that class
even after refinement removes the emotion words, so a model that reads it
at test time is partly told the answer. On DFEW's and MAFW's 5-fold
protocols every clip is a test clip of some fold: one shared descriptions
file can hold no label-conditioned text at all. This module

* finds the clips a run evaluates (the val and test datasets of the
  configured fold, or of each fold cross-validation runs) and refuses,
  before anything is built, a descriptions file whose lines for them say
  ``label_given: true`` (:func:`check_label_free_descriptions`), unless
  the config sets ``allow_label_conditioned_eval = True``; then the config
  gets ``label_conditioned_eval = True``, which the logs and results
  carry;
* picks the only clips a label-hint study may give their label to: the
  training clips of one fold that no evaluation of that fold sees
  (:func:`label_hint_ids`).

See docs/evaluation_protocol.md.
"""
import os.path as osp
from typing import Dict, List, Optional, Sequence, Set, Tuple

from mmengine.config import Config
from mmengine.logging import print_log

from fineclip.datasets.bare import leaf_dataset_cfgs
from fineclip.utils.errors import UserInputError

#: The config key that lets a run evaluate on label-conditioned texts.
ALLOW_KEY = 'allow_label_conditioned_eval'
#: The config key (and result field) saying that a run did.
RESULT_KEY = 'label_conditioned_eval'
#: Clips named in a message before "and N more".
SHOWN = 5


class LabelConditionedEvalError(UserInputError):
    """A descriptions file gives evaluated clips texts written with their
    labels."""


def _listed(ids: Sequence[str]) -> str:
    ids = sorted(ids)
    more = f' and {len(ids) - SHOWN} more' if len(ids) > SHOWN else ''
    return ', '.join(ids[:SHOWN]) + more


def _clip_ids(ds_cfg: dict) -> Set[str]:
    """The clip ids of a dataset config as the config builds it (hold-out
    included), from its split file only."""
    from fineclip.registry import DATASETS
    bare = dict(ds_cfg, pipeline=[], face_map_dir=None,
                description_file=None, on_bad_clip='skip',
                max_bad_fraction=1.0)
    return {info['clip_id'] for info in DATASETS.build(bare).load_data_list()}


def _evaluated_leaves(cfg: Config, folds: Optional[Sequence[int]]
                      ) -> List[Tuple[str, dict]]:
    """``(name, dataset config)`` of every dataset a run evaluates."""
    keys = ['test_dataloader']
    if cfg.get('val_dataloader') and cfg.get('val_cfg') is not None:
        keys.insert(0, 'val_dataloader')
    leaves = []
    for key in keys:
        loader = cfg.get(key)
        if not loader:
            continue
        for leaf in leaf_dataset_cfgs(loader['dataset']):
            if folds and 'fold' in leaf:
                leaves += [(f'{key} fold {k}', dict(leaf, fold=k))
                           for k in folds]
            else:
                leaves.append((key, dict(leaf)))
    return leaves


def evaluated_clips(cfg: Config, folds: Optional[Sequence[int]] = None
                    ) -> Dict[str, Tuple[Set[str], List[str]]]:
    """The clips a run evaluates, per descriptions file they read.

    Args:
        cfg: A loaded config.
        folds: The folds a cross-validation runs (each fold's val and test
            datasets count); ``None``: the configured fold.

    Returns:
        ``{descriptions file: (clip ids, dataset names)}`` for the val and
        test datasets that set a ``description_file``.
    """
    found: Dict[str, Tuple[Set[str], List[str]]] = {}
    for name, leaf in _evaluated_leaves(cfg, folds):
        if not leaf.get('description_file'):
            continue
        path = osp.join(leaf['data_root'], leaf['description_file'])
        ids, names = found.setdefault(path, (set(), []))
        ids.update(_clip_ids(leaf))
        names.append(name)
    return found


def check_label_free_descriptions(cfg: Config,
                                  folds: Optional[Sequence[int]] = None
                                  ) -> Optional[str]:
    """Refuses descriptions written with the labels of evaluated clips.

    Run at the start of ``tools/train.py``, ``tools/test.py`` and
    ``tools/cross_validate.py``, after the config is complete and before
    anything is built. A file that does not exist is left to the tools'
    own checks; a file whose lines lack provenance is read with one
    warning (:class:`~fineclip.datasets.descriptions.DescriptionIndex`).

    Args:
        cfg: The complete config; gets ``label_conditioned_eval = True``
            when it allows such texts and has some.
        folds: The folds a cross-validation runs (default: the configured
            fold).

    Returns:
        ``None`` when no evaluated clip has a label-conditioned text;
        otherwise (allowed) the warning, also logged, that the run's logs
        and results carry; it starts ``label_conditioned_eval: true``.

    Raises:
        LabelConditionedEvalError: such texts, and the config does not set
            ``allow_label_conditioned_eval = True``. The message names the
            file, the datasets, the first clips and their count, and the
            fixes.
    """
    from fineclip.datasets.descriptions import DescriptionIndex
    conditioned = []
    for path, (ids, names) in evaluated_clips(cfg, folds).items():
        if not osp.isfile(path):
            continue
        index = DescriptionIndex(path)
        given = [c for c in ids
                 if (r := index.record_of(c)) is not None and r.label_given]
        if given:
            conditioned.append((path, names, given))
    if not conditioned:
        return None
    where = '; '.join(
        f'{path}: {len(given)} clip(s) of {", ".join(names)} '
        f'({_listed(given)})' for path, names, given in conditioned)
    if not cfg.get(ALLOW_KEY):
        raise LabelConditionedEvalError(
            f'Descriptions written with the clip\'s label given to the '
            f'describer (label_given: true) would be read by evaluated '
            f'clips: {where}. A text written knowing the answer carries it '
            'even after refinement, so the scores would not be a test. '
            'Regenerate the file label-free (tools/data/generate_'
            'descriptions.py without with_label=True, then tools/data/'
            'refine_descriptions.py), or point description_file at a '
            'label-free file; to study label hints anyway, set '
            f'{ALLOW_KEY} = True in the config (every log and result then '
            f'says {RESULT_KEY}). See docs/evaluation_protocol.md.')
    cfg[RESULT_KEY] = True
    note = (f'{RESULT_KEY}: true ({ALLOW_KEY} = True lets evaluated clips '
            f'read descriptions written with their labels: {where}; these '
            'scores are not a test of the model, do not report them as '
            'one)')
    print_log(note, logger='current', level=30)  # logging.WARNING
    return note


def label_hint_ids(cfg: Config) -> Tuple[str, Set[str]]:
    """The clips a label-hint study may describe with their labels.

    Those of the config's training dataset (its configured fold, with its
    hold-out) that none of its val and test datasets lists: the other
    clips, evaluated in this fold, are described without labels.

    Returns:
        ``(tag, clip ids)``: ``tag`` names the fold (``'fold2'``), or
        ``'train'`` for a dataset without folds, for the output's name.

    Raises:
        UserInputError: no such clip (the training clips are all
            evaluated), or a training dataset of several folds.
    """
    leaves = leaf_dataset_cfgs(cfg.train_dataloader.dataset)
    folds = {leaf.get('fold') for leaf in leaves}
    if len(folds) > 1:
        raise UserInputError(
            f'train_dataloader.dataset mixes folds {sorted(folds)}: label '
            'hints are given per fold; describe each fold with a config of '
            'that one fold.')
    fold = folds.pop()
    train = set().union(*(_clip_ids(leaf) for leaf in leaves))
    evaluated = set().union(
        set(), *(_clip_ids(leaf) for _, leaf in _evaluated_leaves(cfg, None)))
    hinted = train - evaluated
    if not hinted:
        raise UserInputError(
            'with_label=True: every training clip of this config is also '
            'evaluated (val/test datasets), so no clip can be given its '
            'label without leaking it. Describe without labels (the '
            'default).')
    return (f'fold{fold}' if fold is not None else 'train'), hinted
