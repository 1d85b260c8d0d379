"""What the test modules share: paths, the small training config, and two
ways to run a tool.

:func:`run_tool_main` calls a tool's ``main(argv)`` in the test process (no
interpreter start, no second import of torch and MMEngine: about 6 s saved
per call on 2 CPU cores); :func:`run_tool` starts ``python tools/...`` in a
fresh interpreter, for what needs one: torchrun and srun jobs, exit-time
checks, import-state checks and the real command line itself.
"""
import contextlib
import gc
import importlib.util
import io
import itertools
import logging
import os
import os.path as osp
import random
import socket
import subprocess
import sys
from typing import Any, NamedTuple, Optional, Sequence

import numpy as np
import torch

from fineclip.models.clip.builder import NAMED_ARCHS

TINY_ARCH = NAMED_ARCHS['fineclip-tiny']
ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
#: The embedded default: the README's main command trains this config.
CONFIG = osp.join(ROOT, 'configs/synthetic/fineclip_synthetic.py')

SMALL_RUN = """
_base_ = [{base!r}]
embedded_default = None
data_root = {data_root!r}
model = dict(
    clip=dict(arch={arch!r}, pretrained=None),
    branches=dict(video=dict(encoder=dict(num_frames=4))))
train_pipeline = [
    dict(type='SampleFrameIndices', num_frames=4),
    dict(type='DecodeFrames'),
    dict(type='GroupRandomResizedCrop', size=32, scale=(0.6, 1.0)),
    dict(type='GroupFlip'),
    dict(type='PackDFERInputs'),
]
test_pipeline = [
    dict(type='SampleFrameIndices', num_frames=4, test_mode=True),
    dict(type='DecodeFrames'),
    dict(type='GroupResize', size=32),
    dict(type='PackDFERInputs'),
]
train_dataloader = dict(batch_size=8, num_workers={workers}, dataset=dict(
    data_root=data_root, pipeline=train_pipeline))
val_dataloader = dict(batch_size=8, num_workers={workers}, dataset=dict(
    data_root=data_root, pipeline=test_pipeline))
test_dataloader = val_dataloader
train_cfg = dict(max_epochs={max_epochs}, val_interval=1)
param_scheduler = [dict(type='CosineAnnealingLR', T_max={max_epochs},
                        by_epoch=True, begin=0, end={max_epochs})]
default_hooks = dict(logger=dict(interval=1))
"""


def write_small_config(folder, data_root, max_epochs=2, workers=0) -> str:
    """Writes a config inheriting the embedded default, shrunk to seconds
    (tiny random CLIP, 4 frames of 32x32, no embedded-default files).

    Args:
        folder: Where the config file goes.
        data_root: The synthetic DFEW-layout set it trains on.
        max_epochs: Epochs to train, validating after each.
        workers: ``num_workers`` of its dataloaders.

    Returns:
        str: the config's path.
    """
    path = osp.join(str(folder), f'small_{max_epochs}e_{workers}w.py')
    with open(path, 'w') as f:
        f.write(SMALL_RUN.format(base=CONFIG, data_root=data_root,
                                 arch=TINY_ARCH, max_epochs=max_epochs,
                                 workers=workers))
    return path


def fold_result(fold, metrics, lr=0.001, classes=('a', 'b')):
    """A finished fold's result record, as ``train_and_test`` writes it,
    with a fingerprint of a few keys (for summaries, without training).

    Args:
        fold: The fold number.
        metrics: Its ``{name: value}`` metrics.
        lr: The learning rate its fingerprint records.
        classes: Its class list.
    """
    resolved = {'optim_wrapper.optimizer.lr': lr,
                'train_dataloader.dataset.fold': fold, 'run.fold': fold,
                'run.selection': 'last_epoch', 'run.precision': 'fp32',
                'run.world_size': 1}
    return dict(fold=fold, epochs=1, classes=list(classes),
                protocol='last epoch (1) of each fold', metrics=metrics,
                selection='last_epoch', skipped_clips={'test': 0},
                fingerprint=dict(hash=f'h{fold}{lr}', resolved=resolved))


def run_tool(args, cwd=ROOT):
    """Runs ``python tools/...`` in a fresh interpreter from the repository
    (or ``cwd``) and asserts that it succeeded.

    Args:
        args: The tool's path (relative to the repository) and arguments.
        cwd: The folder it runs in.

    Returns:
        str: its stdout and stderr.
    """
    env = dict(os.environ, HF_HUB_OFFLINE='1', PYTHONUNBUFFERED='1')
    args = [osp.join(ROOT, args[0])] + list(args[1:])
    proc = subprocess.run([sys.executable] + args, cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout + proc.stderr


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free now (for a process group)."""
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def run_torchrun(args, *more, nproc=2):
    """Runs ``python -m torch.distributed.run`` with ``nproc`` processes
    on this machine (``--launcher pytorch``, one OpenMP thread each) and
    asserts that it succeeded.

    Args:
        args: The tool's path (relative to the repository) and arguments.
        *more: Further tools with their arguments, run one after another
            in the same ranks (``tests/tool_sequence.py``): one job where a
            user would start one per tool, for the interpreter starts and
            imports it saves.
        nproc: How many ranks.

    Returns:
        str: the job's stdout and stderr.
    """
    env = dict(os.environ, HF_HUB_OFFLINE='1', OMP_NUM_THREADS='1',
               PYTHONPATH=ROOT + os.pathsep + os.environ.get('PYTHONPATH',
                                                             ''))
    commands = [[osp.join(ROOT, c[0])] + list(c[1:]) + ['--launcher',
                                                        'pytorch']
                for c in (args, ) + more]
    if more:
        script = [osp.join(ROOT, 'tests', 'tool_sequence.py')]
        for i, command in enumerate(commands):
            script += (['--then'] if i else []) + command
    else:
        script = commands[0]
    cmd = [sys.executable, '-m', 'torch.distributed.run',
           f'--nproc_per_node={nproc}', f'--master_port={free_port()}'
           ] + script
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout + proc.stderr


class ToolRun(NamedTuple):
    """What an in-process tool run left, as a process would have left it.

    Attributes:
        returncode: The exit status ``python tools/...`` would have had.
        stdout: Its prints and the MMEngine log lines.
        stderr: Warnings, ``SystemExit`` messages and tracebacks.
        value: What ``main`` returned (None when it raised).
    """

    returncode: int
    stdout: str
    stderr: str
    value: Any = None


_module_ids = itertools.count()


def load_tool(tool_path: str):
    """Imports a tool's file as a new module (under a name of its own, so
    two loads never share module state).

    Args:
        tool_path: The tool's path, relative to the repository or absolute.

    Returns:
        module: the imported tool, whose ``main`` can be called.
    """
    path = osp.join(ROOT, tool_path)
    stem = osp.splitext(osp.basename(path))[0]
    name = f'_fineclip_tool_{stem}_{next(_module_ids)}'
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _manager_classes():
    """Every MMEngine ``ManagerMixin`` class: MMLogger, MessageHub,
    DefaultScope, Visualizer and their subclasses, each with its own
    registry of named instances."""
    from mmengine.utils import ManagerMixin
    found, todo = [], [ManagerMixin]
    while todo:
        cls = todo.pop()
        found.append(cls)
        todo.extend(cls.__subclasses__())
    return [c for c in found if hasattr(c, '_instance_dict')]


def _plain_stream_handlers(logger):
    return [h for h in logger.handlers
            if type(h) is logging.StreamHandler]  # not the file handlers


@contextlib.contextmanager
def _isolated_process_state(cwd: str, argv0: str, out: io.StringIO,
                            err: io.StringIO):
    """Gives a tool what a fresh process would and takes back what it left.

    The tools change process-wide state a later test must not inherit:
    the working folder, ``sys.path`` (local imports), environment
    variables (``LOCAL_RANK``, ``OMP_NUM_THREADS``), torch's threads, dtype
    and random state (the Runner seeds every generator), OpenCV's threads,
    and MMEngine's named instances (each Runner adds a logger, message
    hub, visualizer and default scope; the newest is the "current" one
    that ``print_log`` and the registries use). All are restored here, and
    the instances a run created are dropped, their log files closed.
    Output goes to ``out`` and ``err``: loggers that exist already are
    pointed there for the run, and the Runner's logger, created during
    it, finds ``sys.stdout`` redirected.
    """
    import cv2
    from mmengine.logging import MMLogger
    saved = dict(
        cwd=os.getcwd(), environ=dict(os.environ), path=list(sys.path),
        argv=list(sys.argv), dtype=torch.get_default_dtype(),
        threads=torch.get_num_threads(), cv2_threads=cv2.getNumThreads(),
        matmul=torch.get_float32_matmul_precision(),
        deterministic=torch.are_deterministic_algorithms_enabled(),
        torch_rng=torch.get_rng_state(), numpy_rng=np.random.get_state(),
        python_rng=random.getstate())
    instances = {cls: set(cls._instance_dict) for cls in _manager_classes()}
    old_streams = [(h, h.stream)
                   for logger in MMLogger._instance_dict.values()
                   for h in _plain_stream_handlers(logger)]
    for handler, _ in old_streams:
        handler.setStream(out)
    os.chdir(cwd)
    sys.argv = [argv0]
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            yield
    finally:
        for handler, stream in old_streams:
            handler.setStream(stream)
        for cls in _manager_classes():
            before = instances.get(cls, set())
            for name in [n for n in cls._instance_dict if n not in before]:
                instance = cls._instance_dict.pop(name)
                if isinstance(instance, logging.Logger):
                    for handler in list(instance.handlers):
                        handler.close()
                        instance.removeHandler(handler)
        os.chdir(saved['cwd'])
        os.environ.clear()
        os.environ.update(saved['environ'])
        sys.path[:] = saved['path']
        sys.argv = saved['argv']
        torch.set_default_dtype(saved['dtype'])
        torch.set_num_threads(saved['threads'])
        torch.set_float32_matmul_precision(saved['matmul'])
        torch.use_deterministic_algorithms(saved['deterministic'])
        cv2.setNumThreads(saved['cv2_threads'])
        torch.set_rng_state(saved['torch_rng'])
        np.random.set_state(saved['numpy_rng'])
        random.setstate(saved['python_rng'])
        # the Runner sits in reference cycles: free its model and loaders
        gc.collect()


def call_tool_main(tool_path: str, argv: Sequence[str],
                   cwd: Optional[str] = None) -> ToolRun:
    """Runs a tool's ``main(argv)`` in this process, as the command line
    ``python TOOL ARGV...`` would (run from ``cwd``), and reports it.

    Output is captured here, whatever pytest's capture does. The run goes
    through the tools' error boundary
    (:func:`fineclip.apis.error_boundary.call_tool`), so it ends as the
    process would: a user's mistake in its message on stderr and status 2,
    any other exception in its traceback and status 1, a returned int as
    the exit status.

    Args:
        tool_path: The tool, relative to the repository or absolute.
        argv: Its arguments, without the program name.
        cwd: The folder it runs in (default: the repository).

    Returns:
        ToolRun: exit status, stdout, stderr and ``main``'s return value.
    """
    from fineclip.apis.error_boundary import call_tool
    out, err = io.StringIO(), io.StringIO()
    module = load_tool(tool_path)
    with _isolated_process_state(cwd or ROOT, osp.join(ROOT, tool_path),
                                 out, err):
        # the boundary the tool's __main__ runs under: a user error ends in
        # its message and status 2, a bug in its traceback and status 1
        code, value = call_tool(module.main, [str(a) for a in argv])
    return ToolRun(code, out.getvalue(), err.getvalue(), value)


def run_tool_main(tool_path: str, argv: Sequence[str],
                  cwd: Optional[str] = None) -> str:
    """:func:`call_tool_main`, asserting success like :func:`run_tool`.

    Returns:
        str: the run's stdout and stderr (log lines included).

    Raises:
        AssertionError: the run failed; the message holds its output.
    """
    run = call_tool_main(tool_path, argv, cwd)
    assert run.returncode == 0, (
        f'{tool_path} exited with {run.returncode}:\n'
        f'{run.stdout[-3000:]}{run.stderr[-3000:]}')
    return run.stdout + run.stderr
