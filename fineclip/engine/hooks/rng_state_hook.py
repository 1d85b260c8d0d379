"""Random-number state that makes ``--resume`` exact."""
import random

import numpy as np
import torch
from mmengine.hooks import Hook

from fineclip.registry import HOOKS


def _capture() -> dict:
    return dict(python=random.getstate(), numpy=np.random.get_state(),
                torch=torch.get_rng_state())


def _restore(state: dict) -> None:
    random.setstate(state['python'])
    np.random.set_state(state['numpy'])
    torch.set_rng_state(state['torch'])


@HOOKS.register_module()
class RNGStateHook(Hook):
    """Saves the host RNG states in checkpoints and restores them on resume.

    MMEngine re-seeds a resumed run from the seed alone, so shuffling and
    augmentation after a resume differ from the uninterrupted run. This hook
    stores the python, numpy and torch states at each checkpoint and puts
    them back before training resumes. Validation runs with its own copy of
    the states, so whether a run validates after an epoch does not change
    the random stream of the epochs that follow.
    """

    priority = 'VERY_LOW'

    def __init__(self):
        self._resumed = None
        self._before_val = None

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        checkpoint['rng_state'] = _capture()

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        self._resumed = checkpoint.get('rng_state')

    def before_train(self, runner) -> None:
        if self._resumed is not None:
            _restore(self._resumed)
            self._resumed = None

    def before_val(self, runner) -> None:
        self._before_val = _capture()

    def after_val(self, runner) -> None:
        if self._before_val is not None:
            _restore(self._before_val)
            self._before_val = None
