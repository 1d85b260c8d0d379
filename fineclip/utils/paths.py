"""Checks of the folders a run will write to, before it starts.

MMEngine creates the work dir when the Runner is built; a work dir that is
a file, or one inside a folder the user cannot write, ends there in a bare
``FileExistsError`` or ``PermissionError``. These checks name the path and
the fix first.
"""
import os
import os.path as osp

from .errors import UserInputError


class PathError(UserInputError, OSError):
    """A path that is the wrong kind (file vs folder) or cannot be
    written (an ``OSError`` too, for callers that catch those)."""


class MissingFileError(UserInputError, FileNotFoundError):
    """A file the user named that does not exist (a ``FileNotFoundError``
    too, for callers that catch those)."""


def check_writable_dir(path: str, what: str = 'work dir') -> None:
    """Raises a :class:`PathError` unless ``path`` is, or can be made as, a
    folder this process may write into.

    Args:
        path: The folder (it need not exist yet).
        what: How the message calls it (``'work dir'``, ``'--out'``).
    """
    probe = osp.abspath(path)
    while not osp.exists(probe):
        parent = osp.dirname(probe)
        if parent == probe:
            return
        probe = parent
    if not osp.isdir(probe):
        if probe == osp.abspath(path):
            raise PathError(f'{what} {path}: is a file, not a folder; give '
                            'a folder (it is created if missing)')
        raise PathError(f'{what} {path}: {probe} is a file, so no folder '
                        'can be made under it; choose another path')
    if not os.access(probe, os.W_OK | os.X_OK):
        raise PathError(f'{what} {path}: permission denied: {probe} is not '
                        'writable by this user; choose a folder you can '
                        'write to or change its permissions')
