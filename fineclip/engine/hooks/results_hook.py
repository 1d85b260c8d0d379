"""Saves each evaluation's confusion matrix as JSON and PNG."""
import json
import os
import os.path as osp

from mmengine.dist import is_main_process
from mmengine.hooks import Hook

from fineclip.registry import HOOKS
from fineclip.visualization import plot_confusion_matrix


@HOOKS.register_module()
class DFERResultsHook(Hook):
    """Writes ``confusion_matrix/{val_epoch_N,test}.{json,png}`` in the run's
    log folder (``work_dir/<timestamp>/``) after every evaluation.

    It reads ``last_confusion_matrix`` from the evaluator's metrics
    (``DFERMetric``), so no result is computed twice.

    Args:
        plot (bool): Also draw the PNG.
    """

    priority = 'LOW'

    def __init__(self, plot: bool = True):
        self.plot = plot

    def after_val_epoch(self, runner, metrics=None) -> None:
        self._save(runner, runner.val_evaluator, f'val_epoch_{runner.epoch}')

    def after_test_epoch(self, runner, metrics=None) -> None:
        self._save(runner, runner.test_evaluator, 'test')

    def _save(self, runner, evaluator, tag: str) -> None:
        if not is_main_process():
            return
        out_dir = osp.join(runner.log_dir, 'confusion_matrix')
        for metric in evaluator.metrics:
            result = getattr(metric, 'last_confusion_matrix', None)
            if not result:
                continue
            os.makedirs(out_dir, exist_ok=True)
            base = osp.join(out_dir, tag)
            with open(base + '.json', 'w') as f:
                json.dump(result, f, indent=2)
            if self.plot:
                plot_confusion_matrix(
                    result['matrix'], result['classes'], base + '.png',
                    title=f"{tag}: UAR {result['UAR']:.4f}  "
                    f"WAR {result['WAR']:.4f}")
            saved = f'{base}.json' + (f' and {base}.png' if self.plot
                                       else '')
            runner.logger.info(f'Confusion matrix saved to {saved}')
