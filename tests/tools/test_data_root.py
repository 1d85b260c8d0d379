"""``--data-root DIR``: one option points every dataset of a config at the
data set, and checkpoints say which data they were trained on."""
import argparse
import shutil

import pytest
import torch
from mmengine.config import Config, DictAction

from fineclip.apis import load_config
from fineclip.utils.data_root import (add_data_root_argument, data_roots,
                                      dataset_nodes)
from fineclip.utils.errors import UserInputError
from tests.helpers import (CONFIG, call_tool_main, run_tool_main,
                           write_small_config)


def _parser():
    parser = argparse.ArgumentParser()
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    add_data_root_argument(parser)
    return parser


def test_the_option_lands_among_the_cfg_options_in_either_order():
    parser = _parser()
    for argv in (['--data-root', 'D', '--cfg-options', 'a=1'],
                 ['--cfg-options', 'a=1', '--data-root', 'D']):
        assert parser.parse_args(argv).cfg_options == dict(a=1,
                                                           data_root='D')
    assert parser.parse_args([]).cfg_options is None


def test_every_dataset_of_the_config_gets_the_root(tmp_path):
    cfg = load_config(CONFIG, dict(data_root=str(tmp_path)))
    keys = [key for key, _ in dataset_nodes(cfg)]
    assert keys == ['train_dataloader', 'val_dataloader', 'test_dataloader']
    assert data_roots(cfg) == [str(tmp_path)]
    assert cfg.data_root == str(tmp_path)
    # the user's own data: no synthetic set is generated; the tiny CLIP
    # (no download needed) stays
    assert 'synthetic_data' not in cfg.embedded_default
    assert 'tiny_clip' in cfg.embedded_default


def test_nested_datasets_are_reached(tmp_path):
    cfg = Config(dict(train_dataloader=dict(dataset=dict(
        type='RepeatDataset', times=2,
        dataset=dict(type='ConcatDataset', datasets=[
            dict(type='DFEWDataset', data_root='a'),
            dict(type='DFEWDataset', data_root='a')])))))
    from fineclip.utils.data_root import apply_data_root
    apply_data_root(cfg, str(tmp_path))
    inner = cfg.train_dataloader.dataset.dataset.datasets
    assert [d.data_root for d in inner] == [str(tmp_path)] * 2


def test_bad_roots_and_configs_of_several_data_sets_are_refused(tmp_path):
    with pytest.raises(UserInputError, match='does not exist'):
        load_config(CONFIG, dict(data_root=str(tmp_path / 'nowhere')))
    a_file = tmp_path / 'f.txt'
    a_file.write_text('x')
    with pytest.raises(UserInputError, match='is a file'):
        load_config(CONFIG, dict(data_root=str(a_file)))
    two = load_config(CONFIG, {'test_dataloader.dataset.data_root': 'b'})
    with pytest.raises(UserInputError, match='reads 2 data sets'):
        load_config(two, dict(data_root=str(tmp_path)))


def test_train_and_test_on_a_copy_given_by_data_root(tiny_data, tmp_path):
    """The config's own data root does not exist: every loader must read
    --data-root, and the checkpoint records it."""
    config = write_small_config(tmp_path, str(tmp_path / 'not_here'),
                                max_epochs=1)
    work = tmp_path / 'work'
    out = run_tool_main('tools/train.py', [config, '--data-root', tiny_data,
                                           '--work-dir', work])
    assert 'not_here' not in out
    checkpoint = work / 'epoch_1.pth'
    meta = torch.load(checkpoint, map_location='cpu',
                      weights_only=True)['meta']
    assert meta['data_root'] == tiny_data
    out = run_tool_main('tools/test.py', [config, checkpoint, '--data-root',
                                          tiny_data, '--work-dir', work])
    assert 'UAR' in out and 'trained on the data in' not in out

    # another copy of the data: the test says the checkpoint saw other data
    copy = str(tmp_path / 'copy')
    shutil.copytree(tiny_data, copy)
    out = run_tool_main('tools/test.py', [config, checkpoint, '--data-root',
                                          copy, '--work-dir', work])
    assert f"trained on the data in '{tiny_data}'" in out
    assert f"this test reads '{copy}'" in out

    # a folder that does not exist is named, not a traceback
    run = call_tool_main('tools/test.py', [config, checkpoint, '--data-root',
                                           tmp_path / 'typo'])
    assert run.returncode != 0 and 'typo' in run.stderr


def test_prepare_passes_the_root_to_its_steps(tiny_data):
    from fineclip.apis.preparation import PrepareOptions
    from fineclip.apis.preparation.commands import train_argv
    module = __import__('tools.data.prepare', fromlist=['options'])
    args = module.parse_args([CONFIG, '--data-root', tiny_data])
    opts = module.options(args)
    assert isinstance(opts, PrepareOptions)
    assert f'data_root={tiny_data}' in train_argv(opts)
