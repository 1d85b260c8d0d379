"""Per-epoch random streams for data-loading workers."""
import random

import numpy as np
import torch

from fineclip.registry import FUNCTIONS


@FUNCTIONS.register_module()
def seed_worker_from_torch(worker_id: int, *args, **kwargs) -> None:
    """Seeds ``random`` and numpy in a worker from its torch seed.

    MMEngine's default worker seed does not depend on the epoch, so numpy
    augmentation would repeat the same crops and flips every epoch. Torch
    gives each worker ``base_seed + worker_id`` with a ``base_seed`` drawn
    afresh from the main process every epoch; deriving numpy's seed from it
    makes augmentation vary by epoch yet stay reproducible for a fixed seed.
    """
    seed = torch.initial_seed() % 2**32
    np.random.seed(seed)
    random.seed(seed)
