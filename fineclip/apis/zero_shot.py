"""The zero-shot protocol of the paper's Tab 3 as one function.

A caption-trained source model is tested on target datasets with their own
class prompts, beside untrained baselines (plain CLIP) tested on the same
targets; the result is one table, a row per model, a column per test
split of each target (every fold's, by default) and one with their mean.
The result file records every test's protocol fingerprint and the source
run's; the source run is reused only under the same fingerprint.
"""
import json
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
from mmengine.config import Config

from fineclip.datasets.loader_options import fit_loader_options
from fineclip.engine.runner import FineCLIPRunner
from .cross_validation import format_mean, mean_and_std, train_and_test
from .embedded_default import prepare_embedded_default
from .result_protocol import make_fingerprint

RESULT_FILE = 'zero_shot.json'
#: The official folds of DFEW and MAFW, whose test splits a target is
#: evaluated on by default.
ALL_FOLDS = (1, 2, 3, 4, 5)


def target_name(cfg: Config) -> str:
    """What a config tests on: dataset type and data root."""
    dataset = cfg.test_dataloader.dataset
    name = dataset.type.replace('Dataset', '')
    return f"{name} ({dataset.get('data_root', '?')})"


def target_splits(cfg: Config, folds: Sequence[int]
                  ) -> List[Tuple[str, Config, Optional[int]]]:
    """``(column, config, fold)`` for every test split a target is
    evaluated on: each of ``folds`` for a dataset with folds (column
    ``'<target> fold K'``, so two folds never share a column), else its one
    test split (column ``'<target> test split'``, fold ``None``)."""
    name = target_name(cfg)
    if 'fold' not in cfg.test_dataloader.dataset:
        return [(f'{name} test split', cfg, None)]
    splits = []
    for fold in folds:
        fold_cfg = Config(cfg.to_dict())
        fold_cfg.test_dataloader.dataset.fold = fold
        splits.append((f'{name} fold {fold}', fold_cfg, fold))
    return splits


def test_config(cfg: Config, work_dir: str,
                checkpoint: Optional[str]) -> dict:
    """Tests ``cfg`` (with ``checkpoint`` loaded, if given).

    Returns:
        dict: ``metrics`` (UAR, WAR, per-class recall) and ``classes``
        (the test set's whole class list, present in it or not).
    """
    if checkpoint is None and not cfg.get('test_without_checkpoint'):
        raise ValueError(
            f'{cfg.filename}: a baseline without checkpoint must set '
            'test_without_checkpoint = True (nothing in it is trained).')
    cfg = Config(cfg.to_dict())  # a copy the Runner may change
    cfg.work_dir = work_dir
    cfg.load_from = checkpoint
    cfg.resume = False
    cfg.experiment_name = osp.basename(work_dir.rstrip('/'))
    prepare_embedded_default(cfg)
    fit_loader_options(cfg)  # pin_memory/persistent_workers
    runner = FineCLIPRunner.from_cfg(cfg)
    metrics = {k: float(v) for k, v in runner.test().items()
               if np.isscalar(v)}
    return dict(metrics=metrics, classes=list(
        runner.test_dataloader.dataset.metainfo['classes']))


def source_checkpoint(cfg: Config, work_dir: str,
                      force: bool = False) -> Tuple[str, dict]:
    """Trains the source config in ``work_dir`` (or reuses the run that
    finished there under the same protocol fingerprint; see
    :func:`fineclip.apis.cross_validation.train_and_test`).

    Returns:
        tuple: its last checkpoint and its result record.
    """
    name = cfg.filename
    cfg = Config(cfg.to_dict())
    cfg.work_dir = work_dir
    prepare_embedded_default(cfg)
    result = train_and_test(cfg, work_dir, force=force, source=name)
    checkpoint = osp.join(work_dir, f"epoch_{result['epochs']}.pth")
    if not osp.isfile(checkpoint):
        raise FileNotFoundError(f'Source run finished without {checkpoint}')
    return checkpoint, result


def row_name(cfg: Config) -> str:
    """A trained source's row in the table: the config's ``zero_shot_row``
    (e.g. ``'EmoCLIP, MAFW (video caption)'``), else its file name."""
    return cfg.get('zero_shot_row') or \
        f'{osp.basename(cfg.filename)[:-3]} (caption-trained)'


def zero_shot_table(source: Config, targets: Sequence[Config],
                    baselines: Sequence[Config], work_dir: str,
                    checkpoint: Optional[str] = None,
                    folds: Sequence[int] = ALL_FOLDS,
                    force: bool = False,
                    more_sources: Sequence[Tuple[Config, Sequence[Config]]]
                    = ()) -> dict:
    """Runs the protocol and writes ``work_dir/zero_shot.{json,md}``.

    Every target (and baseline) is tested on the test split of each of
    ``folds`` (a dataset without folds: its one test split); the table
    has a column per fold and one with their mean.

    Args:
        source: The caption-trained config (``ZeroShotFineCLIPER``).
        targets: Configs testing the source model on target datasets.
        baselines: Untrained configs (``test_without_checkpoint``).
        work_dir: Where the source trains and every test writes its logs.
        checkpoint: A trained source checkpoint; ``None`` trains one.
        folds: The target folds whose test splits are evaluated.
        force: Retrain a source run made under another protocol (the
            old one is moved aside).
        more_sources: Further ``(source, targets)`` rows, each trained in
            ``work_dir/source_<config name>`` (e.g. EmoCLIP beside
            FineCLIPER†, as the paper's Tab 3 compares them).

    Returns:
        dict: ``rows`` (``{model: {column: metrics}}``), ``columns`` (in
        order), ``means`` (``{model: {target: mean over its fold
        columns}}``), ``classes`` (each column's class list),
        ``fingerprints`` (each test's, and the source run's), ``checkpoint``
        and ``markdown``.
    """
    fingerprints = {}
    if checkpoint is None:
        checkpoint, trained_run = source_checkpoint(
            source, osp.join(work_dir, 'source'), force)
        fingerprints['source'] = trained_run['fingerprint']
    runs = [('CLIP (no training)', cfg, None) for cfg in baselines]
    runs += [(row_name(source), cfg, checkpoint) for cfg in targets]
    for other, other_targets in more_sources:
        stem = osp.basename(other.filename)[:-3]
        other_ckpt, other_run = source_checkpoint(
            other, osp.join(work_dir, f'source_{stem}'), force)
        fingerprints[f'source {stem}'] = other_run['fingerprint']
        runs += [(row_name(other), cfg, other_ckpt) for cfg in other_targets]
    rows: Dict[str, Dict[str, dict]] = {}
    columns: List[str] = []
    classes: Dict[str, List[str]] = {}
    groups: Dict[str, List[str]] = {}  # target -> its fold columns
    for i, (row, cfg, ckpt) in enumerate(runs):
        for column, split_cfg, fold in target_splits(cfg, folds):
            if column not in columns:
                columns.append(column)
            groups.setdefault(target_name(cfg), [])
            if fold is not None and column not in groups[target_name(cfg)]:
                groups[target_name(cfg)].append(column)
            tested = test_config(split_cfg, osp.join(
                work_dir, f'test_{i}' + ('' if fold is None else
                                         f'_fold_{fold}')), ckpt)
            rows.setdefault(row, {})[column] = tested['metrics']
            classes[column] = tested['classes']
            fingerprints[f'{row} / {column}'] = make_fingerprint(
                split_cfg, fold=fold, checkpoint=ckpt)
    means = {row: {target: _mean_over(cells, group)
                   for target, group in groups.items()
                   if group and all(c in cells for c in group)}
             for row, cells in rows.items()}
    result = dict(rows=rows, columns=columns, means=means, classes=classes,
                  folds=list(folds), fingerprints=fingerprints,
                  checkpoint=checkpoint)
    result['markdown'] = format_table(result)
    with open(osp.join(work_dir, RESULT_FILE), 'w') as f:
        json.dump(result, f, indent=2)
    with open(osp.join(work_dir, 'zero_shot.md'), 'w') as f:
        f.write(result['markdown'])
    return result


def _mean_over(cells: Dict[str, dict], columns: Sequence[str]) -> dict:
    """UAR and WAR averaged over fold columns, with their sample std."""
    out = {'n': len(columns), 'columns': list(columns)}
    for metric in ('UAR', 'WAR'):
        out.update({f'{metric}/{k}': v for k, v in mean_and_std(
            [cells[c][metric] for c in columns]).items() if k != 'n'})
    return out


def format_table(result: dict) -> str:
    """Markdown: a row per model, UAR/WAR (%) per target test split and
    their mean over folds, with a chance row from each target's whole
    class list."""
    columns = result['columns']
    means = result.get('means', {})
    targets = list(dict.fromkeys(t for cells in means.values()
                                 for t in cells))
    header = [f'{c} UAR / WAR' for c in columns]
    for target in targets:
        n = next(cells[target]['n'] for cells in means.values()
                 if target in cells)
        header.append(f'{target} mean of {n} folds UAR / WAR '
                      f"({'mean ± sample std' if n > 1 else 'n=1, no std'}"
                      f', n={n})')
    lines = [f"Each target is tested on the test split of folds "
             f"{result.get('folds')} (a set without folds: its one test "
             'split); the mean columns average those folds.', '',
             '| model | ' + ' | '.join(header) + ' |',
             '|---' * (len(header) + 1) + '|']
    for row, cells in result['rows'].items():
        values = []
        for column in columns:
            m = cells.get(column)
            values.append('-' if m is None else
                          f"{100 * m['UAR']:.2f} / {100 * m['WAR']:.2f}")
        for target in targets:
            m = means.get(row, {}).get(target)
            values.append('-' if m is None else ' / '.join(
                format_mean({'mean': m[f'{k}/mean'], 'std': m[f'{k}/std']})
                for k in ('UAR', 'WAR')))
        lines.append(f'| {row} | ' + ' | '.join(values) + ' |')
    chance = [f"{100 / len(result['classes'][c]):.2f}" for c in columns]
    for target in targets:
        group = next(cells[target]['columns'] for cells in means.values()
                     if target in cells)
        chance.append(f"{100 / len(result['classes'][group[0]]):.2f}")
    lines.append('| chance (UAR: 1 / classes in the class list) | '
                 + ' | '.join(chance) + ' |')
    return '\n'.join(lines) + '\n'
