"""K-fold cross-validation and seed repeats: one train+test run each, then
a table.

DFEW and MAFW are evaluated as the mean over their 5 official folds. Each
fold runs in its own work dir, which records the run's protocol
fingerprint (:mod:`fineclip.apis.result_protocol`) before it trains: a
fold whose result file exists is not run again, and a fold interrupted
mid-training resumes from its checkpoint, only under the same fingerprint.
Tables give the mean ± sample std (ddof 1) with n, and refuse runs made
under different protocols.
"""
import copy
import json
import os.path as osp
import time
from typing import Dict, List, Sequence

import numpy as np
import torch
from mmengine.config import Config
from mmengine.logging import MMLogger, print_log
from mmengine.runner import find_latest_checkpoint

from fineclip.datasets.loader_options import fit_loader_options
from fineclip.engine.precision import resolve_precision
from fineclip.engine.runner import FineCLIPRunner
from fineclip.engine.train_setup import configure_training, run_world_size
from fineclip.engine.work_dir_lock import training_lock
from fineclip.utils.config_datasets import LOADER_KEYS
from fineclip.utils.errors import UserInputError
from .result_protocol import (check_run_dir, check_same_protocol, describe,
                              make_fingerprint, write_protocol_file)

RESULT_FILE = 'fold_result.json'
#: Result fields that name a run without changing it (not fingerprinted).
RUN_LABELS = ('config', 'source')


def apply_selection(cfg: Config, val_holdout: float = 0.0,
                    select_on_test: bool = False) -> str:
    """Sets which epoch ``cfg``'s run is tested with; returns the rule.

    * default: the last epoch (``'last_epoch'``); the "val" loop watches
      the test split for monitoring only;
    * ``val_holdout`` > 0: a stratified part of the training split becomes
      the validation set (and is left out of training), and the checkpoint
      with the best validation UAR is tested (``'best_on_val_holdout'``);
    * ``select_on_test``: the epoch with the best UAR on the TEST split is
      tested (``'best_on_test'``), the rule DFER-CLIP's paper reports by,
      for a like-for-like comparison with it; such a number was selected
      on the data it is reported on.

    Raises:
        UserInputError: both ``val_holdout`` and ``select_on_test``.
    """
    if val_holdout > 0 and select_on_test:
        raise UserInputError(
            '--val-holdout and --select-on-test are two selection rules; '
            'give one of them.')
    if val_holdout > 0:
        train = cfg.train_dataloader.dataset
        train.update(holdout_fraction=val_holdout, holdout_keep='rest')
        val = copy.deepcopy(train)
        val.update(holdout_keep='held_out', test_mode=True,
                   pipeline=cfg.val_dataloader.dataset.pipeline)
        cfg.val_dataloader.dataset = val
    elif select_on_test:
        # select on exactly what is reported: the test list and metric
        cfg.val_dataloader.dataset = copy.deepcopy(
            cfg.test_dataloader.dataset)
        cfg.val_evaluator = copy.deepcopy(cfg.test_evaluator)
    else:
        return 'last_epoch'
    cfg.default_hooks.checkpoint.update(save_best='UAR', rule='greater')
    return 'best_on_val_holdout' if val_holdout > 0 else 'best_on_test'


def fold_config(cfg: Config, fold: int, work_dir: str,
                val_holdout: float = 0.0,
                select_on_test: bool = False) -> Config:
    """A copy of ``cfg`` whose datasets read ``fold``, writing to
    ``work_dir``, with the selection rule of :func:`apply_selection`."""
    cfg = copy.deepcopy(cfg)
    for key in LOADER_KEYS:
        dataset = cfg.get(key, {}).get('dataset', {})
        if 'fold' not in dataset:
            raise ValueError(
                f"{key}.dataset has no 'fold' key: this config's dataset has "
                'no cross-validation folds (FERV39k has one fixed split).')
        dataset['fold'] = fold
    apply_selection(cfg, val_holdout, select_on_test)
    cfg.work_dir = work_dir
    cfg.experiment_name = f'fold_{fold}'
    cfg.load_from = None
    return cfg


def run_fold(cfg: Config, fold: int, work_dir: str,
             val_holdout: float = 0.0, select_on_test: bool = False,
             force: bool = False) -> dict:
    """Trains and tests one fold, or returns its saved result (only if it
    was made under the same protocol; see :func:`train_and_test`).

    Returns:
        dict: ``fold``, ``metrics`` (UAR, WAR, per-class recall on the
        fold's test split), ``protocol`` (which checkpoint was tested),
        ``fingerprint``, ``epochs``, ``classes`` and ``reused``.
    """
    return train_and_test(
        fold_config(cfg, fold, work_dir, val_holdout, select_on_test),
        work_dir, val_holdout, select_on_test=select_on_test, force=force,
        fold=fold)


def _selection_text(rule: str, epochs: int, val_holdout: float) -> str:
    if rule == 'best_on_val_holdout':
        return (f'epoch with the best UAR on a stratified '
                f'{100 * val_holdout:.0f}% of the training split (left '
                'out of training), evaluated on the test split')
    if rule == 'best_on_test':
        return (f'epoch (of {epochs}) with the best UAR on the TEST split, '
                "evaluated on it (DFER-CLIP's published rule; selected on "
                'the test set, so not a held-out number)')
    return (f'last epoch ({epochs}) of each run, evaluated on the '
            'test split; no checkpoint selection')


def run_fingerprint(cfg: Config, selection: str, val_holdout: float = 0.0,
                    **info) -> dict:
    """The fingerprint of training and testing ``cfg`` (before
    :func:`configure_training` rewrites it): config, selection rule,
    precision, world size and ``info`` (``fold``, ``seed``...)."""
    # how a run was named (a config's path, relative or not) is no part of
    # its protocol: the config's content is
    info = {k: v for k, v in info.items() if k not in RUN_LABELS}
    requested = cfg.get('precision', None)
    device = 'cuda' if torch.cuda.is_available() else 'cpu'
    precision = ('optim_wrapper as configured' if requested is None else
                 resolve_precision(requested, device))
    return make_fingerprint(cfg, selection=selection,
                            val_holdout=val_holdout, precision=precision,
                            world_size=run_world_size(cfg), **info)


def skipped_clip_counts(runner) -> Dict[str, int]:
    """Clips each split left out as bad (``on_bad_clip='skip'``)."""
    counts = {}
    for split in ('train', 'val', 'test'):
        loader = getattr(runner, f'{split}_dataloader', None)
        dataset = getattr(loader, 'dataset', None)
        if dataset is not None and not isinstance(dataset, dict):
            counts[split] = len(getattr(dataset, 'bad_clips', []) or [])
    return counts


def train_and_test(cfg: Config, work_dir: str, val_holdout: float = 0.0,
                   select_on_test: bool = False, force: bool = False,
                   **info) -> dict:
    """Trains ``cfg`` in ``work_dir`` and tests it, or returns the saved
    result of a run that finished there under the same protocol.

    The run's fingerprint (:func:`run_fingerprint`) is written into
    ``work_dir`` before training; a finished result (``RESULT_FILE``) is
    reused, and an interrupted run resumed, only under the same
    fingerprint. Otherwise this refuses, naming the keys that differ, or
    with ``force`` moves the old folder aside and starts afresh.

    Args:
        cfg: A complete config whose ``work_dir`` is ``work_dir``, its
            selection rule applied (:func:`apply_selection`).
        work_dir: Where the run and its result file live.
        val_holdout: Share of the training split ``cfg`` validates on.
        select_on_test: ``cfg`` selects its epoch on the test split.
        force: Move a folder made under another protocol aside.
        **info: Extra fields stored with the result (``fold``, ``seed``).

    Returns:
        dict: ``info``, ``metrics``, ``protocol``, ``fingerprint``,
        ``skipped_clips``, ``epochs``, ``classes`` and ``reused``.

    Raises:
        ProtocolMismatchError: the folder holds a run under another
            protocol and ``force`` is not set.
    """
    selection = ('best_on_val_holdout' if val_holdout > 0 else
                 'best_on_test' if select_on_test else 'last_epoch')
    fingerprint = run_fingerprint(cfg, selection, val_holdout, **info)
    state, moved = check_run_dir(work_dir, fingerprint, RESULT_FILE, force)
    if moved:
        print_log(f'--force: the run made under another protocol was moved '
                  f'to {moved}; {work_dir} starts afresh.', logger='current',
                  level=30)
    if state == 'reuse':
        with open(osp.join(work_dir, RESULT_FILE)) as f:
            return dict(json.load(f), reused=True)
    cfg.resume = (state == 'resume'
                  and find_latest_checkpoint(work_dir) is not None)
    # The set-up lines go to a logger of this run's own: the current one is
    # the previous fold's, whose log file they do not belong in and whose
    # duplicate filter would swallow a warning already given for that fold.
    MMLogger.get_instance(f'setup_{osp.abspath(work_dir)}_{time.time_ns()}')
    # as tools/train.py: without the memory plan a FineCLIPER* fold at the
    # paper's batch would not fit a 24 GB card
    configure_training(cfg)
    fit_loader_options(cfg)  # pin_memory/persistent_workers
    with training_lock(work_dir):  # one run per work dir, as train.py
        write_protocol_file(work_dir, fingerprint, **info)
        runner = FineCLIPRunner.from_cfg(cfg)
        runner.train()
    epochs = runner.train_loop.max_epochs
    if selection != 'last_epoch':
        runner.load_checkpoint(runner.message_hub.get_info('best_ckpt'))
    metrics = {k: float(v) for k, v in runner.test().items()
               if np.isscalar(v)}
    result = dict(info, metrics=metrics, epochs=epochs,
                  protocol=_selection_text(selection, epochs, val_holdout),
                  selection=selection, fingerprint=fingerprint,
                  skipped_clips=skipped_clip_counts(runner),
                  classes=list(runner.test_dataloader.dataset.metainfo[
                      'classes']))
    with open(osp.join(work_dir, RESULT_FILE), 'w') as f:
        json.dump(result, f, indent=2)
    return dict(result, reused=False)


#: Resolved keys that differ between the rows of a summary by design.
VARYING_KEYS = {'fold': [f'{key}.dataset.fold' for key in LOADER_KEYS],
                'seed': ['randomness.seed']}


class IncompleteResultError(UserInputError):
    """A run's result lacks a metric the others have."""


def mean_and_std(values: Sequence[float]) -> Dict[str, object]:
    """``mean``, sample ``std`` (ddof 1; ``None`` for one value: one run
    has no spread) and ``n``."""
    values = np.asarray(values, dtype=float)
    std = float(np.std(values, ddof=1)) if len(values) > 1 else None
    return dict(mean=float(np.mean(values)), std=std, n=len(values))


def summarize(results: Sequence[dict], key: str = 'fold'
              ) -> Dict[str, object]:
    """Per-run metrics with their mean and sample std, for runs made under
    one protocol.

    Args:
        results: Results of :func:`train_and_test`, one per run.
        key: The field that tells the runs apart (``fold`` or ``seed``);
            the summary lists its values under ``{key}s``.

    Returns:
        dict: ``{key}s``, ``run_key``, ``classes``, ``metrics`` (per metric
        ``per_run``, ``mean``, ``std`` (sample, ``None`` if n = 1), ``n``),
        ``protocol`` (the rule's text), ``selection``, ``fingerprint``
        (the shared protocol), ``runs`` (each run's fingerprint hash and
        skipped clips).

    Raises:
        ProtocolMismatchError: two runs were made under different
            protocols (the keys that differ are named).
        IncompleteResultError: a run lacks a metric another run has.
    """
    shared = check_same_protocol(results, key, VARYING_KEYS.get(key, ()))
    keys = ['UAR', 'WAR'] + [f'recall/{c}' for c in results[0]['classes']]
    for r in results:  # multi-branch models
        keys += [k for k in r['metrics'] if k.startswith(('UAR/', 'weight/'))
                 and k not in keys]
    table = {}
    for name in keys:
        for r in results:
            if name not in r['metrics']:
                raise IncompleteResultError(
                    f"{key} {r[key]}: its result has no '{name}' (a class "
                    'with no test clip has no recall), which the other '
                    f'runs have; averaging without it would change what '
                    'the mean is over. Fix: make every run report it, or '
                    f'summarize without {key} {r[key]}.')
        values = [r['metrics'][name] for r in results]
        table[name] = dict(per_run=values, **mean_and_std(values))
    return {f'{key}s': [r[key] for r in results], 'run_key': key,
            'classes': results[0]['classes'], 'metrics': table,
            'protocol': results[0]['protocol'],
            'selection': results[0].get('selection', 'last_epoch'),
            'fingerprint': shared,
            'runs': [dict(run=r[key], fingerprint=r['fingerprint']['hash'],
                          skipped_clips=r.get('skipped_clips'))
                     for r in results]}


def std_header(n: int) -> str:
    """The column header that says which spread a table shows."""
    return f'mean ± sample std (n={n})' if n > 1 else 'mean (n=1, no std)'


def format_mean(row: dict, scale: float = 100) -> str:
    """``mean ± std`` in %, or the mean alone where n = 1."""
    if row.get('std') is None:
        return f"{scale * row['mean']:.2f}"
    return f"{scale * row['mean']:.2f} ± {scale * row['std']:.2f}"


def selection_mark(summary: Dict[str, object]) -> str:
    """What every line of a test-selected result carries."""
    return (' [epoch selected on the TEST split]'
            if summary.get('selection') == 'best_on_test' else '')


def format_markdown(summary: Dict[str, object]) -> str:
    """Renders the summary as a Markdown table, one column per run, under
    its protocol (shared by every run) and each run's fingerprint."""
    key = summary.get('run_key', 'fold')
    runs = summary[f'{key}s']
    mark = selection_mark(summary)
    per_run = '; '.join(
        f"{key} {r['run']}: fingerprint {r['fingerprint']}" + (
            ', skipped clips ' + ', '.join(
                f'{s} {n}' for s, n in r['skipped_clips'].items())
            if r.get('skipped_clips') is not None else '')
        for r in summary['runs'])
    lines = [f"Protocol of every {key}: {summary['protocol']}.{mark}",
             f"Shared: {describe(summary['fingerprint'])}.",
             f'Per {key}: {per_run}.', '',
             '| metric | ' + ' | '.join(f'{key} {k}' for k in runs) +
             f' | {std_header(len(runs))} |',
             '|---' * (len(runs) + 2) + '|']
    for name, row in summary['metrics'].items():
        cells = ' | '.join(f'{100 * v:.2f}' for v in row['per_run'])
        lines.append(f'| {name}{mark} | {cells} | {format_mean(row)} |')
    return '\n'.join(lines) + '\n'


def per_class_recall(summary: Dict[str, object]) -> List[tuple]:
    """``(class, mean, std)`` of recall over folds, in class order (std 0
    where one fold gives no spread)."""
    metrics = summary['metrics']
    return [(c, metrics[f'recall/{c}']['mean'],
             metrics[f'recall/{c}']['std'] or 0.0)
            for c in summary['classes']]
