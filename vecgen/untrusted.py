"""Reading the small files vecgen is handed (config, state, journal) as untrusted input."""

from __future__ import annotations

import stat
from pathlib import Path

MAX_BYTES = 1 << 20


def read_small_text(path: Path, limit: int = MAX_BYTES) -> str:
    r"""Return the text of ``path``: a regular file (a FIFO would block), ``limit`` bytes, UTF-8.

    Raises ``FileNotFoundError`` / ``OSError`` as reading does, and
    ``ValueError`` whose message completes "``<file>`` ..." (what is wrong).

    Examples
    --------
    >>> import tempfile
    >>> p = Path(tempfile.mkdtemp()) / "x"
    >>> _ = p.write_bytes(b"caf\xe9")
    >>> read_small_text(p)
    Traceback (most recent call last):
    ...
    ValueError: is not UTF-8 text (byte 0xe9 at offset 3)

    """
    info = path.stat()
    if not stat.S_ISREG(info.st_mode):
        raise ValueError("is not a regular file")
    if info.st_size > limit:
        raise ValueError(f"is {info.st_size:,} bytes; the limit is {limit:,}")
    data = path.read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(
            f"is not UTF-8 text (byte {data[exc.start]:#04x} at offset {exc.start})"
        ) from None
