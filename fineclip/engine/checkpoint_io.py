"""Checkpoint files that survive crashes and cannot run code when read.

Writing: :func:`atomic_write_bytes` writes to a temporary file in the
target's folder, flushes it to disk (``fsync``) and renames it over the
target (``os.replace``, atomic on POSIX), then syncs the folder. A process
killed at any point leaves either the previous file or the complete new
one, never a truncated checkpoint under the final name; a killed writer
leaves at most a ``.<name>.<pid>.tmp`` file, which nothing reads.
:class:`AtomicLocalBackend` (``backend_args=dict(backend='fineclip_atomic')``
on the ``CheckpointHook``, as ``configs/_base_/default_runtime.py`` sets)
makes MMEngine's checkpoint saves use it.

Reading: :func:`read_checkpoint` is ``torch.load(weights_only=True)`` with
errors that name the file. It is registered as MMEngine's loader for local
paths, so ``load_from``, ``--resume`` and ``tools/test.py`` read through it
with ``weights_only=True`` passed explicitly (it then holds even where
``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD`` is set). :func:`find_resumable_checkpoint`
picks the newest checkpoint of a work dir that loads.
"""
import logging
import os
import os.path as osp
import pickle
import re
import sys
import zipfile
from typing import List, Optional, Tuple

import torch
from mmengine.fileio.backends import LocalBackend, register_backend
from mmengine.logging import print_log
from mmengine.runner.checkpoint import CheckpointLoader

from fineclip.utils.errors import UserInputError

ATOMIC_BACKEND = 'fineclip_atomic'
#: The command that converts a checkpoint of the official DFER-CLIP code.
DFER_CLIP_CONVERTER = ('python tools/model_converters/dfer_clip.py {path} '
                       'OUT.pth --dataset {{dfew,ferv39k,mafw}}')
_CKPT_NAME = re.compile(r'^(epoch|iter)_(\d+)\.pth$')


class CheckpointError(UserInputError, RuntimeError):
    """A checkpoint that cannot be read or does not fit the model."""


class UnreadableCheckpointError(CheckpointError):
    """A checkpoint file that cannot be read safely (truncated, corrupt, or
    holding pickled objects that could run code), whatever the model."""


class ForeignCheckpointError(UnreadableCheckpointError, UserInputError):
    """A checkpoint of another code base that a converter turns into a
    FineCLIP one; the message gives the command."""


def _official_dfer_clip(path: str, loaded=None) -> bool:
    """Whether ``path`` is a checkpoint of the official DFER-CLIP code:
    its training script's pickled ``RecorderMeter`` (found by reading the
    pickle's opcodes, nothing run), or, once ``loaded``, its model's keys
    (``[module.]temporal_net.*`` and ``prompt_learner.ctx``)."""
    if loaded is None:
        try:
            names = torch.serialization.get_unsafe_globals_in_checkpoint(path)
        except Exception:  # not a zip-format torch file: not one of them
            return False
        return any(name.endswith('.RecorderMeter') for name in names)
    state = loaded.get('state_dict', loaded) if isinstance(loaded, dict) \
        else None
    if not isinstance(state, dict):
        return False
    keys = {str(k)[len('module.'):] if str(k).startswith('module.')
            else str(k) for k in state}
    return 'prompt_learner.ctx' in keys and any(
        k.startswith('temporal_net.') for k in keys)


def _dfer_clip_message(path: str) -> str:
    return (f"'{path}' is a checkpoint of the official DFER-CLIP code, "
            'not a FineCLIP one. Convert it (nothing in it is run) and use '
            'the config written beside the output:\n  '
            + DFER_CLIP_CONVERTER.format(path=path))


def _write_bytes(f, data: bytes) -> None:
    """Writes all of ``data`` to an open file (a seam for fault tests)."""
    f.write(data)


def atomic_write_bytes(data: bytes, path: str) -> None:
    """Writes ``data`` to ``path`` so that ``path`` is never partial.

    The bytes go to ``.<name>.<pid>.tmp`` in the same folder (a rename is
    atomic only within one file system), are ``fsync``-ed, and the file is
    renamed onto ``path``; the folder is synced so the rename itself
    survives a power cut. On an exception (``KeyboardInterrupt`` included)
    the temporary file is removed and ``path`` is left as it was; an
    ``OSError`` (a full disk, no permission) is raised again naming
    ``path``.
    """
    folder = osp.dirname(osp.abspath(path))
    os.makedirs(folder, exist_ok=True)
    tmp = osp.join(folder, f'.{osp.basename(path)}.{os.getpid()}.tmp')
    try:
        with open(tmp, 'wb') as f:
            _write_bytes(f, data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as err:
        if osp.exists(tmp):
            os.remove(tmp)
        if isinstance(err, OSError) and err.errno is not None:
            # the path the user knows, not the temporary file's name
            raise type(err)(
                err.errno, f'cannot write {path}: {err.strerror}; the file '
                'there (if any) was left as it was', path) from err
        raise
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # folders cannot be opened on some systems
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@register_backend(ATOMIC_BACKEND)
class AtomicLocalBackend(LocalBackend):
    """MMEngine's local file backend with atomic :meth:`put`.

    Everything else (``isfile``, ``remove``, ``join_path``) is the local
    backend's, so the ``CheckpointHook`` keeps its rotation of old files.
    """

    def put(self, obj: bytes, filepath) -> None:
        atomic_write_bytes(obj, str(filepath))

    def put_text(self, obj: str, filepath, encoding: str = 'utf-8') -> None:
        atomic_write_bytes(obj.encode(encoding), str(filepath))


def read_checkpoint(path: str, map_location='cpu') -> dict:
    """Reads a checkpoint file, refusing anything that could run code.

    Args:
        path: A ``.pth`` file (MMEngine's, or a plain ``state_dict``).
        map_location: As for ``torch.load``.

    Raises:
        FileNotFoundError: no such file.
        UnreadableCheckpointError: truncated or corrupt, or pickled
            objects other than tensors, plain containers and the few
            MMEngine types :mod:`fineclip.compat` allows; the message
            names the file.
        ForeignCheckpointError: a checkpoint of the official DFER-CLIP
            code (its released files, or a bare state dict of its model);
            the message gives the converter command.

    Returns:
        The loaded object (a dict for every MMEngine checkpoint).
    """
    path = osp.expanduser(str(path))
    if not osp.isfile(path):
        raise FileNotFoundError(f"No such checkpoint: '{path}'")
    try:
        loaded = torch.load(path, map_location=map_location,
                            weights_only=True)
    except pickle.UnpicklingError as err:
        if _official_dfer_clip(path):
            raise ForeignCheckpointError(_dfer_clip_message(path)) from err
        first = str(err).strip().splitlines()[0][:300]
        raise UnreadableCheckpointError(
            f"'{path}' was refused: it holds pickled objects other than "
            'tensors and plain containers, which could run code when '
            'loaded. FineCLIP reads checkpoints with weights_only=True; '
            f'only load it if you trust where it came from ({first})'
        ) from err
    except (RuntimeError, EOFError, OSError, ValueError,
            zipfile.BadZipFile) as err:
        size = osp.getsize(path)
        raise UnreadableCheckpointError(
            f"Cannot read checkpoint '{path}' ({size} bytes): it is "
            'truncated or corrupt (a copy or a save that did not finish?): '
            f'{str(err).strip()[:300]}') from err
    if _official_dfer_clip(path, loaded):  # a bare official state dict
        raise ForeignCheckpointError(_dfer_clip_message(path))
    return loaded


@CheckpointLoader.register_scheme(prefixes='', force=True)
def _load_from_local(filename, map_location):
    """MMEngine's loader for local paths, through :func:`read_checkpoint`."""
    return read_checkpoint(filename, map_location=map_location)


def _candidates(work_dir: str) -> List[str]:
    """Checkpoints of a work dir, the one ``last_checkpoint`` names first,
    then ``epoch_N``/``iter_N`` files from the highest ``N``."""
    ordered = []
    pointer = osp.join(work_dir, 'last_checkpoint')
    if osp.isfile(pointer):
        with open(pointer, encoding='utf-8', errors='replace') as f:
            named = f.read().strip()
        if named:
            ordered.append(named)
    found: List[Tuple[int, str]] = []
    for name in os.listdir(work_dir):
        match = _CKPT_NAME.match(name)
        if match:
            found.append((int(match.group(2)), osp.join(work_dir, name)))
    for _, path in sorted(found, reverse=True):
        if all(osp.abspath(path) != osp.abspath(p) for p in ordered):
            ordered.append(path)
    return ordered


def find_resumable_checkpoint(work_dir: str,
                              purpose: str = '--resume') -> Optional[str]:
    """The newest checkpoint in ``work_dir`` that loads, for ``--resume``.

    A checkpoint that does not load (truncated by a crash of a non-atomic
    writer, or refused) is skipped with a warning naming it, and the
    next-newest is tried; temporary files of a killed save are never
    considered.

    Args:
        work_dir: The folder.
        purpose: What the log lines say the search is for.

    Returns:
        The path, or None when the work dir holds no loadable checkpoint
        (training then starts from the beginning).
    """
    if not osp.isdir(work_dir):
        return None
    for path in _candidates(work_dir):
        try:
            read_checkpoint(path)
        except (FileNotFoundError, CheckpointError) as err:
            print_log(f'{purpose}: skipping {err}', logger='current',
                      level=logging.WARNING)
            continue
        print_log(f'{purpose}: the newest loadable checkpoint in {work_dir} '
                  f'is {path}', logger='current')
        return path
    return None


def resolve_checkpoint(path: str, option: str = 'CHECKPOINT') -> str:
    """``path`` itself when it is a file; for a folder (a work dir given
    where a checkpoint belongs), its newest loadable checkpoint, saying
    which one on stderr.

    Raises:
        CheckpointError: a folder without a loadable checkpoint (naming
            it and what was looked for).
    """
    if not osp.isdir(path):
        return path
    found = find_resumable_checkpoint(path, purpose=option)
    if found is None:
        raise CheckpointError(
            f'{option} {path} is a folder without a loadable checkpoint '
            '(epoch_N.pth, iter_N.pth or what last_checkpoint names); '
            'give a checkpoint file or the work dir of a training run.')
    print(f'{option} {path} is a folder: using its newest loadable '
          f'checkpoint, {found}', file=sys.stderr)
    return found
