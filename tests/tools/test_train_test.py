"""tools/train.py and tools/test.py end to end on a tiny synthetic set.

The run itself is the session's ``small_trained_run`` (tests/conftest.py),
made from the real command line and shared with the analysis-tool tests.
"""
import glob
import json
import os.path as osp
import pickle

import numpy as np
import pytest

from fineclip.evaluation import confusion_matrix, uar_war
from tests.helpers import call_tool_main, write_small_config


def test_train_then_test_with_dump(small_trained_run):
    run = small_trained_run
    work_dir, epochs = run['work_dir'], run['epochs']
    assert epochs == 2
    checkpoint = osp.join(work_dir, 'epoch_2.pth')
    assert checkpoint == run['checkpoint'] and osp.isfile(checkpoint)
    train_json = sorted(glob.glob(
        osp.join(work_dir, '*', 'confusion_matrix', 'val_epoch_2.json')))[-1]
    assert osp.isfile(train_json.replace('.json', '.png'))

    log, dump = run['test_log'], run['dump']
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
    config = write_small_config(tmp_path, str(tmp_path / 'no_data'))
    run = call_tool_main('tools/train.py', [config, '--work-dir',
                                            str(tmp_path / 'w')])
    assert run.returncode != 0
    assert 'data_root' in run.stderr and 'no_data' in run.stderr
