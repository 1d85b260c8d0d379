"""Result protocols: fingerprints decide reuse and resumption, summaries
refuse mixed protocols and say which std they show, zero-shot tables keep
one column per fold. Finished results are written here, not trained."""
import json
import os
import os.path as osp
from types import SimpleNamespace

import pytest
from mmengine.config import Config

from fineclip.apis import load_config, prepare_embedded_default
from fineclip.apis.cross_validation import (IncompleteResultError,
                                            fold_config, format_markdown,
                                            run_fingerprint,
                                            skipped_clip_counts, summarize,
                                            train_and_test)
from fineclip.apis.result_protocol import (PROTOCOL_FILE,
                                           ProtocolMismatchError,
                                           check_run_dir, describe,
                                           make_fingerprint)
from fineclip.apis.zero_shot import format_table
from fineclip.utils.errors import UserInputError
from tests.helpers import (call_tool_main, fold_result, load_tool,
                           write_small_config)


def test_sample_std_with_n_on_known_numbers():
    results = [fold_result(k, {'UAR': u, 'WAR': u, 'recall/a': u,
                               'recall/b': u})
               for k, u in [(1, 0.7), (2, 0.72), (3, 0.68)]]
    uar = summarize(results)['metrics']['UAR']
    assert uar['mean'] == pytest.approx(0.70)
    assert uar['std'] == pytest.approx(0.02)  # population std: 0.0163
    assert uar['n'] == 3
    table = format_markdown(summarize(results))
    assert 'mean ± sample std (n=3)' in table
    assert '70.00 ± 2.00' in table
    one = summarize(results[:1])
    assert one['metrics']['UAR']['std'] is None
    assert 'mean (n=1, no std)' in format_markdown(one)


def test_a_missing_metric_is_an_error():
    results = [fold_result(1, {'UAR': .5, 'WAR': .5, 'recall/a': .5,
                               'recall/b': .5}),
               fold_result(2, {'UAR': .6, 'WAR': .6, 'recall/a': .6})]
    with pytest.raises(IncompleteResultError, match="fold 2.*'recall/b'"):
        summarize(results)
    assert issubclass(IncompleteResultError, UserInputError)


def test_summaries_refuse_mixed_protocols():
    metrics = {'UAR': .5, 'WAR': .5, 'recall/a': .5, 'recall/b': .5}
    same = summarize([fold_result(1, metrics), fold_result(2, metrics)])
    assert same['fingerprint']['resolved'][
        'optim_wrapper.optimizer.lr'] == 0.001
    assert 'run.fold' not in same['fingerprint']['resolved']
    mixed = [fold_result(1, metrics), fold_result(2, metrics, lr=0.5)]
    with pytest.raises(ProtocolMismatchError) as err:
        summarize(mixed)
    message = str(err.value)
    assert 'fold 1 with fold 2' in message
    assert 'optim_wrapper.optimizer.lr: 0.001 -> 0.5' in message
    assert 'run.fold' not in message  # the fold differs by design
    unrecorded = dict(fold_result(2, metrics), fingerprint=None)
    with pytest.raises(ProtocolMismatchError, match='fold 2.*no protocol'):
        summarize([fold_result(1, metrics), unrecorded])


def test_reuse_only_under_the_same_fingerprint(tmp_path):
    old = make_fingerprint(Config(dict(lr=0.1, fold=1)), fold=1)
    run = tmp_path / 'fold_1'
    run.mkdir()
    (run / 'fold_result.json').write_text(json.dumps(dict(fingerprint=old)))
    assert check_run_dir(str(run), old, 'fold_result.json') == ('reuse', None)
    other = make_fingerprint(Config(dict(lr=0.1, fold=2)), fold=2)
    with pytest.raises(ProtocolMismatchError) as err:
        check_run_dir(str(run), other, 'fold_result.json')
    assert 'fold: 1 -> 2' in str(err.value)
    assert 'run.fold: 1 -> 2' in str(err.value)
    # keys that cannot change a number do not count
    same = make_fingerprint(Config(dict(lr=0.1, fold=1, work_dir='x',
                                        train_dataloader=dict(
                                            num_workers=8))), fold=1)
    assert same['hash'] == old['hash']
    # --force: a fresh folder, the old one moved aside, not deleted
    state, moved = check_run_dir(str(run), other, 'fold_result.json',
                                 force=True)
    assert (state, moved) == ('fresh', f'{run}.superseded-1')
    assert osp.isfile(osp.join(moved, 'fold_result.json'))
    assert not run.exists()


def test_an_interrupted_run_resumes_only_under_its_fingerprint(
        tiny_data, tmp_path):
    cfg = Config.fromfile(write_small_config(tmp_path, tiny_data, 1))
    work_dir = str(tmp_path / 'fold_1')
    started = fold_config(cfg, 1, work_dir)
    fingerprint = run_fingerprint(started, 'last_epoch', fold=1)
    os.makedirs(work_dir)
    with open(osp.join(work_dir, PROTOCOL_FILE), 'w') as f:
        json.dump(dict(fingerprint=fingerprint), f)
    open(osp.join(work_dir, 'epoch_1.pth'), 'wb').close()
    assert check_run_dir(work_dir, fingerprint, 'fold_result.json') == (
        'resume', None)
    cfg.merge_from_dict({'optim_wrapper.optimizer.lr': 0.5})
    with pytest.raises(ProtocolMismatchError) as err:  # before training
        train_and_test(fold_config(cfg, 1, work_dir), work_dir, fold=1)
    assert 'an interrupted run' in str(err.value)
    assert 'optim_wrapper.optimizer.lr: 0.001 -> 0.5' in str(err.value)
    # checkpoints without a recorded protocol are not resumed either
    os.remove(osp.join(work_dir, PROTOCOL_FILE))
    with pytest.raises(ProtocolMismatchError, match='no protocol fing'):
        check_run_dir(work_dir, fingerprint, 'fold_result.json')


def test_compare_seeds_reuses_a_result_of_its_own_protocol_only(
        tiny_data, tmp_path):
    config = write_small_config(tmp_path, tiny_data, max_epochs=1)
    name = osp.splitext(osp.basename(config))[0]
    tool = load_tool('tools/analysis/compare_seeds.py')
    work_dir = str(tmp_path / 'seeds')
    for seed, uar in [(0, 0.7), (1, 0.72), (2, 0.68)]:
        run_dir = osp.join(work_dir, name, f'seed_{seed}')
        cfg = load_config(config)
        prepare_embedded_default(cfg)
        fingerprint = run_fingerprint(tool.seed_config(cfg, seed, run_dir),
                                      'last_epoch', seed=seed, config=config)
        os.makedirs(run_dir)
        with open(osp.join(run_dir, 'fold_result.json'), 'w') as f:
            json.dump(dict(seed=seed, config=config, epochs=1,
                           classes=['x'], protocol='last epoch (1)',
                           selection='last_epoch', fingerprint=fingerprint,
                           metrics={'UAR': uar, 'WAR': uar,
                                    'recall/x': uar}), f)
    argv = [config, '--seeds', '0', '1', '2', '--work-dir', work_dir]
    reused = call_tool_main('tools/analysis/compare_seeds.py', argv)
    assert reused.returncode == 0, reused.stderr[-2000:]
    assert reused.stdout.count('reused, same fingerprint') == 3
    assert '70.00 ± 2.00 (mean ± sample std (n=3)' in reused.stdout
    # the same config by another path is the same protocol
    relative = call_tool_main('tools/analysis/compare_seeds.py', [
        osp.basename(config), *argv[1:]], cwd=str(tmp_path))
    assert relative.stdout.count('reused, same fingerprint') == 3, (
        relative.stderr[-2000:])
    # the case: fold=2 lr=0.5 must not print the fold-1 number
    refused = call_tool_main('tools/analysis/compare_seeds.py', argv + [
        '--cfg-options', 'train_dataloader.dataset.fold=2',
        'optim_wrapper.optimizer.lr=0.5'])
    assert refused.returncode != 0
    assert 'train_dataloader.dataset.fold: 1 -> 2' in refused.stderr
    assert 'optim_wrapper.optimizer.lr: 0.001 -> 0.5' in refused.stderr
    assert 'UAR 0.7000' not in refused.stdout


def test_zero_shot_columns_per_fold_and_chance_from_the_class_list():
    classes = [f'c{i}' for i in range(7)]
    cell = {'UAR': 0.5, 'WAR': 0.4, 'recall/c0': 1.0, 'recall/c1': 0.0}
    result = dict(
        columns=['DFEW (d) fold 1', 'DFEW (d) fold 2'], folds=[1, 2],
        rows={'m': {'DFEW (d) fold 1': cell, 'DFEW (d) fold 2': dict(
            cell, UAR=0.7)}},
        classes={'DFEW (d) fold 1': classes, 'DFEW (d) fold 2': classes},
        means={'m': {'DFEW (d)': {'n': 2, 'columns': ['DFEW (d) fold 1',
                                                      'DFEW (d) fold 2'],
                                  'UAR/mean': 0.6, 'UAR/std': 0.1414,
                                  'WAR/mean': 0.4, 'WAR/std': 0.0}}})
    table = format_table(result)
    assert '| m | 50.00 / 40.00 | 70.00 / 40.00 | 60.00 ± 14.14 / ' in table
    assert 'mean ± sample std, n=2' in table
    # 7 classes in the list, 2 with a recall: chance is 1/7, not 1/2
    chance = [line for line in table.splitlines() if 'chance' in line][0]
    assert chance.count('14.29') == 3 and '50.00' not in chance


def test_extra_protocol_flags_andskipped_clip_counts_are_recorded():
    plain = make_fingerprint(Config(dict(lr=0.1)), fold=1)
    flagged = make_fingerprint(
        Config(dict(lr=0.1, allow_label_conditioned_eval=True)), fold=1)
    assert flagged['resolved']['run.label_conditioned_eval'] is True
    assert flagged['hash'] != plain['hash']
    assert 'label_conditioned_eval=True' in describe(flagged)
    assert 'label_conditioned_eval' not in describe(plain)
    runner = SimpleNamespace(
        train_dataloader=SimpleNamespace(dataset=SimpleNamespace(
            bad_clips=['a.mp4: no frames', 'b.mp4: no frames'])),
        test_dataloader=SimpleNamespace(dataset=SimpleNamespace(
            bad_clips=[])))
    assert skipped_clip_counts(runner) == {'train': 2, 'test': 0}
