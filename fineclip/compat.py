"""What MMEngine 0.10 needs to run on current PyTorch, in one place.

Since torch 2.6, ``torch.load`` defaults to ``weights_only=True``: it only
rebuilds tensors, containers and an allow-list of types. MMEngine 0.10.7 calls
``torch.load`` without that argument, and its checkpoints hold two kinds of
objects outside the list:

* the ``MessageHub`` state: ``HistoryBuffer`` objects holding numpy arrays;
* ``HistoryBuffer.__getstate__`` also pickles its statistics methods, which
  pickle as ``getattr(HistoryBuffer, 'mean')`` and would need ``getattr`` on
  the allow-list, a door to far more than buffers.

So instead of turning pickle loading back on for every file, we allow exactly
the buffer class and the numpy types that carry its arrays, and we stop
writing the default statistics methods (``__setstate__`` re-installs them
anyway). Anything else in a checkpoint is still refused by ``torch.load``.
"""
import numpy as np
import torch

_APPLIED = False


def _numpy_safe_types():
    """Returns the numpy callables and classes that pickled arrays use."""
    multiarray = getattr(np, '_core', None)
    multiarray = multiarray.multiarray if multiarray else np.core.multiarray
    dtype_classes = [
        getattr(np.dtypes, name) for name in dir(np.dtypes) if
        name.endswith('DType') and isinstance(getattr(np.dtypes, name), type)
    ]
    return [multiarray._reconstruct, multiarray.scalar, np.ndarray, np.dtype
            ] + dtype_classes


def _history_buffer_getstate(self):
    """``HistoryBuffer`` state without the default statistics methods.

    The defaults are re-registered by ``HistoryBuffer.__setstate__``; only
    methods a user registered at run time still travel with the buffer.
    """
    state = dict(self.__dict__)
    state.pop('statistics_methods', None)
    custom = {
        name: method
        for name, method in self._statistics_methods.items()
        if getattr(type(self), name, None) is not method
    }
    if custom:
        state['statistics_methods'] = custom
    return state


def apply_mmengine_compat():
    """Makes MMEngine checkpoints load with ``weights_only=True``.

    Idempotent; called when ``fineclip`` is imported, so ``resume`` and
    ``load_from`` work in every tool without further setup.
    """
    global _APPLIED
    if _APPLIED:
        return
    from mmengine.logging.history_buffer import HistoryBuffer

    HistoryBuffer.__getstate__ = _history_buffer_getstate
    torch.serialization.add_safe_globals([HistoryBuffer] + _numpy_safe_types())
    _APPLIED = True
