"""Datasets, transforms and the synthetic embedded-default data."""
from .base import DFERBaseDataset, list_frames, natural_key
from .dfew import DFEW_CLASSES, DFEWDataset
from .ferv39k import FERV39K_CLASSES, FERV39kDataset
from .list_dataset import DFERListDataset
from .mafw import MAFW_CLASSES, MAFWDataset
from .transforms import *  # noqa: F401,F403
from .worker_seeding import (RankSeededSampler, main_process_seed,
                             seed_worker_from_torch, worker_seed)

__all__ = [
    'DFERBaseDataset', 'DFERListDataset', 'DFEW_CLASSES', 'DFEWDataset',
    'FERV39K_CLASSES', 'FERV39kDataset', 'MAFW_CLASSES', 'MAFWDataset',
    'RankSeededSampler', 'list_frames', 'main_process_seed', 'natural_key',
    'seed_worker_from_torch', 'worker_seed'
]
