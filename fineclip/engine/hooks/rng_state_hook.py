"""Random-number state that makes ``--resume`` exact."""
import logging
import random

import numpy as np
import torch
from mmengine.hooks import Hook
from mmengine.logging import print_log

from fineclip.registry import HOOKS


def _cuda_in_use() -> bool:
    """True when this process has started CUDA: only then do its CUDA
    generators hold a state worth keeping (asking earlier would create a
    context on every visible GPU)."""
    return torch.cuda.is_available() and torch.cuda.is_initialized()


def _capture() -> dict:
    state = dict(python=random.getstate(), numpy=np.random.get_state(),
                 torch=torch.get_rng_state())
    if _cuda_in_use():
        # one ByteTensor (seed and Philox offset) per visible device:
        # dropout, random masks and any torch.rand* on the GPU draw here
        state['cuda'] = torch.cuda.get_rng_state_all()
    return state


def _restore(state: dict) -> None:
    random.setstate(state['python'])
    np.random.set_state(state['numpy'])
    torch.set_rng_state(state['torch'])
    saved = state.get('cuda')
    if saved is None or not torch.cuda.is_available():
        if saved is not None:
            print_log('RNGStateHook: the checkpoint holds CUDA generator '
                      'states but CUDA is not available; only the host '
                      'generators are restored.', logger='current',
                      level=logging.WARNING)
        return
    count = torch.cuda.device_count()
    if len(saved) != count:
        print_log(f'RNGStateHook: the checkpoint holds {len(saved)} CUDA '
                  f'generator states and this process sees {count} GPUs; '
                  f'the first {min(len(saved), count)} are restored.',
                  logger='current', level=logging.WARNING)
    torch.cuda.set_rng_state_all(list(saved)[:count])


@HOOKS.register_module()
class RNGStateHook(Hook):
    """Saves the host RNG states in checkpoints and restores them on resume.

    MMEngine re-seeds a resumed run from the seed alone, so shuffling and
    augmentation after a resume differ from the uninterrupted run. This hook
    stores the python, numpy and torch (CPU) states at each checkpoint, and
    the CUDA generators' states (``torch.cuda.get_rng_state_all``, one per
    visible device) once the process uses CUDA, and puts them back before
    training resumes. In a distributed run the checkpoint is rank 0's, so
    every rank resumes with rank 0's states (the sampler's order depends
    on the seed and epoch only, not on these states). Validation runs with
    its own copy of the states, so whether a run validates after an epoch
    does not change the random stream of the epochs that follow.
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
