"""Datasets, transforms and the synthetic embedded-default data."""
from .dfew import DFEW_CLASSES, DFEWDataset, list_frames, natural_key
from .transforms import *  # noqa: F401,F403
from .worker_seeding import seed_worker_from_torch

__all__ = [
    'DFEW_CLASSES', 'DFEWDataset', 'list_frames', 'natural_key',
    'seed_worker_from_torch'
]
