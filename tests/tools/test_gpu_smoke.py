"""tools/analysis/gpu_smoke.py: its --tiny --device cpu run and failures."""
import os.path as osp
import sys

import pytest
import torch

from tests.helpers import call_tool_main, load_tool

SCRIPT = 'tools/analysis/gpu_smoke.py'


def load_driver():
    return load_tool(SCRIPT)


@pytest.mark.slow(26)
def test_tiny_cpu_run_passes_and_prints_the_table(tiny_data, tmp_path):
    # FineCLIPER*-dagger: frames, face maps and descriptions in one run
    # the driver in this process; its steps are their own processes
    run = call_tool_main(SCRIPT, [
        '--tiny', '--device', 'cpu', '--variants', 'fineclip_star_dagger',
        '--work-dir', str(tmp_path / 'smoke'), '--data-root', tiny_data])
    out = run.stdout + run.stderr
    assert run.returncode == 0, out[-4000:]
    table = out[out.index('| step | result |'):]
    for step in ('synthetic data', 'config fineclip_star_dagger',
                 'train fineclip_star_dagger', 'test fineclip_star_dagger',
                 'benchmark fineclip_star_dagger'):
        assert f'| {step} | PASS |' in table, table
    assert '| train fineclip_star_dagger | PASS |' in table
    assert '2 steps, loss' in table and 'UAR' in table
    assert 'reused' in table  # the given --data-root, not a new set
    assert out.rstrip().endswith('PASSED')
    assert osp.isfile(tmp_path / 'smoke/fineclip_star_dagger/epoch_1.pth')


def test_a_failing_step_fails_the_run(tiny_data, tmp_path, capsys):
    smoke = load_driver()
    code = smoke.main(['--tiny', '--device', 'cpu', '--variants',
                       'no_such_variant', '--work-dir', str(tmp_path),
                       '--data-root', tiny_data])
    out = capsys.readouterr().out
    assert code == 1
    assert '| config no_such_variant | FAIL |' in out
    assert 'no such config' in out
    # what depends on the failed step is skipped, and counts as failed
    assert '| train no_such_variant | SKIP |' in out
    assert 'FAILED: config no_such_variant, train no_such_variant' in out


def test_injected_failing_command_and_table():
    smoke = load_driver()
    rows = smoke.run_steps([
        smoke.Step('ok', [sys.executable, '-c', 'print("fine")']),
        smoke.Step('boom', [sys.executable, '-c',
                            'import sys; print("went wrong"); sys.exit(3)']),
        smoke.Step('after boom', [sys.executable, '-c', 'pass'],
                   needs=['boom']),
        smoke.Step('slow', [sys.executable, '-c',
                            'import time; time.sleep(30)'], timeout=1),
    ], echo=False)
    assert [r['status'] for r in rows] == ['PASS', 'FAIL', 'SKIP', 'FAIL']
    assert rows[1]['note'] == 'exit 3: went wrong'
    assert 'timed out' in rows[3]['note']
    table = smoke.format_table(rows).splitlines()
    assert table[0] == '| step | result | wall time | peak memory | note |'
    assert table[3].startswith('| boom | FAIL |')


def test_train_log_parsing():
    smoke = load_driver()
    log = ('Epoch(train) [1][1/2]  lr: 1e-4  memory: 3120  loss: 2.0\n'
           'Epoch(train) [1][2/2]  lr: 1e-3  memory: 3300  loss: 1.5\n')
    assert smoke.parse_train(log) == dict(peak='3300 MiB',
                                          note='2 steps, loss 1.5000')
    assert smoke.parse_train(log.replace('1.5', 'nan'))['status'] == 'FAIL'
    assert smoke.parse_train('nothing logged')['status'] == 'FAIL'


@pytest.mark.skipif(torch.cuda.is_available(), reason='a GPU is here')
def test_refuses_cuda_without_a_gpu(tmp_path, capsys):
    smoke = load_driver()
    assert smoke.main(['--work-dir', str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert 'CUDA is not available' in err and '--device cpu' in err
