"""The user's entry point, ``tools/train.py
configs/fineclip_star_dagger_dfew.py``, on tiny shapes and synthetic data
through --cfg-options only."""
import glob
import json
import os.path as osp

import pytest

from fineclip.datasets.synthetic import generate_synthetic_dfew
from fineclip.models.encoders.long_clip_text_encoder import stretched_length
from tests.conftest import TINY_ARCH
from tests.helpers import run_tool_main

CONFIG = 'configs/fineclip_star_dagger_dfew.py'


@pytest.fixture(scope='module')
def data_root(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('star_dagger_data'))
    generate_synthetic_dfew(root, num_clips=21, seed=9, image_size=32,
                            min_frames=4, max_frames=6, num_folds=3,
                            progress=False)
    return root


def test_train_star_dagger_config_on_tiny_shapes(data_root, tmp_path):
    # the descriptions the config reads are the refined ones: make them
    run_tool_main('tools/data/refine_descriptions.py',
                  [osp.join(data_root, 'descriptions.jsonl'), '--out',
                   osp.join(data_root, 'descriptions_refined.jsonl')])
    context = stretched_length(TINY_ARCH['text_cfg']['context_length'])
    options = [
        'model.clip.arch=fineclip-tiny', 'model.clip.pretrained=None',
        'model.clip.quick_gelu=False',
        'model.branches.video.encoder.num_frames=4',
        'model.branches.face_maps.encoder.num_frames=4',
        'model.branches.description.encoder.checkpoint=None',
        f'model.branches.description.encoder.context_length={context}',
        'train_cfg.max_epochs=1',
    ]
    # pipeline steps by position: see the config's with_face_maps and
    # with_description (train: crop at 3, tokenize at 7; test: resize at 3,
    # tokenize at 5)
    for loader, size_at, tokens_at in (('train_dataloader', 3, 7),
                                       ('val_dataloader', 3, 5),
                                       ('test_dataloader', 3, 5)):
        options += [
            f'{loader}.dataset.data_root={data_root}',
            f'{loader}.batch_size=4', f'{loader}.num_workers=0',
            f'{loader}.dataset.pipeline.0.num_frames=4',
            f'{loader}.dataset.pipeline.{size_at}.size=32',
            f'{loader}.dataset.pipeline.{tokens_at}.context_length={context}',
        ]
    work_dir = str(tmp_path / 'work')
    out = run_tool_main('tools/train.py', [CONFIG, '--work-dir', work_dir,
                                           '--cfg-options', *options])
    for name in ('video', 'parsing', 'landmarks', 'description'):
        assert f'w_{name}:' in out, name
    assert osp.isfile(osp.join(work_dir, 'epoch_1.pth'))
    scalars = glob.glob(osp.join(work_dir, '2*', 'vis_data', 'scalars.json'))
    with open(scalars[0]) as f:
        last = [json.loads(line) for line in f][-1]
    assert 'UAR' in last and 0.0 <= last['UAR'] <= 1.0
