"""Progress bars that stay readable in a log file.

On a terminal a bar redraws itself in place. Redirected to a file or a pipe
(a cluster job's log, ``| tee``), those redraws would be one endless line of
carriage returns; there :func:`progress_bar` writes a plain line every
:data:`PLAIN_INTERVAL` seconds instead, with the same counts, rate and
estimated time left.
"""
import sys
from typing import Iterable, Optional, TextIO

from tqdm import tqdm

#: Seconds between two plain progress lines when the output is no terminal.
PLAIN_INTERVAL = 30.0


def is_terminal(stream: Optional[TextIO]) -> bool:
    """Whether ``stream`` is an interactive terminal."""
    try:
        return bool(stream is not None and stream.isatty())
    except (AttributeError, ValueError):  # closed or not a real stream
        return False


class _PlainLines:
    """A file for tqdm that turns each in-place redraw into one line."""

    def __init__(self, stream: TextIO):
        self.stream = stream

    def write(self, text: str) -> None:
        line = text.replace('\r', '').replace('\x1b[A', '').rstrip()
        if line:
            self.stream.write(line + '\n')

    def flush(self) -> None:
        self.stream.flush()


def progress_bar(iterable: Optional[Iterable] = None,
                 **kwargs) -> tqdm:
    """A ``tqdm`` bar (same arguments) that writes plain periodic lines
    where its output is not a terminal.

    Args:
        iterable: What to iterate over, as for ``tqdm``.
        **kwargs: ``tqdm``'s arguments (``desc``, ``total``, ``unit``,
            ``disable``, ``file``...); ``mininterval`` defaults to
            :data:`PLAIN_INTERVAL` off a terminal.

    Returns:
        tqdm: the bar.
    """
    stream = kwargs.pop('file', None) or sys.stderr
    if not is_terminal(stream):
        kwargs.setdefault('mininterval', PLAIN_INTERVAL)
        kwargs.setdefault('ascii', True)
        kwargs.setdefault('ncols', 100)
        kwargs.pop('position', None)  # no cursor moves in a file
        stream = _PlainLines(stream)
    return tqdm(iterable, file=stream, **kwargs)
