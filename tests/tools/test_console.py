"""The console of a training run: short, readable and ending in a summary
(the full start-up dumps stay in the log file)."""
import io
import logging
import os
import os.path as osp

from fineclip.engine.runner import ConsoleDigest, DigestFormatter
from fineclip.utils.progress import progress_bar
from tests.helpers import call_tool_main, write_small_config


def test_a_short_console_and_a_summary_with_the_test_command(tiny_data,
                                                             tmp_path):
    config = write_small_config(tmp_path, tiny_data, max_epochs=1)
    work = tmp_path / 'work'
    run = call_tool_main('tools/train.py', [config, '--work-dir', work])
    assert run.returncode == 0, run.stderr[-2000:]
    out = run.stdout + run.stderr
    before_first_step = out.split('Epoch(train) [1][1/')[0]
    assert len(before_first_step.splitlines()) <= 20, before_first_step
    for noise in ('System environment', 'Hooks will be executed',
                  'Failed to search registry', 'prefix is not set',
                  '"FileClient" will be deprecated', 'HardDiskBackend'):
        assert noise not in out, noise
    assert 'environment (seed: ' in out and 'written to the log file' in out
    # ... where it is, whole
    log_dir = next(p for p in os.listdir(work) if p[:8].isdigit())
    with open(osp.join(work, log_dir, f'{log_dir}.log')) as f:
        log = f.read()
    assert 'System environment' in log and 'Config:' in log
    # the summary: checkpoint, metrics and a command that works
    summary = out[out.index('Training finished.'):]
    checkpoint = str(work / 'epoch_1.pth')
    assert f'last checkpoint: {checkpoint}' in summary
    assert 'last validation: UAR ' in summary
    command = next(line for line in summary.splitlines()
                   if 'test it:' in line).split('test it: ')[1].split()
    assert command[:2] == ['python', 'tools/test.py']
    test = call_tool_main(command[1], command[2:])
    assert test.returncode == 0, test.stderr[-2000:]
    # without --work-dir the test writes beside the checkpoint
    assert osp.isdir(work / 'test')
    assert 'Epoch(test)' in test.stdout + test.stderr


def test_verbose_keeps_the_dumps_on_the_console(tiny_data, tmp_path):
    config = write_small_config(tmp_path, tiny_data, max_epochs=1)
    run = call_tool_main('tools/test.py', [
        config, '--verbose', '--work-dir', tmp_path / 'w',
        '--cfg-options', 'test_without_checkpoint=True'])
    out = run.stdout + run.stderr
    assert 'System environment' in out and 'Config:' in out


def test_the_digest_shortens_and_drops_without_touching_the_record():
    digest = DigestFormatter(logging.Formatter('%(message)s'), 'run.log',
                             'w/cfg.py')

    def shown(message):
        record = logging.LogRecord('x', logging.INFO, '', 0, message, (),
                                   None)
        if not ConsoleDigest().filter(record):
            return None
        text = digest.format(record)
        assert record.getMessage() == message  # the file gets it whole
        return text

    assert shown('Config:\nmodel = ...') == \
        'config (as overridden): w/cfg.py'
    assert shown('Hooks will be executed in the following order:\n') is None
    assert shown('Epoch(train) [1][1/4]') == 'Epoch(train) [1][1/4]'


def test_progress_is_plain_lines_off_a_terminal():
    stream = io.StringIO()
    for _ in progress_bar(range(30), desc='work', file=stream,
                          mininterval=0):
        pass
    text = stream.getvalue()
    assert '\r' not in text
    lines = text.splitlines()
    assert lines[0].startswith('work:') and '30/30' in lines[-1]
