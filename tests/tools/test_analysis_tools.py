"""The analysis tools run and print what they promise."""
import re

import pytest

from tests.helpers import ROOT, run_tool_main, write_small_config


def test_count_params_separates_tunable_from_frozen():
    out = run_tool_main('tools/analysis/count_params.py',
                        [f'{ROOT}/configs/synthetic/fineclip_synthetic.py'])
    assert re.search(r'clip\.visual\.transformer\s+[\d,]+\s+0\s+\(frozen\)',
                     out)
    assert re.search(r'branches\.video\.encoder\s+([\d,]+)\s+\1', out)
    assert 'tunable:' in out


def test_benchmark_dataloader_prints_rates(tiny_data, tmp_path):
    config = write_small_config(tmp_path, tiny_data)
    out = run_tool_main('tools/analysis/bench_data.py',
                        [config, '--workers', '0', '1', '--clips', '8'])
    rows = re.findall(r'^\s+(\d)\s+([\d.]+)\s+([\d.]+)$', out, re.M)
    assert [r[0] for r in rows] == ['0', '1']
    assert all(float(r[1]) > 0 for r in rows)


def test_checkpoint_size_table_for_the_embedded_default():
    out = run_tool_main('tools/analysis/checkpoint_size.py',
                        ['configs/synthetic/fineclip_synthetic.py'])
    row = [line for line in out.splitlines()
           if line.startswith('| fineclip_synthetic.py')][0]
    full, adapters, with_optim = [
        float(x) for x in re.findall(r'([\d.]+) MiB', row)]
    assert adapters < full and adapters < with_optim
    assert '(AdamW)' in row


@pytest.mark.slow(12)
def test_benchmark_compares_with_full_fine_tuning():
    out = run_tool_main('tools/analysis/benchmark.py', [
        'configs/synthetic/fineclip_synthetic.py', '--steps', '1',
        '--warmup', '0', '--threads', '1', '--grad-checkpointing'])
    rows = [line for line in out.splitlines()
            if line.startswith('| fineclip_synthetic.py')]
    assert len(rows) == 3, out[-2000:]
    baseline, adapters, recompute = [
        [c.strip() for c in row.split('|')[1:-1]] for row in rows]
    assert 'full fine-tuning' in baseline[0]
    assert baseline[3] == baseline[6] == baseline[9] == '1.00'
    # CPU: tensor peak and the larger resident set, both measured
    for row in (baseline, adapters, recompute):
        assert 0 < float(row[5]) < float(row[7])
    # the adapters tune a small share of what full fine-tuning tunes
    assert float(adapters[1][:-1]) < 0.1 * float(baseline[1][:-1])
    assert 'gradient checkpointing' in recompute[0]
    assert 'Dense fp32 matmul on the same device' in out


@pytest.mark.slow(5)
def test_benchmark_measures_a_plugin_model_without_aim():
    """DFER-CLIP (plugin): frames counted from its temporal model; the
    baseline fine-tunes the whole CLIP and keeps the temporal model."""
    out = run_tool_main('tools/analysis/benchmark.py', [
        'configs/plugins/dfer_clip_synthetic.py', '--steps', '1',
        '--warmup', '0', '--threads', '1'])
    rows = [[c.strip() for c in line.split('|')[1:-1]]
            for line in out.splitlines()
            if line.startswith('| dfer_clip_synthetic.py')]
    assert len(rows) == 2, out[-2000:]
    baseline, plugin = rows
    assert 'full fine-tuning' in baseline[0]
    # DFER-CLIP tunes the image tower, the temporal model and the context
    # but not the text tower, which full fine-tuning adds
    assert 0 < float(plugin[1][:-1]) < float(baseline[1][:-1])
