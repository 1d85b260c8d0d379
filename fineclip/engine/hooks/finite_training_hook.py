"""Stops a diverging run before it writes a checkpoint of NaN weights."""
import math

import torch
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from fineclip.registry import HOOKS
from fineclip.utils.errors import UserInputError


class TrainingDiverged(UserInputError):
    """The loss or the weights became NaN or infinite (most often a
    learning rate too high for the batch); the run stopped unsaved."""


def _scalars(outputs) -> dict:
    if not isinstance(outputs, dict):
        return {}
    found = {}
    for name, value in outputs.items():
        if torch.is_tensor(value) and value.numel() == 1:
            found[name] = float(value.detach().float().cpu())
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            found[name] = float(value)
    return found


def _learning_rates(runner) -> str:
    try:
        rates = runner.optim_wrapper.get_lr()
    except Exception:  # an optimiser wrapper without get_lr: say nothing
        return 'unknown'
    values = sorted({v for group in rates.values() for v in group})
    return ', '.join(f'{v:.4g}' for v in values) or 'unknown'


@HOOKS.register_module()
class FiniteTrainingHook(Hook):
    """Ends training at the first non-finite loss, and refuses to save a
    checkpoint whose weights are not finite.

    MMEngine goes on training after ``loss: nan`` and saves the NaN weights
    at the end of the epoch, over the run's good checkpoint of the same
    name and as the new ``last_checkpoint``. Here the iteration's loss
    terms are checked after each step (before the checkpoint hook, which
    runs later at ``VERY_LOW``), and every checkpoint's weights before it
    is written (a step with a finite loss can still make the weights NaN).
    Both raise :class:`TrainingDiverged` naming the epoch and iteration,
    the loss terms and the learning rate; nothing is written.
    """

    priority = 'ABOVE_NORMAL'

    def after_train_iter(self, runner, batch_idx: int, data_batch=None,
                         outputs=None) -> None:
        terms = _scalars(outputs)
        if all(math.isfinite(v) for v in terms.values()):
            return
        listed = ', '.join(f'{k}={v:.4g}' for k, v in terms.items())
        raise TrainingDiverged(
            f'Training diverged at epoch {runner.epoch + 1}, iteration '
            f'{batch_idx + 1} of the epoch ({runner.iter + 1} overall): '
            f'{listed}; learning rate {_learning_rates(runner)}. Stopped '
            f'before saving: the checkpoints in {runner.work_dir} are as '
            'they were. Lower optim_wrapper.optimizer.lr (or check the '
            'data of this batch) and train again.')

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        model = runner.model.module if is_model_wrapper(runner.model) \
            else runner.model
        bad = [name for name, p in model.named_parameters()
               if p.requires_grad and p.is_floating_point()
               and not torch.isfinite(p).all()]
        if not bad:
            return
        shown = ', '.join(bad[:5]) + (f' and {len(bad) - 5} more'
                                      if len(bad) > 5 else '')
        raise TrainingDiverged(
            f'Training diverged by epoch {runner.epoch + 1} ({runner.iter} '
            f'iterations): {len(bad)} tuned weight tensors hold NaN or '
            f'infinite values ({shown}); learning rate '
            f'{_learning_rates(runner)}. The checkpoint was not saved: '
            f'the ones in {runner.work_dir} are as they were. Lower '
            'optim_wrapper.optimizer.lr and train again.')
