"""Error hierarchy: every error vecgen raises on purpose derives from VecgenError.

The CLI prints ``str(error)`` as one line and exits non-zero; anything else is a bug.
"""

from __future__ import annotations


def one_line(text: str) -> str:
    r"""``text`` with its control characters (newlines, tabs, NUL) shown escaped.

    Examples
    --------
    >>> print(one_line("'sources.\n' is not a source"))
    'sources.\n' is not a source

    """
    return "".join(
        ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in text
    )


def cause(exc: BaseException, limit: int = 120) -> str:
    r"""Return the first line of a library's error, cut to ``limit`` characters (else its class).

    Examples
    --------
    >>> cause(ValueError("could not parse 'x' as i64\n\nHint: ..."))
    "could not parse 'x' as i64"

    """
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:limit]


class VecgenError(Exception):
    """Base class of all deliberate vecgen errors (printed without a traceback).

    Its text is one line whatever the input it quotes: a key or value holding
    a newline or another control character is shown escaped.
    """

    def __str__(self) -> str:
        return one_line(super().__str__())


class ConfigError(VecgenError, ValueError):
    """A setting is unknown, of the wrong type or out of range."""


class OutputError(VecgenError, OSError):
    """The output location cannot be written (permissions, missing bucket, ...)."""


class VocabularyError(VecgenError, RuntimeError):
    """The packaged vocabularies are missing, corrupt or cannot be rebuilt."""


class MissingDependencyError(VecgenError, ImportError):
    """An optional dependency is needed; the message names the extra to install."""
