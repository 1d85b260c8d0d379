"""From an unpacked dataset to a config that trains: the checklist of what
a config needs (data, weights, face maps, descriptions), the dataset
check, and the offline steps that make what is missing.

Used by ``tools/data/prepare.py``, ``tools/data/check_dataset.py`` and,
before it builds the Runner, ``tools/train.py``.
"""
from .checklist import build_checklist
from .commands import (PrepareOptions, option_tokens, parse_cfg_options,
                       train_argv)
from .dataset_check import check_dataset
from .inputs import ensure_inputs_ready, missing_inputs
from .items import Checklist, Item, format_checklist
from .steps import load_prepared_config, run_preparation, run_tool

__all__ = [
    'Checklist', 'Item', 'PrepareOptions', 'build_checklist',
    'check_dataset', 'ensure_inputs_ready', 'format_checklist',
    'load_prepared_config', 'missing_inputs', 'option_tokens',
    'parse_cfg_options', 'run_preparation', 'run_tool', 'train_argv'
]
