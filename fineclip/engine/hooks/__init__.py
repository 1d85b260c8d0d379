"""Runner hooks."""
from .adapter_checkpoint_hook import AdapterCheckpointHook
from .class_names_hook import ClassNamesHook
from .data_root_hook import DataRootHook
from .results_hook import DFERResultsHook
from .rng_state_hook import RNGStateHook

__all__ = ['AdapterCheckpointHook', 'ClassNamesHook', 'DataRootHook',
           'DFERResultsHook', 'RNGStateHook']
