"""UAR, WAR, per-class recall and the confusion matrix."""
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch
from mmengine.evaluator import BaseMetric
from mmengine.logging import print_log

from fineclip.registry import METRICS


def confusion_matrix(labels: np.ndarray, preds: np.ndarray,
                     num_classes: int) -> np.ndarray:
    """``(C, C)`` counts; row = true class, column = predicted class."""
    labels, preds = np.asarray(labels), np.asarray(preds)
    for name, arr in (('label', labels), ('prediction', preds)):
        if arr.size and (arr.min() < 0 or arr.max() >= num_classes):
            raise ValueError(f'A {name} lies outside 0..{num_classes - 1}')
    flat = labels * num_classes + preds
    return np.bincount(flat, minlength=num_classes**2).reshape(
        num_classes, num_classes)


def uar_war(matrix: np.ndarray) -> Dict[str, object]:
    """UAR, WAR and per-class recall from a confusion matrix.

    UAR is the mean of the diagonal of the row-normalised matrix over the
    classes that occur; WAR is plain accuracy. A class with no samples has
    recall ``nan`` and does not count towards UAR.
    """
    support = matrix.sum(axis=1)
    with np.errstate(invalid='ignore', divide='ignore'):
        recall = np.where(support > 0, np.diag(matrix) / support, np.nan)
    total = matrix.sum()
    return dict(
        UAR=float(np.nanmean(recall)) if (support > 0).any() else 0.,
        WAR=float(np.trace(matrix) / total) if total else 0.,
        recall=recall,
        support=support)


@METRICS.register_module()
class DFERMetric(BaseMetric):
    """DFER's metrics: UAR (mean per-class recall) and WAR (accuracy).

    Returns ``UAR``, ``WAR`` and ``recall/<class>``, and for models with
    several branches ``UAR/<branch>`` (each branch's own prediction) and
    ``weight/<branch>`` (its mean fusion weight); logs a per-class table.
    The last confusion matrix stays on the metric as
    ``last_confusion_matrix`` for ``DFERResultsHook`` to save.

    Args:
        class_names (Sequence[str], optional): Defaults to the dataset's.
        collect_device (str): Where results are gathered across ranks.
        prefix (str, optional): Prefix of the metric names.
    """

    # empty, not None: the keys stay UAR, WAR, ... and MMEngine does not
    # warn at every run that no prefix is set
    default_prefix = ''

    def __init__(self, class_names: Optional[Sequence[str]] = None,
                 collect_device: str = 'cpu', prefix: Optional[str] = None):
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.class_names = tuple(class_names) if class_names else None
        self.last_confusion_matrix = None

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        # The batch's labels and weights are read back field by field, one
        # device-to-host copy each: int()/float() per clip would wait for
        # the GPU (2 + branches) times per clip.
        data_samples = list(data_samples)
        if not data_samples:
            return
        preds = _read_back([s['pred_label'] for s in data_samples], first=True)
        gts = _read_back([s['gt_label'] for s in data_samples], first=True)
        branches = data_samples[0].get('branch_pred_labels')
        weights = None
        if branches and len(branches) > 1:
            weights = _read_back([s['branch_weights'] for s in data_samples])
        for i, sample in enumerate(data_samples):
            result = dict(pred=int(preds[i]), gt=int(gts[i]))
            if weights is not None:
                result['branches'] = dict(sample['branch_pred_labels'])
                result['weights'] = [float(w) for w in weights[i]]
            self.results.append(result)

    def _names(self) -> List[str]:
        if self.class_names:
            return list(self.class_names)
        if self.dataset_meta and 'classes' in self.dataset_meta:
            return list(self.dataset_meta['classes'])
        raise ValueError('DFERMetric needs class names: from the dataset '
                         'metainfo or the class_names argument.')

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        names = self._names()
        labels = np.array([r['gt'] for r in results], dtype=np.int64)
        preds = np.array([r['pred'] for r in results], dtype=np.int64)
        matrix = confusion_matrix(labels, preds, len(names))
        stats = uar_war(matrix)
        self.last_confusion_matrix = dict(
            classes=names, matrix=matrix.tolist(), UAR=stats['UAR'],
            WAR=stats['WAR'], recall=[None if np.isnan(r) else float(r)
                                      for r in stats['recall']],
            support=stats['support'].tolist())
        print_log(format_recall_table(names, stats), logger='current')
        metrics = dict(UAR=stats['UAR'], WAR=stats['WAR'])
        for name, recall in zip(names, stats['recall']):
            if not np.isnan(recall):
                metrics[f'recall/{name}'] = float(recall)
        metrics.update(branch_metrics(results, labels, len(names)))
        return metrics


def _read_back(values: Sequence, first: bool = False) -> list:
    """Per-sample values as Python lists, in one copy to the host.

    Args:
        values: One tensor (or number) per sample, all on one device.
        first: Keep each tensor's first element (a label), not all of it.
    """
    tensors = [(v if isinstance(v, torch.Tensor) else torch.as_tensor(v))
               .reshape(-1) for v in values]
    if first:
        tensors = [t[:1] for t in tensors]
    if len({(t.device, t.numel()) for t in tensors}) > 1:
        # ragged or spread over devices: no single copy can hold them
        return [t.cpu().tolist()[0] if first else t.cpu().tolist()
                for t in tensors]
    rows = torch.stack(tensors).cpu().tolist()
    return [row[0] for row in rows] if first else rows


def branch_metrics(results: List[dict], labels: np.ndarray,
                   num_classes: int) -> Dict[str, float]:
    """UAR of each branch alone and its mean fusion weight.

    Only for multi-branch models: ``UAR/<branch>`` is the UAR of the
    branch's own prediction, ``weight/<branch>`` the mean of the weight the
    fusion gave it.
    """
    if not results or 'branches' not in results[0]:
        return {}
    metrics = {}
    for m, branch in enumerate(results[0]['branches']):
        preds = np.array([r['branches'][branch] for r in results])
        matrix = confusion_matrix(labels, preds, num_classes)
        metrics[f'UAR/{branch}'] = uar_war(matrix)['UAR']
        metrics[f'weight/{branch}'] = float(
            np.mean([r['weights'][m] for r in results]))
    return metrics


def format_recall_table(names: Sequence[str], stats: dict) -> str:
    """A plain-text per-class table for the log."""
    width = max(len(n) for n in names + ['class'])
    lines = [f"{'class':<{width}}  recall  clips"]
    for name, recall, support in zip(names, stats['recall'], stats['support']):
        shown = '   -  ' if np.isnan(recall) else f'{recall:6.4f}'
        lines.append(f'{name:<{width}}  {shown}  {support:5d}')
    lines.append(f"{'UAR':<{width}}  {stats['UAR']:6.4f}")
    lines.append(f"{'WAR':<{width}}  {stats['WAR']:6.4f}")
    return 'Per-class recall:\n' + '\n'.join(lines)
