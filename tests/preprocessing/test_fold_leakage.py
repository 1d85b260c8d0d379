"""Train-to-test label leakage, per fold: the classifier fitted on a
fold's training descriptions and scored on its test descriptions."""
import json
import os.path as osp

import pytest
from mmengine.config import Config

from fineclip.apis.description_leakage import fold_splits, leakage_line
from fineclip.preprocessing import refinement as rf
from tests.helpers import run_tool_main
from tests.preprocessing.test_refinement import _toy_set, _without_sklearn


def _splits(n, folds=5):
    ids = [f'{i:05d}' for i in range(n)]
    return ids, [(f'fold {k + 1}', [c for i, c in enumerate(ids)
                                    if i % folds != k],
                  [c for i, c in enumerate(ids) if i % folds == k])
                 for k in range(folds)]


def test_texts_naming_the_label_leak_and_neutral_ones_score_chance():
    texts, labels = _toy_set(n=140, seed=2)
    refined = [rf.DescriptionRefiner()(t).text for t in texts]
    ids, splits = _splits(140)
    rows = rf.fold_leakage(dict(zip(ids, texts)), dict(zip(ids, refined)),
                           dict(zip(ids, labels)), splits)
    assert [r['fold'] for r in rows] == [f'fold {k}' for k in range(1, 6)]
    for row in rows:
        assert (row['num_train'], row['num_test']) == (112, 28)
        assert row['accuracy_before'] == row['uar_before'] == 1.0
        # what is left (label-independent movements) is at chance
        assert row['accuracy_after'] < row['uniform_chance'] + 0.2
        assert row['uniform_chance'] == pytest.approx(1 / 7)
        assert row['majority_share'] == pytest.approx(4 / 28)
    # a fold without test texts is named, not scored
    only_train = {c: t for c, t in zip(ids, texts) if c in splits[0][1]}
    short = rf.fold_leakage(only_train, None, dict(zip(ids, labels)),
                            splits[:1])
    assert short == [dict(fold='fold 1', skipped='112 training and 0 test '
                          'clips with a label and a description')]


def test_train_to_test_majority_chance_is_the_training_majority():
    res = rf.train_to_test(['a b', 'a c', 'd e'], ['x', 'x', 'y'],
                           ['a b', 'd e', 'd f', 'd g'],
                           ['x', 'y', 'y', 'y'])
    assert res['majority_share'] == 0.25  # 'x' wins training, 1 of 4
    assert res['num_train'] == 3 and res['num_test'] == 4
    with pytest.raises(ValueError, match='training and test'):
        rf.train_to_test([], [], ['a'], ['x'])


def _config(root, texts='descriptions.jsonl'):
    def dataset(split):
        return dict(type='DFEWDataset', data_root=root, fold=1, split=split,
                    description_file=texts)
    return Config(dict(train_dataloader=dict(dataset=dataset('train')),
                       test_dataloader=dict(dataset=dataset('test'))))


def test_refine_tool_reports_train_to_test_per_fold(tiny_data, tmp_path):
    config = tmp_path / 'cfg.py'
    config.write_text(''.join(
        f'{split}_dataloader = dict(dataset=dict(type=\'DFEWDataset\', '
        f"data_root={tiny_data!r}, fold=1, split={split!r}))\n"
        for split in ('train', 'test')))
    out = tmp_path / 'refined.jsonl'
    log = run_tool_main('tools/data/refine_descriptions.py', [
        osp.join(tiny_data, 'descriptions.jsonl'), '--out', out,
        '--config', config])
    report = json.loads((tmp_path / 'refined.report.json').read_text())
    assert [r['fold'] for r in report['per_fold']] == [
        f'fold {k}' for k in range(1, 6)]
    assert all((r['num_train'], r['num_test']) == (28, 7)
               for r in report['per_fold'])
    assert 'train-to-test, fold 1 (28 train -> 7 test): accuracy' in log
    # the synthetic texts carry their provenance through, marked refined
    first = json.loads(out.read_text().splitlines()[0])
    assert first['describer'] == 'synthetic.describe_action_units'
    assert first['label_given'] is False and first['refined'] is True


def test_check_line_on_the_configured_fold(tiny_data, monkeypatch):
    cfg = _config(tiny_data)
    splits, labels = fold_splits(cfg, [1])
    assert [(n, len(tr), len(te)) for n, tr, te in splits] == [
        ('fold 1', 28, 7)]
    line = leakage_line(cfg)
    assert line.startswith(f'description leakage ({tiny_data}/'
                           'descriptions.jsonl): ')
    assert ("fold 1's 28 training descriptions predicts its 7 test clips' "
            'labels with accuracy') in line
    assert 'uniform 14.3%' in line
    assert leakage_line(_config(tiny_data, None)) is None
    assert leakage_line(_config(tiny_data, 'absent.jsonl')) is None
    _without_sklearn(monkeypatch)
    line = leakage_line(cfg)
    assert 'not measured: scikit-learn is not installed' in line
