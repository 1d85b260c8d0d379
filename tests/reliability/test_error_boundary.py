"""The tools' one error boundary: a user's mistake ends in one message that
names the file, key or line, with exit status 2 and no traceback; a bug
keeps its traceback and says so; ``--debug`` shows the traceback of either.
"""
import os
import os.path as osp
import subprocess
import sys

import pytest

from fineclip.apis.error_boundary import BUG_LINE, call_tool
from fineclip.utils.errors import ConfigError, UserInputError
from tests.helpers import ROOT, call_tool_main
from tests.reliability.bad_inputs import frame, write_image

CONFIG = osp.join(ROOT, 'configs', 'synthetic', 'fineclip_synthetic.py')


def _user_mistake(argv):
    raise UserInputError('cfg.py: the key x is wrong; set it to 1')


def _bug(argv):
    return {}['missing']


def test_user_error_is_one_message_and_status_2(capsys):
    outcome = call_tool(_user_mistake, [])
    err = capsys.readouterr().err
    assert outcome.status == 2
    assert 'error: cfg.py: the key x is wrong; set it to 1' in err
    assert 'Traceback' not in err


@pytest.mark.parametrize('how', ['flag', 'env'])
def test_debug_shows_the_traceback(capsys, monkeypatch, how):
    argv = ['--debug'] if how == 'flag' else []
    if how == 'env':
        monkeypatch.setenv('FINECLIP_DEBUG', '1')
    seen = []
    outcome = call_tool(lambda a: seen.append(a) or _user_mistake(a), argv)
    err = capsys.readouterr().err
    assert outcome.status == 2
    assert 'Traceback' in err and 'the key x is wrong' in err
    assert seen == [[]]  # --debug is the boundary's, not the tool's


def test_a_bug_keeps_its_traceback_and_says_it_is_one(capsys):
    outcome = call_tool(_bug, [])
    err = capsys.readouterr().err
    assert outcome.status == 1
    assert 'Traceback' in err and "KeyError: 'missing'" in err
    assert BUG_LINE in err


def test_returned_status_and_message_exits_pass_through(capsys):
    assert call_tool(lambda a: 1, []).status == 1  # "problems found"
    assert call_tool(lambda a: None, []).status == 0
    outcome = call_tool(lambda a: exit('W: no checkpoint there'), [])
    assert outcome.status == 2
    assert 'W: no checkpoint there' in capsys.readouterr().err


def test_full_disk_names_the_path(capsys):
    def write(argv):
        raise OSError(28, 'No space left on device', '/data/w/epoch_2.pth')
    assert call_tool(write, []).status == 2
    err = capsys.readouterr().err
    assert '/data/w/epoch_2.pth' in err and 'Traceback' not in err


# ---------------------------------------------------------------------------
# every tool on a bad config
# ---------------------------------------------------------------------------

def _tool_cases(bad, folder):
    """(tool, argv) for every tool in tools/: the config-taking ones get
    ``bad`` (a config with a syntax error), the others a bad input of
    their own kind."""
    dummy = osp.join(folder, 'dummy.pth')
    with open(dummy, 'wb') as f:
        f.write(b'not read: the config comes first')
    frames = write_image(osp.join(folder, 'clip', '1.png'), frame(90))
    frames = osp.dirname(frames)  # a clip of frames, infer's input
    return [
        ('tools/train.py', [bad, '--work-dir', osp.join(folder, 'w')]),
        ('tools/test.py', [bad, dummy, '--work-dir', osp.join(folder, 'w')]),
        ('tools/infer.py', [bad, dummy, frames]),
        ('tools/cross_validate.py', [bad, '--work-dir',
                                     osp.join(folder, 'cv')]),
        ('tools/analysis/bench_data.py', [bad]),
        ('tools/analysis/benchmark.py', [bad]),
        ('tools/analysis/checkpoint_size.py', [bad]),
        ('tools/analysis/compare_seeds.py', [bad]),
        ('tools/analysis/count_params.py', [bad]),
        ('tools/analysis/plot_attention.py', [bad, dummy, '--out',
                                              osp.join(folder, 'a.png')]),
        ('tools/analysis/plot_pn_similarity.py', [bad, dummy, '--out',
                                                  osp.join(folder, 'p.png')]),
        ('tools/analysis/zero_shot.py', [bad, '--targets', bad]),
        ('tools/data/check_dataset.py', [bad]),
        ('tools/data/extract_face_maps.py', [bad, '--analyzer',
                                             'SyntheticGroundTruth']),
        ('tools/data/generate_descriptions.py', [bad, '--describer',
                                                 'OfflineDescriber']),
        ('tools/data/prepare.py', [bad]),
        # no config: a missing or wrong input of their kind
        ('tools/export_adapters.py', [folder]),
        ('tools/analysis/plot_confusion.py', [osp.join(folder, 'no.pkl'),
                                              '--out', 'c.png']),
        ('tools/analysis/plot_curves.py', [osp.join(folder, 'no_run')]),
        ('tools/data/refine_descriptions.py', [
            osp.join(folder, 'no.jsonl'), '--out', 'o.jsonl']),
        ('tools/data/make_synthetic_dfer.py', [
            '--num-clips', '-3', '--out-dir', osp.join(folder, 'syn')]),
        ('tools/model_converters/dfer_clip.py', [
            osp.join(folder, 'no.pth'), osp.join(folder, 'o.pth'),
            '--dataset', 'dfew']),
        ('tools/model_converters/check_dfer_clip.py', [
            osp.join(folder, 'no_official'), '--dataset', 'dfew']),
        ('tools/model_converters/emoclip.py', [
            osp.join(folder, 'no.pth'), osp.join(folder, 'e.pth')]),
    ]


def test_every_tool_ends_a_bad_config_in_a_message(tmp_path, nothing_lost):
    bad = tmp_path / 'bad.py'
    bad.write_text("_base_ = []\nmodel = dict(type='FineCLIPER'\nx = 2\n")
    cases = _tool_cases(str(bad), str(tmp_path))
    listed = {osp.relpath(osp.join(d, f), ROOT)
              for d, _, files in os.walk(osp.join(ROOT, 'tools'))
              for f in files if f.endswith('.py')}
    # gpu_smoke only starts the other tools as processes
    assert listed - {c[0] for c in cases} == {'tools/analysis/gpu_smoke.py'}
    nothing_lost(str(tmp_path))
    failures = []
    for tool, argv in cases:
        run = call_tool_main(tool, argv, cwd=str(tmp_path))
        if run.returncode != 2 or 'Traceback' in run.stderr:
            failures.append(f'{tool}: {run.returncode}\n{run.stderr[-800:]}')
        elif argv and argv[0] == str(bad) and f'{bad}:2' not in run.stderr:
            failures.append(f'{tool}: no file:line\n{run.stderr[-800:]}')
    assert not failures, '\n'.join(failures)
    assert not osp.exists(tmp_path / 'w') and not osp.exists(tmp_path / 'cv')


# ---------------------------------------------------------------------------
# config files and values, named before anything is built
# ---------------------------------------------------------------------------

@pytest.mark.parametrize('option, fragment', [
    ('train_dataloader.batch_size=0',
     'train_dataloader.batch_size=0: must be a positive whole number'),
    ('train_dataloader.batch_size=abc',
     "train_dataloader.batch_size=abc: the config holds 16 there and "
     "expects a number, not the text 'abc'"),
    ('train_dataloader.num_workers=-1',
     'train_dataloader.num_workers=-1: must be a whole number >= 0'),
    ('optim_wrapper.optimizer.lr=nan',
     'optim_wrapper.optimizer.lr=nan: must be a finite number > 0'),
    ('optim_wrapper.optimizer.lr=-0.1',
     'optim_wrapper.optimizer.lr=-0.1: must be a finite number > 0'),
    ('train_cfg.max_epochs=-1',
     'train_cfg.max_epochs=-1: must be a positive whole number'),
    ('train_cfg.val_interval=0',
     'train_cfg.val_interval=0: must be a positive whole number'),
    ('default_hooks.logger.interval=0',
     'default_hooks.logger.interval=0: must be a positive whole number'),
    ('train_dataloader.dataset.fold=6',
     'train_dataloader.dataset.fold=6: DFEWDataset has folds 1-5'),
    ('train_cfg.max_epochs',
     "--cfg-options 'train_cfg.max_epochs': an override is KEY=VALUE"),
], ids=['batch-0', 'batch-text', 'workers', 'lr-nan', 'lr-negative',
        'epochs', 'val-interval', 'hook-interval', 'fold', 'no-equals'])
def test_bad_value_is_named_before_the_run(tmp_path, option, fragment):
    work_dir = tmp_path / 'work'
    run = call_tool_main('tools/train.py', [
        CONFIG, '--work-dir', str(work_dir), '--cfg-options', option])
    assert run.returncode == 2, run.stderr[-2000:]
    assert fragment in run.stderr
    assert 'Traceback' not in run.stderr
    assert not work_dir.exists()  # nothing was built or written


def test_config_file_mistakes_are_named(tmp_path):
    text = tmp_path / 'config.txt'
    text.write_text("model = dict()\n")
    cases = [(str(tmp_path), 'is a folder; give a config file in it'),
             (str(text), 'not a config file; configs are '
              '.py/.json/.yml/.yaml files'),
             (str(tmp_path / 'none.py'), "No such config: '")]
    for path, fragment in cases:
        for tool in ('tools/train.py', 'tools/test.py'):
            run = call_tool_main(tool, [path, '--work-dir',
                                        str(tmp_path / 'w')])
            assert run.returncode == 2, run.stderr[-2000:]
            assert path in run.stderr and fragment in run.stderr
            assert 'Traceback' not in run.stderr
    assert not (tmp_path / 'w').exists()


def test_work_dir_that_is_a_file_is_named(tmp_path, nothing_lost):
    not_a_dir = tmp_path / 'results.txt'
    not_a_dir.write_text('my notes\n')
    nothing_lost(str(tmp_path))
    for where in (not_a_dir, not_a_dir / 'run'):
        run = call_tool_main('tools/train.py', [CONFIG, '--work-dir',
                                                str(where)])
        assert run.returncode == 2, run.stderr[-2000:]
        assert f'work dir {where}:' in run.stderr
        assert 'is a file' in run.stderr and 'Traceback' not in run.stderr


def test_cross_validate_refuses_a_fold_the_dataset_lacks(tmp_path):
    work_dir = tmp_path / 'cv'
    run = call_tool_main('tools/cross_validate.py', [
        CONFIG, '--folds', '1', '9', '--work-dir', str(work_dir)])
    assert run.returncode == 2, run.stderr[-2000:]
    assert '--folds=9: DFEWDataset has folds 1-5' in run.stderr
    assert 'Traceback' not in run.stderr
    assert not work_dir.exists()  # fold 1 did not train first


def test_config_errors_stay_value_errors():
    # callers that caught the config checks' ValueError still do
    assert issubclass(ConfigError, ValueError)
    assert issubclass(ConfigError, UserInputError)


def test_every_tool_runs_its_main_under_the_boundary():
    import re
    ends = {}
    for folder, _, files in os.walk(osp.join(ROOT, 'tools')):
        for name in files:
            if name.endswith('.py'):
                with open(osp.join(folder, name)) as f:
                    text = f.read()
                main_block = text.split("if __name__ == '__main__':")[-1]
                ends[name] = bool(re.search(r'sys\.exit\(run_main\(main\)\)',
                                            main_block))
    assert ends and all(ends.values()), ends


def test_the_real_command_line_exits_2_without_a_traceback(tmp_path):
    # one real process: the __main__ block, not only main(argv)
    proc = subprocess.run(
        [sys.executable, osp.join(ROOT, 'tools', 'export_adapters.py'),
         str(tmp_path / 'none.pth')], capture_output=True, text=True,
        cwd=ROOT, timeout=300,
        env=dict(os.environ, PYTHONPATH=ROOT, HF_HUB_OFFLINE='1'))
    assert proc.returncode == 2, proc.stderr
    assert f'No such checkpoint: {tmp_path}/none.pth' in proc.stderr
    assert 'Traceback' not in proc.stderr


def test_read_only_work_dir_is_named(tmp_path, monkeypatch):
    # root passes every permission check: pretend the folder is read-only
    locked = tmp_path / 'locked'
    locked.mkdir()
    real = os.access
    monkeypatch.setattr(os, 'access', lambda p, mode: (
        False if osp.abspath(p) == str(locked) else real(p, mode)))
    run = call_tool_main('tools/train.py', [
        CONFIG, '--work-dir', locked / 'run'])
    assert run.returncode == 2, run.stderr[-2000:]
    assert (f'work dir {locked}/run: permission denied: {locked} is not '
            'writable') in run.stderr
    assert 'Traceback' not in run.stderr and os.listdir(locked) == []


@pytest.mark.parametrize('argv, bare', [
    (['c.py', '--cfg-options', 'a=1', 'train_cfg.max_epochs'],
     'train_cfg.max_epochs'),
    (['c.py', '--cfg-options=train_cfg.max_epochs'], 'train_cfg.max_epochs'),
    (['c.py', '--cfg-options', 'a=1', '-h'], None),
    (['c.py', '--cfg-options', 'a=-1', '--work-dir', 'w'], None),
])
def test_an_override_without_equals_is_found(argv, bare, capsys):
    outcome = call_tool(lambda a: 0, argv)
    err = capsys.readouterr().err
    assert outcome.status == (2 if bare else 0)
    if bare:
        assert f"--cfg-options '{bare}': an override is KEY=VALUE" in err
