"""The zero-shot protocol of the paper's Tab 3 as one function.

A caption-trained source model is tested on target datasets with their own
class prompts, beside untrained baselines (plain CLIP) tested on the same
targets; the result is one table, a row per model, a column per target.
"""
import json
import os.path as osp
from typing import Dict, List, Optional, Sequence

import numpy as np
from mmengine.config import Config
from mmengine.runner import Runner, find_latest_checkpoint

from fineclip.datasets.loader_options import fit_loader_options
from .cross_validation import train_and_test
from .embedded_default import prepare_embedded_default

RESULT_FILE = 'zero_shot.json'


def target_name(cfg: Config) -> str:
    """What a config tests on: dataset type and data root."""
    dataset = cfg.test_dataloader.dataset
    name = dataset.type.replace('Dataset', '')
    return f"{name} ({dataset.get('data_root', '?')})"


def test_config(cfg: Config, work_dir: str,
                checkpoint: Optional[str]) -> Dict[str, float]:
    """Tests ``cfg`` (with ``checkpoint`` loaded, if given): UAR, WAR, ..."""
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
    runner = Runner.from_cfg(cfg)
    return {k: float(v) for k, v in runner.test().items() if np.isscalar(v)}


def source_checkpoint(cfg: Config, work_dir: str) -> str:
    """Trains the source config in ``work_dir`` (or reuses the finished
    run) and returns its last checkpoint."""
    name = cfg.filename
    cfg = Config(cfg.to_dict())
    cfg.work_dir = work_dir
    cfg.resume = find_latest_checkpoint(work_dir) is not None
    prepare_embedded_default(cfg)
    result = train_and_test(cfg, work_dir, source=name)
    checkpoint = osp.join(work_dir, f"epoch_{result['epochs']}.pth")
    if not osp.isfile(checkpoint):
        raise FileNotFoundError(f'Source run finished without {checkpoint}')
    return checkpoint


def zero_shot_table(source: Config, targets: Sequence[Config],
                    baselines: Sequence[Config], work_dir: str,
                    checkpoint: Optional[str] = None) -> dict:
    """Runs the protocol and writes ``work_dir/zero_shot.{json,md}``.

    Args:
        source: The caption-trained config (``ZeroShotFineCLIPER``).
        targets: Configs testing the source model on target datasets.
        baselines: Untrained configs (``test_without_checkpoint``).
        work_dir: Where the source trains and every test writes its logs.
        checkpoint: A trained source checkpoint; ``None`` trains one.

    Returns:
        dict: ``rows`` (``{model: {target: metrics}}``), ``columns`` (the
        targets in order), ``checkpoint`` and ``markdown``.
    """
    if checkpoint is None:
        checkpoint = source_checkpoint(source, osp.join(work_dir, 'source'))
    runs = [('CLIP (no training)', cfg, None) for cfg in baselines]
    trained = f'{osp.basename(source.filename)[:-3]} (caption-trained)'
    runs += [(trained, cfg, checkpoint) for cfg in targets]
    rows: Dict[str, Dict[str, dict]] = {}
    columns: List[str] = []
    for i, (row, cfg, ckpt) in enumerate(runs):
        column = target_name(cfg)
        if column not in columns:
            columns.append(column)
        metrics = test_config(cfg, osp.join(work_dir, f'test_{i}'), ckpt)
        rows.setdefault(row, {})[column] = metrics
    result = dict(rows=rows, columns=columns, checkpoint=checkpoint)
    result['markdown'] = format_table(result)
    with open(osp.join(work_dir, RESULT_FILE), 'w') as f:
        json.dump(result, f, indent=2)
    with open(osp.join(work_dir, 'zero_shot.md'), 'w') as f:
        f.write(result['markdown'])
    return result


def format_table(result: dict) -> str:
    """Markdown: a row per model, UAR/WAR (%) per target, with chance."""
    columns = result['columns']
    lines = ['| model | ' + ' | '.join(f'{c} UAR / WAR' for c in columns)
             + ' |', '|---' * (len(columns) + 1) + '|']
    for row, cells in result['rows'].items():
        values = []
        for column in columns:
            m = cells.get(column)
            values.append('-' if m is None else
                          f"{100 * m['UAR']:.2f} / {100 * m['WAR']:.2f}")
        lines.append(f'| {row} | ' + ' | '.join(values) + ' |')
    chance = []
    for column in columns:
        num = {len([k for k in m if k.startswith('recall/')])
               for cells in result['rows'].values()
               for c, m in cells.items() if c == column}
        chance.append(' / '.join(f'{100 / n:.2f}' for n in sorted(num)))
    lines.append('| chance (UAR) | ' + ' | '.join(chance) + ' |')
    return '\n'.join(lines) + '\n'
