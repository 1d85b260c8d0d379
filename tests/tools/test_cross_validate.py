"""tools/cross_validate.py: every fold runs once, then a table."""
import json
import os
import os.path as osp

import pytest
from mmengine.config import Config

from fineclip.apis.cross_validation import (fold_config, format_markdown,
                                            summarize)
from fineclip.engine.train_setup import configure_training
from fineclip.utils.errors import UserInputError
from tests.helpers import (call_tool_main, fold_result, run_tool_main,
                           write_small_config)


def test_two_folds_then_resume(tiny_data, tmp_path):
    config = write_small_config(tmp_path, tiny_data, max_epochs=1)
    work_dir = str(tmp_path / 'cv')
    # An earlier run in this process gave the same warnings to the current
    # logger, whose duplicate filter would swallow fold 1's.
    configure_training(Config.fromfile(config))
    out = run_tool_main('tools/cross_validate.py', [
        config, '--folds', '1', '2', '--work-dir', work_dir])
    assert 'fold 1: trained' in out and 'fold 2: trained' in out
    # each fold gets tools/train.py's set-up: precision, global batch
    assert out.count('Training precision: fp32') == 2, out[-3000:]
    assert out.count("the recipe's base batch is 16") == 2, out[-3000:]
    with open(osp.join(work_dir, 'cv_results.json')) as f:
        summary = json.load(f)
    assert summary['folds'] == [1, 2]
    uar = summary['metrics']['UAR']
    assert len(uar['per_run']) == 2
    assert uar['mean'] == pytest.approx(sum(uar['per_run']) / 2)
    assert osp.getsize(osp.join(work_dir, 'cv_per_class_recall.png')) > 0
    with open(osp.join(work_dir, 'cv_results.md')) as f:
        assert '| UAR |' in f.read()

    # every result file records its protocol, the table says which std
    with open(osp.join(work_dir, 'fold_1', 'fold_result.json')) as f:
        fold1 = json.load(f)
    assert fold1['fingerprint']['resolved']['run.fold'] == 1
    assert fold1['fingerprint']['resolved']['train_cfg.max_epochs'] == 1
    assert fold1['selection'] == 'last_epoch'
    assert fold1['skipped_clips']['test'] == 0
    assert summary['fingerprint']['hash']
    assert 'mean ± sample std (n=2)' in out

    checkpoint = osp.join(work_dir, 'fold_1', 'epoch_1.pth')
    before = os.stat(checkpoint).st_mtime_ns
    again = run_tool_main('tools/cross_validate.py', [
        config, '--folds', '1', '2', '--work-dir', work_dir])
    assert 'fold 1: reused the finished run' in again
    assert 'fold 2: reused the finished run' in again
    assert os.stat(checkpoint).st_mtime_ns == before

    # The case: the same work dir, other options. The old number
    # must not come back as the new one: refused, naming what differs.
    old = f"UAR {fold1['metrics']['UAR']:.4f}"
    for options, named in [
            (['--val-holdout', '0.2'], 'run.val_holdout: 0.0 -> 0.2'),
            (['--cfg-options', 'model.temperature=0.05'],
             'model.temperature: 0.01 -> 0.05'),
            (['--select-on-test'],
             'run.selection: "last_epoch" -> "best_on_test"')]:
        refused = call_tool_main('tools/cross_validate.py', [
            config, '--folds', '1', '--work-dir', work_dir, *options])
        assert refused.returncode != 0, options
        assert named in refused.stderr, refused.stderr[-2000:]
        assert '--force' in refused.stderr
        assert 'reused' not in refused.stdout and old not in refused.stdout
    assert os.stat(checkpoint).st_mtime_ns == before

    # --force: a fresh run in fold_1, the old one kept beside it; the
    # test-selected number says so on every line and in its files
    forced = run_tool_main('tools/cross_validate.py', [
        config, '--folds', '1', '--work-dir', work_dir, '--select-on-test',
        '--force'])
    kept = osp.join(work_dir, 'fold_1.superseded-1')
    assert 'fold 1: trained' in forced and kept in forced
    assert os.stat(osp.join(kept, 'epoch_1.pth')).st_mtime_ns == before
    with open(osp.join(kept, 'fold_result.json')) as f:
        assert json.load(f) == fold1
    with open(osp.join(work_dir, 'fold_1', 'fold_result.json')) as f:
        assert json.load(f)['selection'] == 'best_on_test'
    with open(osp.join(work_dir, 'cv_results.md')) as f:
        table = f.read()
    rows = [line for line in table.splitlines() if line.startswith('| ')
            and not line.startswith(('| metric', '|---'))]
    assert rows and all('selected on the TEST split' in r for r in rows)
    assert 'mean (n=1, no std)' in table
    assert 'fold 1: trained' in forced and \
        'selected on the TEST split]' in forced.split('fold 1: trained')[1]


def test_each_fold_reads_its_own_split(tiny_data, tmp_path):
    cfg = Config.fromfile(write_small_config(tmp_path, tiny_data))
    fold3 = fold_config(cfg, 3, str(tmp_path / 'f3'))
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        assert fold3[key]['dataset']['fold'] == 3
    assert cfg.train_dataloader.dataset.fold == 1  # the original is intact
    del cfg.test_dataloader.dataset['fold']
    with pytest.raises(ValueError, match='no cross-validation folds'):
        fold_config(cfg, 2, str(tmp_path / 'f2'))


def test_summary_mean_std_and_markdown():
    results = [fold_result(k, {'UAR': u, 'WAR': w, 'recall/a': u,
                               'recall/b': w})
               for k, u, w in [(1, 0.4, 0.5), (2, 0.6, 0.7)]]
    summary = summarize(results)
    assert summary['metrics']['UAR']['mean'] == pytest.approx(0.5)
    # the sample std (ddof 1), not the population one (0.1)
    assert summary['metrics']['UAR']['std'] == pytest.approx(0.1414, 1e-3)
    table = format_markdown(summary)
    assert '| UAR | 40.00 | 60.00 | 50.00 ± 14.14 |' in table
    assert 'mean ± sample std (n=2)' in table
    assert 'last epoch (1)' in table


def test_val_holdout_selects_on_train_part_only(tiny_data, tmp_path):
    cfg = Config.fromfile(write_small_config(tmp_path, tiny_data))
    fold = fold_config(cfg, 2, str(tmp_path / 'f2'), val_holdout=0.2)
    train, val = fold.train_dataloader.dataset, fold.val_dataloader.dataset
    assert (train.split, val.split) == ('train', 'train')
    assert (train.holdout_keep, val.holdout_keep) == ('rest', 'held_out')
    assert train.holdout_fraction == val.holdout_fraction == 0.2
    assert fold.test_dataloader.dataset.split == 'test'
    assert fold.default_hooks.checkpoint.save_best == 'UAR'


def test_cross_validate_with_holdout_tests_the_best_epoch(tiny_data,
                                                          tmp_path):
    config = write_small_config(tmp_path, tiny_data, max_epochs=2)
    work_dir = str(tmp_path / 'cv')
    run_tool_main('tools/cross_validate.py', [
        config, '--folds', '1', '--val-holdout', '0.2', '--work-dir',
        work_dir])
    with open(osp.join(work_dir, 'cv_results.md')) as f:
        assert 'best UAR on a stratified 20% of the training split' in f.read()
    best = [n for n in os.listdir(osp.join(work_dir, 'fold_1'))
            if n.startswith('best_UAR')]
    assert len(best) == 1


def test_select_on_test_watches_the_test_list_and_excludes_holdout(
        tiny_data, tmp_path):
    cfg = Config.fromfile(write_small_config(tmp_path, tiny_data))
    fold = fold_config(cfg, 2, str(tmp_path / 'f2'), select_on_test=True)
    assert fold.val_dataloader.dataset == fold.test_dataloader.dataset
    assert fold.val_dataloader.dataset.split == 'test'
    assert fold.default_hooks.checkpoint.save_best == 'UAR'
    assert 'save_best' not in fold_config(
        cfg, 2, str(tmp_path / 'f2')).default_hooks.checkpoint
    with pytest.raises(UserInputError, match='give one of them'):
        fold_config(cfg, 2, str(tmp_path / 'f2'), val_holdout=0.2,
                    select_on_test=True)
