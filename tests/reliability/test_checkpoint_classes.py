"""A checkpoint trained on other classes than the config's dataset is
refused by tools/test.py, load_from and tools/infer.py, with both class
lists, unless the mismatch is asked for (a zero-shot test)."""
import os
import os.path as osp

import pytest
import torch

from fineclip.datasets.dfew import DFEW_CLASSES
from fineclip.datasets.mafw import MAFW_CLASSES
from fineclip.engine.checkpoint_io import read_checkpoint
from tests.helpers import call_tool_main


@pytest.fixture
def mafw_checkpoint(small_trained_run, tmp_path):
    """The small DFEW run's checkpoint, its class list rewritten to MAFW's
    11 classes (as a MAFW run would have saved it)."""
    checkpoint = read_checkpoint(small_trained_run['checkpoint'])
    checkpoint['meta']['dataset_meta'] = dict(classes=list(MAFW_CLASSES))
    path = str(tmp_path / 'mafw_epoch_2.pth')
    torch.save(checkpoint, path)
    return path


def _both_lists_named(text, checkpoint):
    assert f"'{checkpoint}' was trained on other classes than" in text
    assert f'checkpoint (11): {", ".join(MAFW_CLASSES)}' in text
    assert f'config     (7): {", ".join(DFEW_CLASSES)}' in text
    assert '--allow-other-classes' in text


def test_test_tool_refuses_a_checkpoint_of_other_classes(
        small_trained_run, mafw_checkpoint, tmp_path):
    work = tmp_path / 'test_work'
    dump = tmp_path / 'preds.pkl'
    run = call_tool_main('tools/test.py', [
        small_trained_run['config'], mafw_checkpoint, '--work-dir', work,
        '--dump', dump])
    assert run.returncode == 2, (run.stdout + run.stderr)[-3000:]
    _both_lists_named(run.stderr, mafw_checkpoint)
    assert 'the test set (DFEWDataset)' in run.stderr
    assert 'Traceback' not in run.stderr and 'UAR' not in run.stdout
    assert not dump.exists()
    # asked for: it runs (the prompts are the config's 7 classes)
    run = call_tool_main('tools/test.py', [
        small_trained_run['config'], mafw_checkpoint, '--work-dir', work,
        '--allow-other-classes'])
    assert run.returncode == 0, (run.stdout + run.stderr)[-3000:]
    assert 'UAR' in run.stdout


def test_load_from_refuses_it_before_training(small_trained_run,
                                              mafw_checkpoint, tmp_path):
    work = tmp_path / 'work'
    run = call_tool_main('tools/train.py', [
        small_trained_run['config'], '--work-dir', work, '--cfg-options',
        f'load_from={mafw_checkpoint}'])
    assert run.returncode == 2, (run.stdout + run.stderr)[-3000:]
    _both_lists_named(run.stderr, mafw_checkpoint)
    assert 'the train set (DFEWDataset)' in run.stderr
    assert not [f for f in os.listdir(work) if f.endswith('.pth')]


def test_infer_refuses_it(small_trained_run, mafw_checkpoint, tiny_data):
    clips = osp.join(tiny_data, 'Clip', 'clip_224x224')
    clip = osp.join(clips, sorted(os.listdir(clips))[0])
    run = call_tool_main('tools/infer.py', [
        small_trained_run['config'], mafw_checkpoint, clip])
    assert run.returncode == 2, (run.stdout + run.stderr)[-3000:]
    _both_lists_named(run.stderr, mafw_checkpoint)
