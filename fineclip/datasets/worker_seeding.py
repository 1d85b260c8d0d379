"""Random streams for data augmentation: one per rank, worker and epoch.

Augmentation draws from the global numpy (and ``random``) state of the
process that runs the pipeline: a data-loading worker, or the main process
when ``num_workers=0``. MMEngine seeds the main process of every rank with
the same synced seed (``randomness.diff_rank_seed=False``), and torch draws
each epoch's worker base seed from that state, so without the rank in the
seed all ranks would crop and flip their i-th samples alike. The main
process's torch state is left alone: it must stay equal on all ranks (model
initialisation, the per-epoch base seeds) for runs to be reproducible and
resumable from rank 0's saved RNG state.
"""
import os
import random

import numpy as np
import torch
from mmengine.dataset import DefaultSampler

from fineclip.registry import DATA_SAMPLERS, FUNCTIONS


def _rank() -> int:
    """The global rank, also inside a data-loading worker.

    A forked worker inherits the initialised process group; a spawned one
    does not, but inherits ``RANK``, which torchrun and MMEngine's slurm and
    mpi launchers set (so a run started by torchrun with ``--launcher
    none`` seeds its workers by torchrun's rank too).
    """
    dist = torch.distributed
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank()
    return int(os.environ.get('RANK', 0))


def worker_seed(base_seed: int, worker_id: int, num_workers: int,
                rank: int) -> int:
    """The seed of worker ``worker_id`` of ``rank`` for one epoch.

    ``base_seed + num_workers * rank + worker_id``: distinct for every
    (rank, worker) pair of an epoch, MMEngine's default layout. It stays
    ``base_seed + worker_id`` on rank 0, the seed torch itself gives a
    worker, so single-process runs draw what they drew before ranks were
    taken into account.

    Args:
        base_seed (int): The loader's base seed for this epoch, drawn by
            torch from the main process's (rank-synced) torch state.
        worker_id (int): The worker, in ``[0, num_workers)``.
        num_workers (int): Workers per rank.
        rank (int): Global rank of the process that owns the loader.

    Returns:
        int: The worker's seed (may exceed 32 bits).
    """
    return base_seed + num_workers * rank + worker_id


@FUNCTIONS.register_module()
def seed_worker_from_torch(worker_id: int, *args, **kwargs) -> None:
    """Seeds a worker's numpy, ``random`` and torch by epoch, rank, worker.

    MMEngine's default worker seed does not depend on the epoch, so numpy
    augmentation would repeat the same crops and flips every epoch. Torch
    gives each worker ``base_seed + worker_id`` with a ``base_seed`` drawn
    afresh from the main process every epoch; adding the rank's offset
    (``worker_seed``) makes augmentation vary by epoch, rank and worker yet
    stay reproducible for a fixed seed, resumed runs included (the base
    seeds come from the torch state the RNG state hook restores).

    Args:
        worker_id (int): Index of this worker, as the DataLoader passes it.
    """
    info = torch.utils.data.get_worker_info()
    num_workers = info.num_workers if info is not None else 1
    rank = _rank()
    base_seed = torch.initial_seed() - worker_id
    seed = worker_seed(base_seed, worker_id, num_workers, rank)
    if rank:  # rank 0 keeps the torch seed it was given
        torch.manual_seed(seed)
    np.random.seed(seed % 2**32)
    random.seed(seed % 2**32)


def main_process_seed(seed: int, epoch: int, rank: int) -> int:
    """A 32-bit seed for a rank's main-process augmentation in one epoch.

    Mixed by ``np.random.SeedSequence`` so that nearby seeds, epochs and
    ranks give unrelated streams.

    Args:
        seed (int): The run's seed, equal on all ranks.
        epoch (int): The epoch about to be sampled.
        rank (int): Global rank.

    Returns:
        int: The seed, in ``[0, 2**32)``.
    """
    entropy = [seed % 2**64, epoch, rank]
    return int(np.random.SeedSequence(entropy).generate_state(1)[0])


@DATA_SAMPLERS.register_module()
class RankSeededSampler(DefaultSampler):
    """``DefaultSampler`` that also seeds each rank's main-process streams.

    When there is more than one rank, every epoch starts by seeding the
    main process's numpy and ``random`` from ``main_process_seed(seed,
    epoch, rank)``. With ``num_workers=0`` the pipeline runs in the main
    process, whose numpy state is the same on every rank, so ranks would
    share one augmentation stream, and no ``worker_init_fn`` runs to
    separate them; the sampler is the part of the loader that runs in the
    main process at the start of each epoch and knows seed, epoch and rank.
    The stream then depends only on values a resumed run restores, not on
    the RNG state (rank 0's) that checkpoints hold. One-process runs are
    left as they were. With workers the reseed is harmless: the main
    process then draws no augmentation and ``seed_worker_from_torch`` seeds
    the workers. Shuffling is ``DefaultSampler``'s, from its own generator.
    """

    def __iter__(self):
        if self.world_size > 1:
            seed = main_process_seed(self.seed, self.epoch, self.rank)
            np.random.seed(seed)
            random.seed(seed)
        return super().__iter__()
