"""Augmentation streams differ by rank, worker and epoch and repeat for a
fixed seed (fineclip/datasets/worker_seeding.py), in one process."""
import random

import mmengine.dataset.sampler as mmengine_sampler
import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader, Dataset

from fineclip.datasets import (RankSeededSampler, main_process_seed,
                               seed_worker_from_torch, worker_seed)


def test_worker_seeds_are_distinct_per_rank_and_worker_and_repeat():
    seeds = {(rank, worker): worker_seed(1234, worker, 3, rank)
             for rank in range(4) for worker in range(3)}
    assert len(set(seeds.values())) == len(seeds)
    assert seeds == {(rank, worker): worker_seed(1234, worker, 3, rank)
                     for rank in range(4) for worker in range(3)}
    # rank 0 keeps the seed torch gives a worker: one-process runs unchanged
    assert [seeds[0, w] for w in range(3)] == [1234, 1235, 1236]


def test_main_process_seeds_are_distinct_per_rank_and_epoch_and_repeat():
    seeds = {(rank, epoch): main_process_seed(7, epoch, rank)
             for rank in range(4) for epoch in range(5)}
    assert len(set(seeds.values())) == len(seeds)
    assert all(0 <= s < 2**32 for s in seeds.values())
    assert main_process_seed(7, 2, 1) == seeds[1, 2]
    assert main_process_seed(8, 2, 1) != seeds[1, 2]


class Draws(Dataset):
    """Each item: what numpy, random and torch draw in the worker."""

    def __len__(self):
        return 4

    def __getitem__(self, index):
        info = torch.utils.data.get_worker_info()
        return dict(worker=info.id, torch_seed=torch.initial_seed(),
                    numpy=int(np.random.randint(2**31)),
                    python=random.getrandbits(31),
                    torch=int(torch.randint(2**31, ()).item()))


def _epochs(rank, monkeypatch, seed=0, epochs=2):
    """Items of ``epochs`` passes of a 2-worker loader on ``rank``."""
    # spawned workers read the rank from RANK; forked ones (here) too, as
    # no process group is initialised in the test process
    monkeypatch.setenv('RANK', str(rank))
    torch.manual_seed(seed)
    loader = DataLoader(Draws(), batch_size=None, num_workers=2,
                        worker_init_fn=seed_worker_from_torch,
                        multiprocessing_context='fork')
    return [list(loader) for _ in range(epochs)]


def _values(items, stream):
    return {item[stream] for item in items}


@pytest.mark.skipif(torch.distributed.is_initialized(),
                    reason='needs the rank from RANK')
def test_worker_streams_differ_by_rank_worker_and_epoch(monkeypatch):
    rank0 = _epochs(0, monkeypatch)
    rank1 = _epochs(1, monkeypatch)
    for stream in ('numpy', 'python', 'torch'):
        # the same epoch on the two ranks and two epochs on one rank
        assert not _values(rank0[0], stream) & _values(rank1[0], stream)
        assert not _values(rank0[0], stream) & _values(rank0[1], stream)
        # the two workers of one rank: items 0, 2 and 1, 3
        first, second = rank1[0][0::2], rank1[0][1::2]
        assert {i['worker'] for i in first} != {i['worker'] for i in second}
        assert not _values(first, stream) & _values(second, stream)
    # a fixed seed repeats every rank's streams
    assert _epochs(0, monkeypatch) == rank0
    assert _epochs(1, monkeypatch) == rank1
    # rank 0 draws as before ranks were seeded: numpy and random from the
    # torch seed the worker was given
    for item in (rank0[0][0], rank0[0][1]):
        seed = item['torch_seed'] % 2**32
        assert item['numpy'] == np.random.RandomState(seed).randint(2**31)
        assert item['python'] == random.Random(seed).getrandbits(31)


def _sampler(monkeypatch, rank, world_size, epoch=0):
    monkeypatch.setattr(mmengine_sampler, 'get_dist_info',
                        lambda: (rank, world_size))
    sampler = RankSeededSampler(list(range(8)), shuffle=True, seed=3)
    sampler.set_epoch(epoch)
    return sampler


def _state_after_iter(sampler):
    np.random.seed(99)
    random.seed(99)
    indices = list(iter(sampler))
    return indices, np.random.randint(2**31), random.getrandbits(31)


def test_sampler_seeds_main_process_per_rank_and_epoch(monkeypatch):
    indices, numpy0, python0 = _state_after_iter(_sampler(monkeypatch, 0, 2))
    _, numpy1, python1 = _state_after_iter(_sampler(monkeypatch, 1, 2))
    _, numpy_e1, _ = _state_after_iter(_sampler(monkeypatch, 0, 2, epoch=1))
    assert len({numpy0, numpy1, numpy_e1}) == 3 and python0 != python1
    expected = main_process_seed(3, 0, 0)
    assert numpy0 == np.random.RandomState(expected).randint(2**31)
    assert python0 == random.Random(expected).getrandbits(31)
    # one seed, one epoch: the same state again, whatever came before
    assert _state_after_iter(_sampler(monkeypatch, 0, 2)) == (
        indices, numpy0, python0)
    # torch (model initialisation, workers' base seeds) is left alone
    torch.manual_seed(5)
    before = torch.get_rng_state()
    list(iter(_sampler(monkeypatch, 1, 2)))
    assert torch.equal(torch.get_rng_state(), before)


def test_sampler_leaves_one_process_runs_as_they_were(monkeypatch):
    sampler = _sampler(monkeypatch, 0, 1)
    indices, numpy_draw, python_draw = _state_after_iter(sampler)
    assert numpy_draw == np.random.RandomState(99).randint(2**31)
    assert python_draw == random.Random(99).getrandbits(31)
    plain = mmengine_sampler.DefaultSampler(list(range(8)), shuffle=True,
                                            seed=3)
    assert indices == list(iter(plain))
