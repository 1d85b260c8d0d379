"""Two gloo ranks draw their own random augmentations, reproducibly
(tools/train.py under torchrun with the random training pipeline)."""
import json
import os

import pytest
import torch

from tests.helpers import run_torchrun, write_small_config

# Test-only parts, imported by the runs through custom_imports. The probe,
# first in the pipeline, fingerprints the random state each sample starts
# from; the recorder writes every training sample's fingerprints and
# augmentation (PackDFERInputs copies them into the data sample) to one
# file per rank, in the order the rank saw them.
PLUGIN = '''
import hashlib
import json
import os.path as osp
import pickle
import random

import numpy as np
import torch
from mmcv.transforms import BaseTransform
from mmengine.dist import get_rank
from mmengine.hooks import Hook

from fineclip.registry import HOOKS, TRANSFORMS


def _digest(state):
    return hashlib.sha1(pickle.dumps(state)).hexdigest()[:16]


@TRANSFORMS.register_module()
class ProbeRandomState(BaseTransform):

    def transform(self, results):
        results['rng_probe'] = dict(
            numpy=_digest(np.random.get_state()),
            python=_digest(random.getstate()),
            torch=_digest(torch.get_rng_state().numpy().tobytes()))
        return results


@HOOKS.register_module()
class AugmentationRecorder(Hook):

    def __init__(self, out_dir):
        self.out_dir = out_dir
        self.records = []

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None):
        for sample in data_batch['data_samples']:
            meta = sample.metainfo
            self.records.append(dict(
                epoch=runner.epoch, clip=meta['clip_id'],
                frames=[int(i) for i in meta['frame_inds']],
                flip=bool(meta['flip']),
                box=[int(v) for v in meta['crop_box']],
                **meta['rng_probe']))

    def after_run(self, runner):
        with open(osp.join(self.out_dir, f'rank{get_rank()}.json'),
                  'w') as f:
            json.dump(self.records, f)
'''

# The small run's random training pipeline, probed; one epoch without
# validation (its pipeline is not random), 4 clips per rank and batch.
RANDOM_RUN = '''
_base_ = [{base!r}]
custom_imports = dict(imports=['augmentation_probe'],
                      allow_failed_imports=False)
custom_hooks = _base_.custom_hooks + [
    dict(type='AugmentationRecorder', out_dir={out!r})]
train_dataloader = dict(
    batch_size=4, num_workers={workers},
    dataset=dict(pipeline=[dict(type='ProbeRandomState')]
                 + _base_.train_pipeline[:-1]
                 + [dict(type='PackDFERInputs',
                         meta_keys=('clip_id', 'frame_inds', 'flip',
                                    'crop_box', 'rng_probe'))]))
train_cfg = dict(max_epochs=1, val_interval=100)
'''


@pytest.mark.slow(27)
@pytest.mark.skipif(not torch.distributed.is_gloo_available(),
                    reason='torch built without gloo')
def test_ranks_draw_different_reproducible_augmentations(
        tiny_data, tmp_path, monkeypatch):
    (tmp_path / 'augmentation_probe.py').write_text(PLUGIN)
    monkeypatch.setenv('PYTHONPATH', str(tmp_path))
    small = write_small_config(tmp_path, tiny_data, max_epochs=1)

    def run(name):
        """One torchrun job: the run without and the run with dataloader
        workers, one after the other; each rank's records of both."""
        trainings, outs = [], {}
        for workers in (0, 2):
            out = outs[workers] = tmp_path / f'{name}_{workers}w'
            out.mkdir()
            config = tmp_path / f'{name}_{workers}w.py'
            config.write_text(RANDOM_RUN.format(base=small, out=str(out),
                                                workers=workers))
            trainings.append(['tools/train.py', str(config), '--work-dir',
                              str(tmp_path / f'work_{name}_{workers}w')])
        run_torchrun(*trainings)
        records = {}
        for workers, out in outs.items():
            records[workers] = []
            for rank in (0, 1):
                with open(os.path.join(out, f'rank{rank}.json')) as f:
                    records[workers].append(json.load(f))
        return records

    first = run('first')
    for workers, (rank0, rank1) in first.items():
        assert len(rank0) == len(rank1) > 0, workers
        # Sharing a stream shows in the states samples start from: the
        # first sample of each worker (of the epoch, without workers)
        # starts from the same state on both ranks. Crops alone would not
        # show it here: the clips' lengths change how many numbers frame
        # sampling takes, so the crops of a shared stream part after the
        # first sample. Without workers the pipeline runs in the main
        # process, whose torch state stays equal on all ranks on purpose
        # (model initialisation, workers' base seeds).
        streams = ['numpy', 'python'] + (['torch'] if workers else [])
        for stream in streams:
            assert not ({r[stream] for r in rank0}
                        & {r[stream] for r in rank1}), (workers, stream)
        assert [(r['flip'], r['box']) for r in rank0] != [
            (r['flip'], r['box']) for r in rank1], workers
    # one seed reproduces every rank's augmentations exactly, in a new job
    assert run('again') == first
