"""The one error boundary every tool runs under.

``tools/*.py`` end with ``sys.exit(run_main(main))``. What a user got wrong
(a :class:`~fineclip.utils.errors.UserInputError`, an OS error about a
path such as a missing file or a full disk, or a ``SystemExit`` carrying
a message) ends in that one message on stderr and exit status 2,
with no traceback: the message already names the file, key or line and
the fix, and a traceback would bury it. ``--debug`` (taken off the
arguments before the tool parses them) or ``FINECLIP_DEBUG=1`` shows the
traceback as well. Any other exception is a bug: its traceback is printed,
then one line asking for a report, and the status is 1. A tool that
returns an int exits with it (the checkers' 1 means "problems found").
"""
import errno
import os
import sys
import traceback
from typing import Any, Callable, List, NamedTuple, Optional, Sequence

from fineclip.utils.errors import UserInputError

#: Set to ``1`` to see the traceback of a user error too.
DEBUG_ENV = 'FINECLIP_DEBUG'
USER_ERROR_STATUS = 2
BUG_STATUS = 1
BUG_LINE = ('This is a bug in FineCLIP (or an input it should have named '
            'clearly): please report it with the command line and the '
            'traceback above.')


class ToolOutcome(NamedTuple):
    """How a tool run ended.

    Attributes:
        status: The process's exit status.
        value: What ``main`` returned (None when it raised).
    """

    status: int
    value: Any = None


#: OS errors about a path the user gave or the machine's state (the
#: message names the path): a missing file, a folder where a file belongs
#: and the reverse, no permission, a full or read-only disk, a symlink loop.
_USER_ERRNOS = {errno.ENOENT, errno.EISDIR, errno.ENOTDIR, errno.EACCES,
                errno.EPERM, errno.ENOSPC, errno.EROFS, errno.ELOOP,
                errno.EDQUOT, errno.ENAMETOOLONG, errno.EEXIST}


def is_user_error(err: BaseException) -> bool:
    """Whether ``err`` reports the user's input (or the disk), not a bug.

    :class:`UserInputError` and its subclasses; ``DescriptionMergeError``
    (kept on its own base for the callers that catch it); the OS errors
    about a path (``FileNotFoundError``, ``PermissionError``, a full disk,
    ...), whose message names the path.
    """
    from fineclip.apis.description_parts import DescriptionMergeError
    if isinstance(err, (UserInputError, DescriptionMergeError)):
        return True
    if isinstance(err, (FileNotFoundError, PermissionError,
                        IsADirectoryError, NotADirectoryError)):
        return True
    return isinstance(err, OSError) and err.errno in _USER_ERRNOS


def _cfg_options_problem(argv: Sequence[str]) -> Optional[str]:
    """The message for a ``--cfg-options`` item without ``=``, or None.

    MMEngine's ``DictAction`` unpacks ``key=value`` without a check, so a
    bare key would end in ``not enough values to unpack``.
    """
    inside = False
    for arg in argv:
        if arg == '--cfg-options':
            inside = True
        elif arg.startswith('-'):  # the next option ends the list
            inside = arg.startswith('--cfg-options=')
            if inside and '=' not in arg[len('--cfg-options='):]:
                return _bare_key_message(arg[len('--cfg-options='):])
        elif inside and '=' not in arg:
            return _bare_key_message(arg)
    return None


def _bare_key_message(key: str) -> str:
    return (f"--cfg-options '{key}': an override is KEY=VALUE; give "
            f"'{key}=<value>' (e.g. train_cfg.max_epochs=3), or "
            'put options that are not overrides before --cfg-options.')


def _debug_wanted(argv: List[str]) -> bool:
    flag = '--debug' in argv
    while '--debug' in argv:
        argv.remove('--debug')
    return flag or os.environ.get(DEBUG_ENV, '').lower() in (
        '1', 'true', 'yes')


def call_tool(main: Callable, argv: Optional[Sequence[str]] = None
              ) -> ToolOutcome:
    """Runs a tool's ``main(argv)`` under the error boundary.

    Args:
        main: The tool's ``main``; it takes the argument list.
        argv: Its arguments without the program name (default:
            ``sys.argv[1:]``). ``--debug`` is taken out here.

    Returns:
        ToolOutcome: the exit status and what ``main`` returned.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = _debug_wanted(argv)
    problem = _cfg_options_problem(argv)
    if problem:
        print(f'error: {problem}', file=sys.stderr)
        return ToolOutcome(USER_ERROR_STATUS)
    try:
        value = main(argv)
    except SystemExit as stop:
        if stop.code is None or isinstance(stop.code, int):
            return ToolOutcome(stop.code or 0)
        # a tool's own message for the user's mistake
        if debug:
            traceback.print_exc()
        print(stop.code, file=sys.stderr)
        return ToolOutcome(USER_ERROR_STATUS)
    except Exception as err:  # pylint: disable=broad-except
        if not is_user_error(err):  # ours to fix: the whole traceback
            traceback.print_exc()
            print(BUG_LINE, file=sys.stderr)
            return ToolOutcome(BUG_STATUS)
        if debug:
            traceback.print_exc()
        print(f'error: {err}', file=sys.stderr)
        if not debug:
            print(f'(run with --debug or {DEBUG_ENV}=1 for the traceback)',
                  file=sys.stderr)
        return ToolOutcome(USER_ERROR_STATUS)
    status = (value if isinstance(value, int)
              and not isinstance(value, bool) else 0)
    return ToolOutcome(status, value)


def run_main(main: Callable, argv: Optional[Sequence[str]] = None) -> int:
    """:func:`call_tool`'s exit status: ``sys.exit(run_main(main))``."""
    return call_tool(main, argv).status
