"""EmoCLIP trains on captions and tests zero-shot through tools/train.py and
tools/test.py, with the synthetic configs at tiny shapes."""
import os.path as osp

import pytest

from tests.helpers import ROOT, TINY_ARCH, run_tool_main

# What both small configs change in the shipped ones: no embedded default,
# a random tiny CLIP and a small temporal model.
TINY = """
_base_ = [{base!r}]
embedded_default = None
model = dict(
    clip=dict(arch={arch!r}, pretrained=None),
    branches=dict(video=dict(temporal=dict(heads=4, head_width=16,
                                           mlp_width=64))))
"""

SMALL = TINY + """
train_pipeline = [
    dict(type='EmoCLIPSampleFrames', clip_len=4, downsample=2),
    dict(type='DecodeFrames'),
    dict(type='GroupResize', size=32),
    dict(type='GroupRotate', max_degrees=6),
    dict(type='GroupFlip', flip_ratio=0.5),
    dict(type='TokenizeDescription', context_length={context},
         key='caption'),
    dict(type='PackDFERInputs'),
]
test_pipeline = [
    dict(type='EmoCLIPSampleFrames', clip_len=4, downsample=2,
         test_mode=True),
    dict(type='DecodeFrames'),
    dict(type='GroupResize', size=32),
    dict(type='PackDFERInputs'),
]
train_dataloader = dict(batch_size=8, num_workers=0, dataset=dict(
    data_root={mafw!r}, source='frames', pipeline=train_pipeline))
val_dataloader = dict(batch_size=8, num_workers=0, dataset=dict(
    data_root={mafw!r}, source='frames', pipeline=test_pipeline))
test_dataloader = val_dataloader
train_cfg = dict(max_epochs=1, val_interval=1)
default_hooks = dict(logger=dict(interval=1))
"""

TARGET = TINY + """
test_dataloader = dict(batch_size=8, num_workers=0, dataset=dict(
    data_root={dfew!r},
    pipeline=[dict(type='EmoCLIPSampleFrames', clip_len=4, downsample=4,
                   test_mode=True),
              dict(type='DecodeFrames'),
              dict(type='GroupResize', size=32),
              dict(type='PackDFERInputs')]))
"""


@pytest.fixture(scope='module')
def configs(tmp_path_factory, tiny_data):
    """A small MAFW-layout set with captions, the synthetic source config on
    it, and the DFEW zero-shot target on the session's tiny DFEW set."""
    from fineclip.datasets.synthetic import generate_synthetic_mafw
    folder = tmp_path_factory.mktemp('emoclip')
    mafw = str(folder / 'synthetic_mafw')
    generate_synthetic_mafw(mafw, num_clips=55, seed=2, image_size=32,
                            min_frames=6, max_frames=10, progress=False)
    source = folder / 'emoclip_small.py'
    source.write_text(SMALL.format(
        base=osp.join(ROOT, 'configs/plugins/emoclip_synthetic.py'),
        arch=TINY_ARCH, mafw=mafw,
        context=TINY_ARCH['text_cfg']['context_length']))
    target = folder / 'emoclip_small_to_dfew.py'
    target.write_text(TARGET.format(
        base=osp.join(ROOT,
                      'configs/plugins/emoclip_synthetic_zeroshot_dfew.py'),
        arch=TINY_ARCH, dfew=tiny_data))
    return str(source), str(target)


def test_emoclip_trains_on_captions_and_tests_zero_shot(configs, tmp_path):
    source, target = configs
    work_dir = str(tmp_path / 'work')
    log = run_tool_main('tools/train.py', [source, '--work-dir', work_dir])
    assert 'loss_contrastive: ' in log
    # validation is zero-shot on the source's own test fold: MAFW's 11
    # classes, prompted by their sentences
    assert 'Epoch(val) [1]' in log and 'recall/helplessness: ' in log
    checkpoint = osp.join(work_dir, 'epoch_1.pth')
    log = run_tool_main('tools/test.py', [target, checkpoint, '--work-dir',
                                          work_dir])
    # the target's 7 DFEW classes, not the source's 11
    assert 'Epoch(test) [' in log and 'UAR: ' in log
    recalls = {part.split(':')[0] for part in log.split()
               if part.startswith('recall/')}
    assert len(recalls) == 7 and 'recall/Happy' in recalls


def test_a_converted_official_checkpoint_tests_zero_shot(configs, tmp_path):
    """The converter's output runs through tools/test.py as it is."""
    import torch

    from tests.plugins.test_emoclip_converter import (TOOL,
                                                      official_state_dict)
    _, target = configs
    official, converted = tmp_path / 'official.pth', tmp_path / 'fine.pth'
    torch.save(official_state_dict(), official)
    run_tool_main(TOOL, [official, converted])
    log = run_tool_main('tools/test.py', [target, converted, '--work-dir',
                                          str(tmp_path / 'work')])
    assert 'Epoch(test) [' in log and 'UAR: ' in log
