"""Creates the embedded default's data and tiny CLIP on first use.

A config that runs on the embedded default carries an ``embedded_default``
section, e.g.::

    embedded_default = dict(
        synthetic_data=dict(layout='dfew', out_dir='data/synthetic_dfew',
                            num_clips=350),
        tiny_clip=dict(out_file='data/tiny_clip/tiny_clip.pth', arch=...))

``layout`` is ``'dfew'``, ``'ferv39k'`` or ``'mafw'``: the synthetic set is
written in that dataset's official layout.

``tools/train.py`` and ``tools/test.py`` call :func:`prepare_embedded_default`
before building the Runner; whatever already exists is left alone.
"""
import os
import os.path as osp
import shutil
import socket
import time

from mmengine.logging import print_log

from fineclip.engine.distributed import local_rank_from_env
from fineclip.pretraining import pretrain_tiny_clip, tiny_clip_ready

_WAIT_SECONDS = 1800


def _is_lead_process() -> bool:
    """One process per machine creates files; the others wait for them.

    The lead is local rank 0: ``LOCAL_RANK`` under torchrun, and under
    srun, which sets no ``LOCAL_RANK``, ``SLURM_LOCALID`` (read before
    any default of 0, else every task of a node would generate). Per
    machine, not per job: nodes need not share a file system.
    """
    return local_rank_from_env() == 0


def _wait_for(path: str, what: str) -> None:
    deadline = time.time() + _WAIT_SECONDS
    while not osp.exists(path):
        if time.time() > deadline:
            raise TimeoutError(f'Timed out waiting for {what} at {path}')
        time.sleep(2)


def ensure_synthetic_data(out_dir: str, layout: str = 'dfew',
                          **kwargs) -> str:
    """Generates a synthetic set in ``layout`` unless it is complete.

    The set is written to a temporary sibling folder and renamed when done,
    so an interrupted generation never looks complete.
    """
    marker = osp.join(out_dir, 'meta.json')
    if osp.isfile(marker):
        return out_dir
    if not _is_lead_process():
        _wait_for(marker, 'the synthetic dataset')
        return out_dir
    if osp.exists(out_dir):
        raise FileExistsError(
            f"'{out_dir}' exists but holds no meta.json: it is not a complete "
            'synthetic set. Remove it, or point the config elsewhere.')
    from fineclip.datasets.synthetic import generate_synthetic
    print_log(f'Generating the synthetic {layout}-layout set in {out_dir} '
              '(first use only)...', logger='current')
    # one temporary folder per process: the leads of two nodes that share
    # a file system may generate at the same time (the same seeded set)
    tmp = f'{out_dir.rstrip(os.sep)}.partial-{socket.gethostname()}-' \
          f'{os.getpid()}'
    shutil.rmtree(tmp, ignore_errors=True)
    generate_synthetic(layout, tmp, **kwargs)
    try:
        os.replace(tmp, out_dir)
    except OSError:
        if not osp.isfile(marker):
            raise
        shutil.rmtree(tmp, ignore_errors=True)  # another lead finished first
    return out_dir


def ensure_tiny_clip(out_file: str, arch: dict, **kwargs) -> str:
    """Pretrains the tiny CLIP unless weights for ``arch`` already exist."""
    if tiny_clip_ready(out_file, arch):
        return out_file
    if not _is_lead_process():
        _wait_for(f'{out_file}.json', 'the tiny CLIP weights')
        return out_file
    print_log(
        f'Pretraining the tiny CLIP into {out_file} (first use only; '
        'each stage says how long it will take once it has timed its '
        'first steps)...',
        logger='current')
    info = pretrain_tiny_clip(out_file, arch, **kwargs)
    print_log(f'Tiny CLIP ready: {info}', logger='current')
    return out_file


def prepare_embedded_default(cfg, parts=('synthetic_data', 'tiny_clip')
                             ) -> None:
    """Creates what ``cfg.embedded_default`` names, if missing.

    Args:
        cfg (mmengine.Config): A loaded config; without an
            ``embedded_default`` section nothing happens.
        parts (Sequence[str]): Which of its entries to create (building a
            model needs only the tiny CLIP, not the data).
    """
    spec = cfg.get('embedded_default')
    if not spec:
        return
    unknown = set(spec) - {'synthetic_data', 'tiny_clip'}
    if unknown:
        raise KeyError(
            f'embedded_default has unknown entries {sorted(unknown)}'
            "; known: 'synthetic_data', 'tiny_clip'")
    if 'synthetic_data' in parts and spec.get('synthetic_data'):
        ensure_synthetic_data(**spec['synthetic_data'])
    if 'tiny_clip' in parts and spec.get('tiny_clip'):
        tiny = dict(spec['tiny_clip'])
        tiny['arch'] = _plain(tiny['arch'])
        ensure_tiny_clip(**tiny)


def _plain(value):
    """ConfigDict -> dict (recursively), so the arch compares and saves as
    plain JSON."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value
