"""Runner hooks."""
from .adapter_checkpoint_hook import AdapterCheckpointHook
from .class_names_hook import ClassNamesHook
from .data_root_hook import DataRootHook
from .finite_training_hook import FiniteTrainingHook, TrainingDiverged
from .results_hook import DFERResultsHook
from .rng_state_hook import RNGStateHook

__all__ = ['AdapterCheckpointHook', 'ClassNamesHook', 'DataRootHook',
           'DFERResultsHook', 'FiniteTrainingHook', 'RNGStateHook',
           'TrainingDiverged']
