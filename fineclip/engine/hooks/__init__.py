"""Runner hooks."""
from .class_names_hook import ClassNamesHook
from .results_hook import DFERResultsHook
from .rng_state_hook import RNGStateHook

__all__ = ['ClassNamesHook', 'DFERResultsHook', 'RNGStateHook']
