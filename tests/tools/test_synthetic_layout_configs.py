"""The FERV39k and MAFW embedded defaults: generated on first use, loaded
and scanned through their configs (MAFW from its .mp4 clips)."""
import pytest

from tests.helpers import ROOT, run_tool_main


@pytest.mark.parametrize('layout, clips, expect', [
    ('ferv39k', 35, '== train: 28 clips'),
    ('mafw', 55, '== train fold 2: 44 clips'),
])
def test_config_generates_loads_and_checks(layout, clips, expect, tmp_path):
    root = str(tmp_path / layout)
    options = [f'embedded_default.synthetic_data.out_dir={root}',
               f'embedded_default.synthetic_data.num_clips={clips}',
               'embedded_default.synthetic_data.image_size=32',
               'embedded_default.tiny_clip=None']
    options += [f'{loader}_dataloader.dataset.data_root={root}'
                for loader in ('train', 'val', 'test')]
    out = run_tool_main(
        'tools/data/check_dataset.py',
        [f'{ROOT}/configs/synthetic/fineclip_synthetic_{layout}.py',
         '--folds', '2', '--cfg-options'] + options)
    assert expect in out
    assert '\n0 problem(s) found.' in out
