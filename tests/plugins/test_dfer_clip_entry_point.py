"""DFER-CLIP trains and tests through tools/train.py and tools/test.py."""
import glob
import json
import os.path as osp

import pytest

from tests.helpers import ROOT, TINY_ARCH, run_tool_main

SMALL_DFER_CLIP = """
_base_ = [{base!r}]
embedded_default = None
data_root = {data_root!r}
model = dict(
    clip=dict(arch={arch!r}, pretrained=None),
    branches=dict(video=dict(temporal=dict(num_frames=4, head_width=8,
                                           mlp_width=128))))
train_pipeline = [
    dict(type='SampleFrameIndices', num_frames=4),
    dict(type='DecodeFrames'),
    dict(type='GroupResize', size=32),
    dict(type='PackDFERInputs'),
]
test_pipeline = [
    dict(type='SampleFrameIndices', num_frames=4, test_mode=True),
    dict(type='DecodeFrames'),
    dict(type='GroupResize', size=32),
    dict(type='PackDFERInputs'),
]
train_dataloader = dict(batch_size=8, num_workers=0, dataset=dict(
    data_root=data_root, pipeline=train_pipeline))
val_dataloader = dict(batch_size=8, num_workers=0, dataset=dict(
    data_root=data_root, pipeline=test_pipeline))
test_dataloader = val_dataloader
train_cfg = dict(max_epochs=1, val_interval=1)
default_hooks = dict(logger=dict(interval=1))
"""


@pytest.fixture(scope='module')
def small_config(tmp_path_factory, tiny_data):
    # the session's read-only set: runs write only to their work dirs
    folder = tmp_path_factory.mktemp('dfer_clip')
    data_root = tiny_data
    path = folder / 'dfer_clip_small.py'
    path.write_text(SMALL_DFER_CLIP.format(
        base=osp.join(ROOT, 'configs/plugins/dfer_clip_synthetic.py'),
        data_root=data_root, arch=TINY_ARCH))
    return str(path)


def test_dfer_clip_trains_and_tests_like_fineclip(small_config, tmp_path):
    work_dir = str(tmp_path / 'work')
    run_tool_main('tools/train.py', [small_config, '--work-dir', work_dir])
    checkpoint = osp.join(work_dir, 'epoch_1.pth')
    log = run_tool_main('tools/test.py', [small_config, checkpoint,
                                          '--work-dir', work_dir])
    # The same metric output as FineCLIPER's: UAR, WAR, per-class recall
    # and a confusion matrix file.
    for key in ('UAR: ', 'WAR: ', 'recall/Happy: ', 'recall/Fear: '):
        assert 'Epoch(test) [1/1]' in log and key in log, key
    matrix_file = sorted(glob.glob(
        osp.join(work_dir, '*', 'confusion_matrix', 'test.json')))[-1]
    with open(matrix_file) as f:
        result = json.load(f)
    assert {'UAR', 'WAR', 'matrix'} <= set(result)
    assert len(result['matrix']) == 7
