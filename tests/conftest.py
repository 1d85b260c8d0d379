"""Shared fixtures: offline hub, tiny CLIP shapes, a tiny recognizer, and
the session's synthetic set and small trained run.

Session fixtures are made once and shared read-only: a test that writes
files works in its own ``tmp_path`` (a copy, if it must change the data).
Their teardown checks that no test wrote into them. The synthetic set and
the small trained run are made once for all pytest-xdist workers.

Tests marked ``slow(seconds)`` run first, the longest first, so that the
two workers finish together instead of one waiting on a late long test.
"""
import gc
import json
import os
import shutil

# Hub look-ups retry for minutes without a network; tests never download.
os.environ['HF_HUB_OFFLINE'] = '1'
os.environ.setdefault('TOKENIZERS_PARALLELISM', 'false')
# Under pytest-xdist each worker gets one torch thread (and so do the
# tools it starts): two workers with two threads each would fight for
# CI's two cores. Set before torch is imported, which reads it once.
_XDIST_WORKER = 'PYTEST_XDIST_WORKER' in os.environ
if _XDIST_WORKER:
    os.environ.setdefault('OMP_NUM_THREADS', '1')

import pytest  # noqa: E402
import torch  # noqa: E402
from mmengine.registry import init_default_scope  # noqa: E402

import fineclip  # noqa: E402,F401

from fineclip.models.clip.builder import NAMED_ARCHS  # noqa: E402

if _XDIST_WORKER:
    torch.set_num_threads(int(os.environ['OMP_NUM_THREADS']))

TINY_ARCH = NAMED_ARCHS['fineclip-tiny']
CLASSES = ('Happy', 'Sad', 'Neutral', 'Angry', 'Surprise', 'Disgust', 'Fear')


def pytest_configure(config):
    config.addinivalue_line(
        'markers', 'slow(seconds): a test that takes about this long on one '
        'CI core; runs first, longest first (scheduling only; a bare slow '
        'counts as 1 s)')


def pytest_collection_modifyitems(config, items):
    """Longest tests first: with ``--dist worksteal`` the idle worker takes
    the short ones from the other's queue, so both finish together."""
    def seconds(item):
        marker = item.get_closest_marker('slow')
        if marker is None:
            return 0
        return marker.args[0] if marker.args else 1
    items.sort(key=seconds, reverse=True)  # stable: the rest keep order


def pytest_collection_finish(session):
    """Moves what the imports made (torch, MMEngine, transformers, the
    test modules: about half a million objects) out of the garbage
    collector's sight. A full collection, which each in-process tool run
    does to free its Runner and Python does as allocations pile up, then
    scans only what the tests made: 0.25 s -> a few ms each, a 2-epoch
    in-process training 2.7 -> 1.9 s, the suite on 2 cores 5 min 37 s ->
    4 min 34 s (2026-12-06)."""
    gc.collect()
    gc.freeze()


@pytest.fixture(autouse=True)
def fineclip_scope():
    init_default_scope('fineclip')
    yield


@pytest.fixture
def tiny_arch():
    return {k: (dict(v) if isinstance(v, dict) else v)
            for k, v in TINY_ARCH.items()}


@pytest.fixture
def tiny_clip(tiny_arch):
    from fineclip.models.clip import build_clip
    torch.manual_seed(0)
    return build_clip(tiny_arch)


def tiny_model_cfg(num_frames=4, **overrides):
    """Config of a FineCLIPER on the tiny random CLIP."""
    cfg = dict(
        type='FineCLIPER',
        clip=dict(type='OpenCLIP', arch=TINY_ARCH),
        branches=dict(video=dict(
            type='FramesBranch',
            encoder=dict(type='AIMVideoEncoder', num_frames=num_frames))),
        class_names=CLASSES,
        data_preprocessor=dict(type='DFERDataPreprocessor'))
    cfg.update(overrides)
    return cfg


def _tree_state(root: str) -> dict:
    """Size and modification time of every file and folder under root."""
    state = {}
    for folder, dirs, files in os.walk(root):
        for name in [''] + files:
            path = os.path.join(folder, name)
            stat = os.stat(path)
            state[os.path.relpath(path, root)] = (stat.st_size,
                                                  stat.st_mtime_ns)
    return state


@pytest.fixture(scope='session')
def read_only_tree():
    """Returns ``watch(root)``: the folder is checked at session end to be
    exactly as it was when watched (shared data must stay unchanged)."""
    watched = []

    def watch(root: str) -> str:
        watched.append((root, _tree_state(root)))
        return root

    yield watch
    for root, state in watched:
        changed = sorted(set(state.items()) ^ set(_tree_state(root).items()))
        assert not changed, (
            f'a test changed the shared folder {root}: '
            f'{[path for path, _ in changed][:10]}; give it its own copy')


@pytest.fixture(scope='session')
def run_once(tmp_path_factory):
    """Returns ``once(name, make)``: ``make(folder)`` runs once for the
    whole test run, in whichever pytest-xdist worker asks first, in a new
    ``folder`` all workers see; the others wait for it and get what it
    returned (it must be JSON). Without workers it is one call.
    """
    from filelock import FileLock
    base = tmp_path_factory.getbasetemp()
    if _XDIST_WORKER:  # popen-gwN/: its parent is the run's, shared
        base = base.parent

    def once(name: str, make):
        result = base / f'run_once_{name}.json'
        with FileLock(str(result) + '.lock'):
            if result.is_file():
                return json.loads(result.read_text())
            folder = base / f'run_once_{name}'
            shutil.rmtree(folder, ignore_errors=True)  # a failed attempt
            folder.mkdir()
            value = make(folder)
            result.write_text(json.dumps(value))
            return value

    return once


@pytest.fixture(scope='session')
def tiny_data(run_once, read_only_tree):
    """The 35-clip synthetic DFEW-layout set (40x40, up to 20 frames) the
    small training runs use; made once per test run, read-only."""
    from fineclip.datasets.synthetic import generate_synthetic_dfew

    def make(folder):
        root = str(folder / 'synthetic_dfew')
        generate_synthetic_dfew(root, num_clips=35, seed=5, image_size=40,
                                max_frames=20, progress=False)
        return root

    return read_only_tree(run_once('tiny_data', make))


@pytest.fixture(scope='session')
def small_trained_run(tiny_data, run_once, read_only_tree):
    """The small config trained for 2 epochs on ``tiny_data``, and its last
    checkpoint tested with ``--dump``: one run (per test run, whatever the
    workers) that the tests needing a trained model share, read-only.

    Both go through the real command line (``python tools/train.py``,
    ``python tools/test.py``): the suite's check that the tools work as
    scripts, not only as ``main(argv)``.

    Returns:
        dict: ``folder`` (holding all of it), ``config``, ``work_dir``,
        ``checkpoint``, ``dump`` (paths), ``epochs`` and ``test_log``
        (tools/test.py's output).
    """
    from tests.helpers import run_tool, write_small_config

    def make(folder):
        epochs = 2
        config = write_small_config(folder, tiny_data, max_epochs=epochs)
        work_dir = str(folder / 'work')
        run_tool(['tools/train.py', config, '--work-dir', work_dir])
        checkpoint = os.path.join(work_dir, f'epoch_{epochs}.pth')
        dump = str(folder / 'preds.pkl')
        # The test run adds a newer log folder without scalars to the
        # work dir.
        log = run_tool(['tools/test.py', config, checkpoint, '--work-dir',
                        work_dir, '--dump', dump])
        return dict(folder=str(folder), config=config, work_dir=work_dir,
                    checkpoint=checkpoint, dump=dump, epochs=epochs,
                    test_log=log)

    run = run_once('small_trained_run', make)
    read_only_tree(run['folder'])
    return run


@pytest.fixture(scope='session')
def embedded_default_run(tmp_path_factory, read_only_tree):
    """The README's main command, run once per session in a clean folder:
    ``tools/train.py configs/synthetic/fineclip_synthetic.py`` (synthetic
    data, tiny CLIP pretraining, 10 epochs), then ``tools/test.py`` on its
    last checkpoint; each tool's ``main`` in this process. About 3 minutes
    on 2 CPU cores: a test that needs a checkpoint trained on the embedded
    default takes this one (read-only) rather than training its own.

    Returns:
        dict: ``cwd`` (the folder the commands ran in, with the ``data/``
        they created), ``config``, ``work_dir``, ``checkpoint``, ``epochs``,
        ``train_log`` and ``test_log`` (the tools' output).
    """
    from mmengine.config import Config

    from tests.helpers import CONFIG, run_tool_main
    cwd = tmp_path_factory.mktemp('embedded_default')
    epochs = Config.fromfile(CONFIG).train_cfg.max_epochs
    work_dir = str(cwd / 'work_dirs' / 'fineclip_synthetic')
    train_log = run_tool_main('tools/train.py', [CONFIG, '--work-dir',
                                                 work_dir], cwd=str(cwd))
    checkpoint = os.path.join(work_dir, f'epoch_{epochs}.pth')
    log = run_tool_main('tools/test.py', [CONFIG, checkpoint, '--work-dir',
                                          work_dir], cwd=str(cwd))
    read_only_tree(str(cwd))
    return dict(cwd=str(cwd), config=CONFIG, work_dir=work_dir,
                checkpoint=checkpoint, epochs=epochs, test_log=log,
                train_log=train_log)
