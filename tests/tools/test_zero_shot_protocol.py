"""The zero-shot protocol end to end on tiny shapes: the synthetic source
trains on captions only, then it and plain CLIP are tested on the other
dataset, through the shipped configs."""
import json
import os.path as osp

import pytest

from fineclip.apis import load_config
from fineclip.apis.zero_shot import zero_shot_table
from tests.helpers import ROOT, call_tool_main

ZS = osp.join(ROOT, 'configs', 'zeroshot')
SOURCE = osp.join(ZS, 'fineclip_dagger_zs_synthetic_mafw_caption.py')
TARGET = osp.join(ZS, 'fineclip_dagger_zs_synthetic_mafw_caption_to_dfew.py')
BASELINE = osp.join(ZS, 'clip_zs_synthetic_dfew.py')
PLUGINS = osp.join(ROOT, 'configs', 'plugins')
EMOCLIP = osp.join(PLUGINS, 'emoclip_synthetic.py')
EMOCLIP_TARGET = osp.join(PLUGINS, 'emoclip_synthetic_zeroshot_dfew.py')
SMALL = dict(image_size=64, min_frames=8, max_frames=10)


def small(path, root, layout, clips):
    """The shipped config on random tiny weights and a tiny set in root."""
    cfg = load_config(path)
    options = {
        'model.clip.pretrained': None,
        'embedded_default.tiny_clip': None,
        'embedded_default.synthetic_data': dict(
            layout=layout, out_dir=root, num_clips=clips, seed=3,
            video=layout == 'mafw', **SMALL) if layout == 'mafw' else
        dict(layout=layout, out_dir=root, num_clips=clips, seed=3, **SMALL),
        'train_cfg.max_epochs': 1,
        'default_hooks.logger.interval': 1,
    }
    for loader in ('train', 'val', 'test'):
        options[f'{loader}_dataloader.batch_size'] = 8
        options[f'{loader}_dataloader.num_workers'] = 0
    cfg.merge_from_dict(options)
    return cfg


@pytest.fixture(scope='module')
def roots(tmp_path_factory):
    base = tmp_path_factory.mktemp('zero_shot')
    return str(base / 'mafw'), str(base / 'dfew'), str(base / 'runs')


# two source trainings and 6 tests (3 rows x 2 target folds: each fold's
# test split is its own column, which needs two folds to show)
@pytest.mark.slow(25)
def test_zero_shot_table_trains_on_captions_and_tests_both_rows(roots):
    mafw, dfew, work_dir = roots
    source = small(SOURCE, mafw, 'mafw', 55)
    for loader in ('train', 'val', 'test'):
        source[f'{loader}_dataloader'].dataset.data_root = mafw
    target = small(TARGET, dfew, 'dfew', 35)
    target.merge_from_dict({'test_dataloader.dataset.data_root': dfew})
    baseline = small(BASELINE, dfew, 'dfew', 35)
    baseline.merge_from_dict({'test_dataloader.dataset.data_root': dfew})
    # the source config itself reads captions, never labels
    assert source.train_dataloader.dataset.captions is True
    # the paper's Tab 3 sets EmoCLIP beside FineCLIPER†: a row of its own
    emoclip = small(EMOCLIP, mafw, 'mafw', 55)
    for loader in ('train', 'val', 'test'):
        emoclip[f'{loader}_dataloader'].dataset.data_root = mafw
    emoclip_target = small(EMOCLIP_TARGET, dfew, 'dfew', 35)
    emoclip_target.merge_from_dict(
        {'test_dataloader.dataset.data_root': dfew})
    result = zero_shot_table(source, [target], [baseline], work_dir,
                             folds=(1, 2),
                             more_sources=[(emoclip, [emoclip_target])])
    assert result['checkpoint'].endswith('epoch_1.pth')
    # one column per fold's test split: two folds never share one
    columns = [f'DFEW ({dfew}) fold 1', f'DFEW ({dfew}) fold 2']
    assert result['columns'] == columns
    rows = result['rows']
    assert list(rows) == ['CLIP (no training)',
                          'FineCLIPER†, MAFW (video caption)',
                          'EmoCLIP, MAFW (video caption)']
    for row, cells in rows.items():
        for column in columns:
            assert 0 <= cells[column]['UAR'] <= 1
            # the target's 7 classes, not the source's 11
            assert len(result['classes'][column]) == 7
        mean = result['means'][row][f'DFEW ({dfew})']
        assert mean['n'] == 2
        assert mean['UAR/mean'] == pytest.approx(
            (cells[columns[0]]['UAR'] + cells[columns[1]]['UAR']) / 2)
    table = open(osp.join(work_dir, 'zero_shot.md')).read()
    assert 'CLIP (no training)' in table and '14.29' in table
    assert '| EmoCLIP, MAFW (video caption) |' in table
    assert 'mean of 2 folds' in table
    saved = json.load(open(osp.join(work_dir, 'zero_shot.json')))
    assert saved['rows'] == rows
    # every test's protocol is recorded, and the source run's
    assert saved['fingerprints']['source']['resolved']['run.selection'] == (
        'last_epoch')
    assert saved['fingerprints']['source emoclip_synthetic']['resolved'][
        'model.type'] == 'EmoCLIP'
    assert len(saved['fingerprints']) == 2 + 3 * 2


def test_test_tool_refuses_a_trained_config_without_checkpoint():
    run = call_tool_main('tools/test.py', [
        osp.join(ROOT, 'configs/synthetic/fineclip_synthetic.py')])
    assert run.returncode != 0
    assert 'give a CHECKPOINT' in run.stderr


def test_the_tool_sets_source_and_target_roots_apart(tmp_path, monkeypatch):
    from tests.helpers import load_tool
    tool = load_tool('tools/analysis/zero_shot.py')
    seen = {}

    def table(source, targets, baselines, work_dir, checkpoint, folds,
              force, more_sources):
        seen.update(source=source, targets=targets, baselines=baselines,
                    more=more_sources)
        return dict(checkpoint='c.pth', markdown='')

    monkeypatch.setattr(tool, 'zero_shot_table', table)
    mafw, dfew = tmp_path / 'mafw', tmp_path / 'dfew'
    mafw.mkdir()
    tool.main([SOURCE, '--targets', TARGET, '--baselines', BASELINE,
               '--compare', EMOCLIP, EMOCLIP_TARGET,
               '--source-data-root', str(mafw), '--target-data-root',
               str(dfew), '--work-dir', str(tmp_path / 'w')])
    emoclip, (emoclip_target, ) = seen['more'][0]
    for source in (seen['source'], emoclip):
        assert {source[f'{k}_dataloader'].dataset.data_root
                for k in ('train', 'val', 'test')} == {str(mafw)}
    for target in (*seen['targets'], *seen['baselines'], emoclip_target):
        assert target.test_dataloader.dataset.data_root == str(dfew)
