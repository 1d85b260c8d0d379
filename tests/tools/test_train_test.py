"""tools/train.py and tools/test.py end to end on a tiny synthetic set."""
import glob
import json
import os
import os.path as osp
import pickle
import subprocess
import sys

import numpy as np
import pytest

from fineclip.datasets.synthetic import generate_synthetic_dfew
from fineclip.evaluation import confusion_matrix, uar_war
from tests.conftest import TINY_ARCH

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(ROOT, 'configs/synthetic/fineclip_synthetic.py')


@pytest.fixture(scope='module')
def tiny_data(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('e2e') / 'synthetic_dfew')
    generate_synthetic_dfew(root, num_clips=35, seed=5, image_size=40,
                            max_frames=20, progress=False)
    return root


SMALL_RUN = """
_base_ = [{base!r}]
embedded_default = None
data_root = {data_root!r}
model = dict(
    clip=dict(arch={arch!r}, pretrained=None),
    branches=dict(video=dict(encoder=dict(num_frames=4))))
train_pipeline = [
    dict(type='SampleFrameIndices', num_frames=4),
    dict(type='DecodeFrames'),
    dict(type='GroupRandomResizedCrop', size=32, scale=(0.6, 1.0)),
    dict(type='GroupFlip'),
    dict(type='PackDFERInputs'),
]
test_pipeline = [
    dict(type='SampleFrameIndices', num_frames=4, test_mode=True),
    dict(type='DecodeFrames'),
    dict(type='GroupResize', size=32),
    dict(type='PackDFERInputs'),
]
train_dataloader = dict(batch_size=8, num_workers={workers}, dataset=dict(
    data_root=data_root, pipeline=train_pipeline))
val_dataloader = dict(batch_size=8, num_workers={workers}, dataset=dict(
    data_root=data_root, pipeline=test_pipeline))
test_dataloader = val_dataloader
train_cfg = dict(max_epochs={max_epochs}, val_interval=1)
param_scheduler = [dict(type='CosineAnnealingLR', T_max={max_epochs},
                        by_epoch=True, begin=0, end={max_epochs})]
default_hooks = dict(logger=dict(interval=1))
"""


def write_small_config(folder, data_root, max_epochs=2, workers=0) -> str:
    """A config inheriting the embedded default, shrunk to seconds."""
    path = osp.join(str(folder), f'small_{max_epochs}e_{workers}w.py')
    with open(path, 'w') as f:
        f.write(SMALL_RUN.format(base=CONFIG, data_root=data_root,
                                 arch=TINY_ARCH, max_epochs=max_epochs,
                                 workers=workers))
    return path


def run_tool(args, cwd=ROOT):
    """Runs ``python tools/...`` from the repository (or ``cwd``)."""
    env = dict(os.environ, HF_HUB_OFFLINE='1', PYTHONUNBUFFERED='1')
    args = [osp.join(ROOT, args[0])] + args[1:]
    proc = subprocess.run([sys.executable] + args, cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout + proc.stderr


def test_train_then_test_with_dump(tiny_data, tmp_path):
    work_dir = str(tmp_path / 'work')
    config = write_small_config(tmp_path, tiny_data)
    run_tool(['tools/train.py', config, '--work-dir', work_dir])
    checkpoint = osp.join(work_dir, 'epoch_2.pth')
    assert osp.isfile(checkpoint)
    train_json = sorted(glob.glob(
        osp.join(work_dir, '*', 'confusion_matrix', 'val_epoch_2.json')))[-1]
    assert osp.isfile(train_json.replace('.json', '.png'))

    dump = str(tmp_path / 'preds.pkl')
    log = run_tool(['tools/test.py', config, checkpoint, '--work-dir',
                    work_dir, '--dump', dump])
    assert 'UAR' in log and 'WAR' in log
    test_json = sorted(glob.glob(
        osp.join(work_dir, '*', 'confusion_matrix', 'test.json')))[-1]
    with open(train_json) as f:
        at_train = json.load(f)
    with open(test_json) as f:
        at_test = json.load(f)
    # the saved checkpoint reproduces the last evaluation of training
    assert at_test['matrix'] == at_train['matrix']

    with open(dump, 'rb') as f:
        samples = pickle.load(f)
    assert {'pred_score', 'pred_label', 'gt_label'} <= set(samples[0])
    labels = np.array([int(s['gt_label'][0]) for s in samples])
    preds = np.array([int(s['pred_label'][0]) for s in samples])
    scores = np.stack([np.asarray(s['pred_score']) for s in samples])
    assert np.allclose(scores.sum(1), 1, atol=1e-4)
    assert (scores.argmax(1) == preds).all()
    stats = uar_war(confusion_matrix(labels, preds, 7))
    assert stats['UAR'] == pytest.approx(at_test['UAR'])
    assert stats['WAR'] == pytest.approx(at_test['WAR'])


def test_missing_data_root_is_a_clear_error(tmp_path):
    env = dict(os.environ, HF_HUB_OFFLINE='1')
    config = write_small_config(tmp_path, str(tmp_path / 'no_data'))
    proc = subprocess.run(
        [sys.executable, 'tools/train.py', config, '--work-dir',
         str(tmp_path / 'w')],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode != 0
    assert 'data_root' in proc.stderr and 'no_data' in proc.stderr
