"""K-fold cross-validation and seed repeats: one train+test run each, then
a table.

DFEW and MAFW are evaluated as the mean over their 5 official folds. Each
fold runs in its own work dir; a fold whose result file exists is not run
again, and a fold interrupted mid-training resumes from its checkpoint.
"""
import copy
import json
import os.path as osp
import time
from typing import Dict, List, Sequence

import numpy as np
from mmengine.config import Config
from mmengine.logging import MMLogger
from mmengine.runner import Runner, find_latest_checkpoint

from fineclip.datasets.loader_options import fit_loader_options
from fineclip.engine.train_setup import configure_training
from fineclip.engine.work_dir_lock import training_lock

RESULT_FILE = 'fold_result.json'
_LOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')


def fold_config(cfg: Config, fold: int, work_dir: str,
                val_holdout: float = 0.0) -> Config:
    """A copy of ``cfg`` whose datasets read ``fold``, writing to
    ``work_dir``.

    With ``val_holdout`` > 0, a stratified part of the fold's training
    split becomes the validation set (and is left out of training), and the
    checkpoint with the best validation UAR is kept; otherwise the "val"
    loop watches the test split and nothing is selected on it.
    """
    cfg = copy.deepcopy(cfg)
    for key in _LOADERS:
        dataset = cfg.get(key, {}).get('dataset', {})
        if 'fold' not in dataset:
            raise ValueError(
                f"{key}.dataset has no 'fold' key: this config's dataset has "
                'no cross-validation folds (FERV39k has one fixed split).')
        dataset['fold'] = fold
    if val_holdout > 0:
        train = cfg.train_dataloader.dataset
        train.update(holdout_fraction=val_holdout, holdout_keep='rest')
        val = copy.deepcopy(train)
        val.update(holdout_keep='held_out', test_mode=True,
                   pipeline=cfg.val_dataloader.dataset.pipeline)
        cfg.val_dataloader.dataset = val
        cfg.default_hooks.checkpoint.update(save_best='UAR', rule='greater')
    cfg.work_dir = work_dir
    cfg.experiment_name = f'fold_{fold}'
    cfg.resume = find_latest_checkpoint(work_dir) is not None
    cfg.load_from = None
    return cfg


def run_fold(cfg: Config, fold: int, work_dir: str,
             val_holdout: float = 0.0) -> dict:
    """Trains and tests one fold, or returns its saved result.

    Returns:
        dict: ``fold``, ``metrics`` (UAR, WAR, per-class recall on the
        fold's test split), ``protocol`` (which checkpoint was tested),
        ``epochs``, ``classes`` and ``reused``.
    """
    return train_and_test(fold_config(cfg, fold, work_dir, val_holdout),
                          work_dir, val_holdout, fold=fold)


def train_and_test(cfg: Config, work_dir: str, val_holdout: float = 0.0,
                   **info) -> dict:
    """Trains ``cfg`` in ``work_dir`` and tests it, or returns the saved
    result of a run that finished there (``RESULT_FILE``).

    Args:
        cfg: A complete config whose ``work_dir`` is ``work_dir``.
        work_dir: Where the run and its result file live.
        val_holdout: Share of the training split ``cfg`` validates on (0:
            the last epoch is tested; > 0: the best-UAR checkpoint).
        **info: Extra fields stored with the result (``fold``, ``seed``).

    Returns:
        dict: ``info``, ``metrics``, ``protocol``, ``epochs``, ``classes``
        and ``reused``.
    """
    result_path = osp.join(work_dir, RESULT_FILE)
    if osp.isfile(result_path):
        with open(result_path) as f:
            return dict(json.load(f), reused=True)
    # The set-up lines go to a logger of this run's own: the current one is
    # the previous fold's, whose log file they do not belong in and whose
    # duplicate filter would swallow a warning already given for that fold.
    MMLogger.get_instance(f'setup_{osp.abspath(work_dir)}_{time.time_ns()}')
    # as tools/train.py: without the memory plan a FineCLIPER* fold at the
    # paper's batch would not fit a 24 GB card
    configure_training(cfg)
    fit_loader_options(cfg)  # pin_memory/persistent_workers
    with training_lock(work_dir):  # one run per work dir, as train.py
        runner = Runner.from_cfg(cfg)
        runner.train()
    epochs = runner.train_loop.max_epochs
    protocol = (f'last epoch ({epochs}) of each run, evaluated on the '
                'test split; no checkpoint selection')
    if val_holdout > 0:
        best = runner.message_hub.get_info('best_ckpt')
        runner.load_checkpoint(best)
        protocol = (f'epoch with the best UAR on a stratified '
                    f'{100 * val_holdout:.0f}% of the training split (left '
                    'out of training), evaluated on the test split')
    metrics = {k: float(v) for k, v in runner.test().items()
               if np.isscalar(v)}
    result = dict(info, metrics=metrics, epochs=epochs, protocol=protocol,
                  classes=list(runner.test_dataloader.dataset.metainfo[
                      'classes']))
    with open(result_path, 'w') as f:
        json.dump(result, f, indent=2)
    return dict(result, reused=False)


def summarize(results: Sequence[dict], key: str = 'fold'
              ) -> Dict[str, object]:
    """Per-run metrics and their mean and (population) std.

    Args:
        results: Results of :func:`train_and_test`, one per run.
        key: The field that tells the runs apart (``fold`` or ``seed``);
            the summary lists its values under ``{key}s``.
    """
    keys = ['UAR', 'WAR'] + [f'recall/{c}' for c in results[0]['classes']]
    keys += [k for k in results[0]['metrics']
             if k.startswith(('UAR/', 'weight/'))]  # multi-branch models
    table = {}
    for name in keys:
        values = [r['metrics'].get(name, float('nan')) for r in results]
        table[name] = dict(per_run=values, mean=float(np.nanmean(values)),
                           std=float(np.nanstd(values)))
    return {f'{key}s': [r[key] for r in results], 'run_key': key,
            'classes': results[0]['classes'], 'metrics': table,
            'protocol': results[0]['protocol']}


def format_markdown(summary: Dict[str, object]) -> str:
    """Renders the summary as a Markdown table, one column per run."""
    key = summary.get('run_key', 'fold')
    runs = summary[f'{key}s']
    lines = [f"Protocol: {summary['protocol']}.", '',
             '| metric | ' + ' | '.join(f'{key} {k}' for k in runs) +
             ' | mean ± std |',
             '|---' * (len(runs) + 2) + '|']
    for name, row in summary['metrics'].items():
        cells = ' | '.join(f'{100 * v:.2f}' for v in row['per_run'])
        lines.append(f"| {name} | {cells} | {100 * row['mean']:.2f} ± "
                     f"{100 * row['std']:.2f} |")
    return '\n'.join(lines) + '\n'


def per_class_recall(summary: Dict[str, object]) -> List[tuple]:
    """``(class, mean, std)`` of recall over folds, in class order."""
    metrics = summary['metrics']
    return [(c, metrics[f'recall/{c}']['mean'], metrics[f'recall/{c}']['std'])
            for c in summary['classes']]
