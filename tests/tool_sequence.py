"""Runs several tools one after another in one process, each as
``python TOOL ARGS`` would run it:
``python tests/tool_sequence.py TOOL ARGS... --then TOOL ARGS...``.

For the torchrun tests (:func:`tests.helpers.run_torchrun` with several
commands): a job that trains and then tests starts its ranks, imports
torch, MMEngine and open_clip and joins the gloo group once instead of
once per tool (tests/tools/test_distributed.py: 25 -> 14 s on 2 cores).
The tools keep a process group that is already up, as they would keep
one a launcher started.
"""
import runpy
import sys

SEPARATOR = '--then'


def split_commands(argv):
    """``[TOOL, ARGS..., '--then', TOOL, ARGS...]`` -> one list per tool."""
    commands, current = [], []
    for arg in argv:
        if arg == SEPARATOR:
            commands.append(current)
            current = []
        else:
            current.append(arg)
    commands.append(current)
    if not all(commands):
        raise SystemExit(f'usage: {sys.argv[0]} TOOL ARGS... '
                         f'[{SEPARATOR} TOOL ARGS...]')
    return commands


def main(argv=None):
    for command in split_commands(sys.argv[1:] if argv is None else argv):
        sys.argv = list(command)
        try:
            runpy.run_path(command[0], run_name='__main__')
        except SystemExit as done:  # a tool's own exit ends only its turn
            if done.code not in (None, 0):
                raise


if __name__ == '__main__':
    main()
