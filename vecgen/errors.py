"""Error hierarchy: every error vecgen raises on purpose derives from VecgenError.

The CLI prints ``str(error)`` as one line and exits non-zero; anything else is a bug.
"""

from __future__ import annotations


class VecgenError(Exception):
    """Base class of all deliberate vecgen errors (printed without a traceback)."""


class ConfigError(VecgenError, ValueError):
    """A setting is unknown, of the wrong type or out of range."""


class OutputError(VecgenError, OSError):
    """The output location cannot be written (permissions, missing bucket, ...)."""


class VocabularyError(VecgenError, RuntimeError):
    """The packaged vocabularies are missing, corrupt or cannot be rebuilt."""


class MissingDependencyError(VecgenError, ImportError):
    """An optional dependency is needed; the message names the extra to install."""
