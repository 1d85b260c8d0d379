"""The README's main command: the embedded default learns.

Runs the real thing in a clean folder (synthetic data generation, tiny CLIP
pretraining, 10 epochs of FineCLIPER, then tools/test.py), about 7 minutes
on 2 CPU cores, and checks the numbers the README promises.
"""
import glob
import json
import os.path as osp


from tests.tools.test_train_test import ROOT, run_tool

CONFIG = osp.join(ROOT, 'configs/synthetic/fineclip_synthetic.py')


def _metrics(work_dir, tag):
    path = sorted(glob.glob(
        osp.join(work_dir, '*', 'confusion_matrix', f'{tag}.json')))[-1]
    with open(path) as f:
        return json.load(f)


def test_main_command_reaches_uar_half(tmp_path):
    work_dir = str(tmp_path / 'work_dirs' / 'fineclip_synthetic')
    run_tool(['tools/train.py', CONFIG, '--work-dir', work_dir],
             cwd=str(tmp_path))
    assert osp.isfile(tmp_path / 'data/synthetic_dfew/meta.json')
    assert osp.isfile(tmp_path / 'data/tiny_clip/tiny_clip.pth')
    run_tool(['tools/test.py', CONFIG,
              osp.join(work_dir, 'epoch_10.pth'), '--work-dir', work_dir],
             cwd=str(tmp_path))
    tested = _metrics(work_dir, 'test')
    trained = _metrics(work_dir, 'val_epoch_10')
    assert tested['matrix'] == trained['matrix']
    chance = 1 / len(tested['classes'])
    print(f"embedded default: UAR {tested['UAR']:.4f} WAR "
          f"{tested['WAR']:.4f} (chance {chance:.2f})")
    assert tested['UAR'] >= 0.50
