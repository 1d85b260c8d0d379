"""README's quick start is what CI runs."""
import os.path as osp
import re

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


def _quick_start_commands():
    with open(osp.join(ROOT, 'README.md')) as f:
        text = f.read()
    block = re.search(r'## Quick start.*?```bash\n(.*?)```', text, re.S)
    assert block, 'README has no bash block under "Quick start"'
    return [line for line in block.group(1).splitlines() if line.strip()]


def test_readme_opens_with_two_commands():
    commands = _quick_start_commands()
    assert len(commands) == 2
    main, tests = commands
    assert 'tools/train.py configs/synthetic/fineclip_synthetic.py' in main
    assert 'tools/test.py configs/synthetic/fineclip_synthetic.py' in main
    assert 'pytest' in tests


def test_ci_runs_the_readme_test_command():
    with open(osp.join(ROOT, '.ci', 'run')) as f:
        ci = f.read()
    assert _quick_start_commands()[1] in ci


def test_main_command_tests_the_last_checkpoint():
    from mmengine.config import Config
    cfg = Config.fromfile(
        osp.join(ROOT, 'configs/synthetic/fineclip_synthetic.py'))
    checkpoint = f'epoch_{cfg.train_cfg.max_epochs}.pth'
    assert checkpoint in _quick_start_commands()[0]


def test_readme_is_short():
    """README introduces and links; the details live in docs/."""
    with open(osp.join(ROOT, 'README.md')) as f:
        lines = f.read().splitlines()
    assert len(lines) <= 250, f'README.md has {len(lines)} lines (at most 250)'
