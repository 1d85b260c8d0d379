"""Description refinement of a whole file, with its leakage report.

Used by ``tools/data/refine_descriptions.py``. The refinement rules and the
leakage measures live in :mod:`fineclip.preprocessing.refinement`; this
driver adds what needs the layers above preprocessing: clip labels read
from the datasets a config lists, and the descriptions JSONL in and out.
"""
from typing import Dict, Optional, Sequence, Tuple, Union

from mmengine.config import Config

from fineclip.datasets.bare import bare_datasets
from fineclip.datasets.descriptions import (read_description_records,
                                            write_descriptions)
from fineclip.preprocessing.refinement import (DescriptionRefiner,
                                               RefinementStats, fold_leakage,
                                               leakage_report,
                                               require_scikit_learn)
from fineclip.utils.config import load_config
from fineclip.utils.errors import UserInputError
from fineclip.utils.progress import progress_bar


def labels_from_config(config: Union[str, Config],
                       cfg_options: Optional[dict] = None) -> Dict[str, str]:
    """``{clip_id: class name}`` of every clip the config's train, val and
    test datasets list (built with no pipeline, no face maps, no
    descriptions and no hold-out). A clip the dataset skips (no frames on
    disk) gets no label and counts as unlabelled in the report.

    Args:
        config: A config file or a loaded config.
        cfg_options: Overrides, as ``--cfg-options`` gives them.

    Raises:
        ValueError: a clip with different labels in two splits.
    """
    cfg = load_config(config, cfg_options)
    labels: Dict[str, str] = {}
    # skip bad clips however many: the labels of the good ones still count
    for name, dataset, _ in bare_datasets(cfg, on_bad_clip='skip'):
        for info in dataset.load_data_list():
            label = dataset.classes[info['label']]
            clip_id = info['clip_id']
            if labels.get(clip_id, label) != label:
                raise ValueError(
                    f'Clip {clip_id} is labelled {label!r} in {name} and '
                    f'{labels[clip_id]!r} elsewhere')
            labels[clip_id] = label
    return labels


def refine_description_file(
        src: str, out: str, labels: Optional[Dict[str, str]] = None,
        folds: int = 5, seed: int = 0,
        splits: Optional[Sequence[Tuple[str, Sequence[str],
                                        Sequence[str]]]] = None) -> dict:
    """Refines every description of ``src`` into ``out`` and measures the
    label leakage before and after.

    Each line keeps its provenance fields, with ``refined: true`` added.

    ``out`` gets the same clip ids in the same order; it is replaced only
    once complete (see :func:`fineclip.datasets.descriptions.
    write_descriptions`).

    Args:
        src: Descriptions JSONL (``{"clip_id": ..., "text": ...}`` lines).
        out: Where the refined JSONL goes.
        labels: ``{clip_id: label}``; clips without one are left out of
            the classifier. None: lexicon shares only.
        folds: Folds of the classifier's pooled cross-validation.
        seed: Seed of the fold assignment.
        splits: The dataset's own folds, ``(name, training ids, test
            ids)`` (:func:`fineclip.apis.description_leakage.fold_splits`):
            with labels, the report's ``per_fold`` gives the classifier
            fitted on each fold's training texts and scored on its test
            texts.

    Returns:
        dict: :func:`~fineclip.preprocessing.refinement.leakage_report`'s
        report, with ``per_fold``
        (:func:`~fineclip.preprocessing.refinement.fold_leakage`) when
        ``splits`` and ``labels`` are given.

    Raises:
        ImportError: labels given and scikit-learn not installed (raised
            before anything is read or written).
    """
    if labels is not None:
        require_scikit_learn()  # before the work, not after it
    records = read_description_records(src)
    blank = [r for r in records if not r.text.strip()]
    if blank:
        # refining would turn them into the fallback text, a description
        # of nothing that no later step could tell from a real one
        shown = ', '.join(f'clip {r.clip_id} ({src}:{r.line_no})'
                          for r in blank[:5])
        more = f' and {len(blank) - 5} more' if len(blank) > 5 else ''
        raise UserInputError(
            f'{len(blank)} description(s) in {src} are empty or whitespace '
            f'only: {shown}{more}. Describe those clips again '
            '(tools/data/generate_descriptions.py skips clips already in '
            'the file: remove their lines first), then refine.')
    refiner = DescriptionRefiner()
    total = RefinementStats()
    refined = []
    for record in progress_bar(records, desc='refining', unit='text',
                               disable=len(records) < 1000):
        result = refiner(record.text)
        total += result.stats
        refined.append(result.text)
    # the raw text's provenance goes along, marked refined; a line without
    # provenance stays without (refining does not make it known)
    write_descriptions(out, (
        (r.clip_id, text,
         None if r.provenance is None else dict(r.provenance, refined=True))
        for r, text in zip(records, refined)))
    report = leakage_report(
        [r.text for r in records], refined,
        None if labels is None else [labels.get(r.clip_id)
                                     for r in records],
        total, folds, seed)
    if labels is not None and splits is not None:
        report['per_fold'] = fold_leakage(
            {r.clip_id: r.text for r in records},
            {r.clip_id: t for r, t in zip(records, refined)}, labels,
            splits)
    return report
