"""Misspelled ``--cfg-options`` keys and unknown type names: named when the
options are merged (with the closest right spelling), whether the key
lands in a part's arguments or in a dataloader or schedule section."""
import os.path as osp
import re
import warnings

import pytest
from mmengine.config import Config

from fineclip.apis import apply_common_options
from fineclip.utils.config import load_config
from tests.helpers import ROOT, call_tool_main

CONFIG = osp.join(ROOT, 'configs', 'synthetic', 'fineclip_synthetic.py')


@pytest.mark.parametrize('key, part, hint', [
    ('model.branches.video.encoder.num_frame', 'AIMVideoEncoder',
     "'num_frames'"),
    ('train_dataloader.batchsize', 'torch.utils.data.DataLoader',
     "'batch_size'"),
    ('train_cfg.max_epoch', 'EpochBasedTrainLoop', "'max_epochs'"),
    ('optim_wrapper.optimizer.lrr', 'AdamW', "'lr'"),
    ('train_dataloader.dataset.on_bad_clips', 'DFEWDataset',
     "'on_bad_clip'"),
    ('test_dataloader.dataset.pipeline.0.num_frame', 'SampleFrameIndices',
     "'num_frames'"),
], ids=['part-argument', 'dataloader', 'schedule', 'optimizer', 'dataset',
        'transform'])
def test_misspelled_key_is_named_with_its_part_and_spelling(key, part, hint):
    message = (f"--cfg-options key '{key}': '{key.rsplit('.', 1)[1]}' is "
               f'not an argument of {part}')
    with pytest.raises(ValueError) as load_err:
        load_config(CONFIG, {key: 8})
    # train.py and test.py merge through apply_common_options
    with pytest.raises(ValueError) as tool_err:
        apply_common_options(Config.fromfile(CONFIG), CONFIG,
                             cfg_options={key: 8})
    for err in (load_err, tool_err):
        assert message in str(err.value)
        assert f'did you mean {hint}' in str(err.value)


def test_right_keys_new_and_old_merge_quietly():
    options = {'model.branches.video.encoder.num_frames': 4,
               'train_dataloader.batch_size': 3, 'train_cfg.max_epochs': 1,
               # in no config, accepted by the parts that read them
               'train_dataloader.dataset.max_bad_fraction': 0.2,
               'train_dataloader.prefetch_factor': 2}
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        cfg = load_config(CONFIG, options)
    assert cfg.train_dataloader.batch_size == 3
    assert cfg.train_dataloader.dataset.max_bad_fraction == 0.2


@pytest.mark.parametrize('key, fragment', [
    ('randomnes.seed', "the config has no 'randomnes'; a new section is "
     "made; did you mean 'randomness'?"),
    ('model.clip.arch.widht', "'model.clip.arch.widht' is new"),
], ids=['section', 'untyped-dict'])
def test_new_key_nothing_declares_is_warned_about(key, fragment):
    with pytest.warns(UserWarning, match=re.escape(fragment)):
        cfg = load_config(CONFIG, {key: 1})
    assert cfg[key.split('.')[0]] is not None  # merged all the same


def test_index_past_a_list_is_named():
    with pytest.raises(ValueError, match=r"'train_dataloader\.dataset\."
                       r"pipeline' has \d+ entries, no index 40"):
        load_config(CONFIG, {'train_dataloader.dataset.pipeline.40.size': 3})


@pytest.mark.parametrize('key, name, registry, close', [
    ('model.type', 'FineCLIPR', 'model', 'FineCLIPER'),
    ('model.branches.video.encoder.type', 'AIMVideoEncodr', 'encoder',
     'AIMVideoEncoder'),
    ('train_dataloader.dataset.pipeline.1.type', 'DecodeFrame',
     'transform', 'DecodeFrames'),
    ('optim_wrapper.optimizer.type', 'AdamV', 'optimizer', 'AdamW'),
], ids=['model', 'encoder', 'transform', 'optimizer'])
def test_unknown_type_names_it_the_registry_and_close_names(key, name,
                                                            registry, close):
    with pytest.raises(KeyError) as err:
        load_config(CONFIG, {key: name})
    path = key.rsplit('.', 1)[0]
    assert (f"Unknown type '{name}' at '{path}': not in the fineclip "
            f'{registry} registry') in str(err.value)
    assert f"'{close}'" in str(err.value).split('did you mean', 1)[1]


def test_unknown_type_in_a_config_file_stops_train_before_the_run(
        tmp_path, nothing_lost):
    config = tmp_path / 'typo.py'
    config.write_text(f"_base_ = ['{CONFIG}']\n"
                      "model = dict(fusion=dict(type='AdaptivFusion'))\n")
    work_dir = tmp_path / 'work'
    nothing_lost(str(tmp_path))
    run = call_tool_main('tools/train.py', [str(config), '--work-dir',
                                            str(work_dir)])
    assert run.returncode == 2  # the user's mistake: no traceback
    assert "Unknown type 'AdaptivFusion' at 'model.fusion'" in run.stderr
    assert "'AdaptiveFusion'" in run.stderr
    assert not work_dir.exists()  # stopped before the Runner made it


def test_misspelled_key_stops_train_before_the_run(tmp_path):
    work_dir = tmp_path / 'work'
    run = call_tool_main('tools/train.py', [
        CONFIG, '--work-dir', str(work_dir), '--cfg-options',
        'train_cfg.max_epoch=3'])
    assert run.returncode == 2
    assert "'max_epoch' is not an argument of EpochBasedTrainLoop" in (
        run.stderr)
    assert not work_dir.exists()
