"""The exception a tool reports as a user's mistake rather than a bug.

A :class:`UserInputError` says what the user gave that cannot work (a
config key, a file, an option) and how to fix it. The tools end on one with
its message and exit status 2, without a traceback; any other exception is
a bug and keeps its traceback.
"""


class UserInputError(Exception):
    """A problem with the user's input: a config value, a file, an option.

    The message names the file and line, or the key, and the fix.
    """


class ConfigError(UserInputError, ValueError):
    """A config file, key or value that cannot work (the message names the
    file or the key and the fix). A ``ValueError`` too, for callers that
    caught the config checks' errors by that name."""


class UnknownTypeError(UserInputError, KeyError):
    """A ``type`` name no registry holds (a ``KeyError`` too, for callers
    that caught it by that name)."""

    def __str__(self) -> str:
        # KeyError's own str() quotes the message, which reads badly
        return str(self.args[0]) if self.args else ''


class InputError(UserInputError, ValueError):
    """An input file or option value that cannot work (a dump, a log, a
    ``--keys`` pattern), other than a config's (a ``ValueError`` too)."""


class UnknownNameError(UserInputError, KeyError):
    """A name the user gave that is not there: a clip id, a branch, a
    logged scalar (a ``KeyError`` too)."""

    def __str__(self) -> str:
        # KeyError's own str() quotes the message, which reads badly
        return str(self.args[0]) if self.args else ''


class OutOfRangeError(UserInputError, IndexError):
    """An index option outside what it indexes (an ``IndexError`` too)."""
