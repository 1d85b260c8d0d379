"""One training run per work dir.

Two runs writing into one work dir interleave their checkpoints and their
``last_checkpoint`` pointer, and ``--resume`` then continues from whichever
wrote last. :func:`work_dir_lock` holds ``<work_dir>/.train.lock`` for the
length of a run: an exclusive ``flock`` on it (released by the kernel when
the process dies, however it dies) and, inside it, who holds it (pid,
host, start time, command line) for the message a second run gets.

A lock file left by a run that died (its ``flock`` is gone) is taken over
with a warning naming the dead run.
"""
import contextlib
import fcntl
import json
import logging
import os
import os.path as osp
import socket
import sys
import time
from typing import Iterator, Optional

from mmengine.logging import print_log

from fineclip.utils.errors import UserInputError

LOCK_NAME = '.train.lock'


class WorkDirLocked(UserInputError, RuntimeError):
    """Another live run holds the work dir."""


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, another user's
        return True
    return True


def _describe(holder: dict) -> str:
    started = holder.get('started')
    when = (time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(started))
            if isinstance(started, (int, float)) else 'an unknown time')
    return (f"pid {holder.get('pid', '?')} on host "
            f"{holder.get('host', '?')}, started {when}: "
            f"{holder.get('command', '?')}")


def _read_holder(fd: int) -> Optional[dict]:
    os.lseek(fd, 0, os.SEEK_SET)
    raw = os.read(fd, 65536)
    if not raw.strip():
        return None
    try:
        holder = json.loads(raw.decode('utf-8', errors='replace'))
    except ValueError:
        return {'command': repr(raw[:200])}
    return holder if isinstance(holder, dict) else None


def is_lock_rank() -> bool:
    """Whether this process takes the lock: rank 0 only (read from the
    launcher's environment, as the process group does not exist yet)."""
    for key in ('RANK', 'SLURM_PROCID', 'OMPI_COMM_WORLD_RANK'):
        if os.environ.get(key, '').strip():
            return os.environ[key].strip() == '0'
    return True


@contextlib.contextmanager
def work_dir_lock(work_dir: str) -> Iterator[str]:
    """Holds ``work_dir`` for one training run.

    Args:
        work_dir: The run's work dir (created if missing).

    Yields:
        str: the lock file's path.

    Raises:
        WorkDirLocked: a live run holds it; the message names that run
            (pid, host, start, command) and the lock file.
    """
    os.makedirs(work_dir, exist_ok=True)
    path = osp.join(work_dir, LOCK_NAME)
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_holder(fd) or {}
            os.close(fd)
            raise WorkDirLocked(
                f"The work dir '{work_dir}' is in use by another training "
                f'run ({_describe(holder)}). Wait for it to end, stop it, '
                'or train into another --work-dir. (Lock file: '
                f"'{path}'.)") from None
        except OSError:
            os.close(fd)
            raise
        try:
            if os.fstat(fd).st_ino != os.stat(path).st_ino:
                # the holder released (and removed) it between our open
                # and our flock: lock the new file instead
                os.close(fd)
                continue
        except FileNotFoundError:
            os.close(fd)
            continue
        break
    try:
        stale = _read_holder(fd)
        if stale:
            pid = stale.get('pid')
            state = ('no longer runs' if stale.get('host') ==
                     socket.gethostname() and isinstance(pid, int)
                     and not _pid_alive(pid) else 'no longer holds it')
            print_log(f"Taking over the stale lock '{path}' of a run that "
                      f'{state} ({_describe(stale)}); it ended without '
                      'releasing it (killed?). Use --resume to continue it.',
                      logger='current', level=logging.WARNING)
        me = dict(pid=os.getpid(), host=socket.gethostname(),
                  started=time.time(), command=' '.join(sys.argv))
        os.ftruncate(fd, 0)
        os.lseek(fd, 0, os.SEEK_SET)
        os.write(fd, json.dumps(me).encode())
        os.fsync(fd)
        yield path
    finally:
        # remove before unlocking: a run waiting on this inode then sees
        # it is gone (the st_ino check above) and locks a fresh file
        with contextlib.suppress(FileNotFoundError):
            os.remove(path)
        os.close(fd)


@contextlib.contextmanager
def training_lock(work_dir: str) -> Iterator[Optional[str]]:
    """:func:`work_dir_lock` on rank 0, nothing on the other ranks;
    :class:`WorkDirLocked` becomes ``SystemExit`` with its message."""
    path = None
    with contextlib.ExitStack() as stack:
        if is_lock_rank():
            try:
                path = stack.enter_context(work_dir_lock(work_dir))
            except WorkDirLocked as err:
                raise SystemExit(str(err)) from None
        yield path
