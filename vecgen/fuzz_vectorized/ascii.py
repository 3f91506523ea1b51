"""One-character edits of a String column as NumPy work on its bytes.

The typing kernels (swap, substitute, insert or delete one character, change a
digit) edit one character per row. On ASCII rows a character is a byte, so the
edit of every row is a few array operations on the column's Arrow buffers;
rows holding other characters (rare in most locales) are edited by the
kernel's own per-row Python, which works on characters. Both give the same
text: :mod:`tests.fuzz_vectorized.test_ascii` holds them to each other.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import polars as pl

from vecgen.rng import I64

Bools = npt.NDArray[np.bool_]
Bytes = npt.NDArray[np.uint8]


@dataclass(frozen=True)
class Column:
    """A String column's bytes: ``data[starts[r]:starts[r] + lengths[r]]`` is row ``r``.

    ``ascii`` marks the non-null rows whose characters are all ASCII (a
    character is a byte there); ``chars`` is each row's length in characters
    (0 for a null).

    Examples
    --------
    >>> c = Column.of(pl.Series(["ab", None, "é"]))
    >>> c.ascii.tolist(), c.chars.tolist()
    ([True, False, False], [2, 0, 1])

    """

    name: str
    data: Bytes
    starts: I64
    lengths: I64
    valid: Bools
    ascii: Bools
    chars: I64

    @classmethod
    def of(cls, values: pl.Series) -> Column:
        """Read ``values``' bytes (one copy at most, when it is in several chunks)."""
        import pyarrow as pa

        arr = values.to_arrow(compat_level=pl.CompatLevel.oldest())
        if isinstance(arr, pa.ChunkedArray):
            arr = arr.combine_chunks()
        n, first = len(arr), arr.offset
        validity_buf, offsets_buf, data_buf = arr.buffers()
        offsets = np.frombuffer(offsets_buf, dtype=np.int64, count=first + n + 1)[first:]
        data = (
            np.frombuffer(data_buf, dtype=np.uint8)
            if data_buf is not None
            else np.zeros(0, dtype=np.uint8)
        )
        starts = offsets[:-1].astype(np.int64)
        lengths = np.diff(offsets).astype(np.int64)
        if validity_buf is None or arr.null_count == 0:
            valid = np.ones(n, dtype=bool)
        else:
            bits = np.frombuffer(validity_buf, dtype=np.uint8)
            valid = np.unpackbits(bits, count=first + n, bitorder="little")[first:].astype(bool)
        lengths = np.where(valid, lengths, 0)
        high = data >= 0x80
        if not high.any():  # the usual case: every character is a byte
            return cls(values.name, data, starts, lengths, valid, valid.copy(), lengths)
        seen = np.concatenate([[0], np.cumsum(high, dtype=np.int64)])
        ascii_rows = (seen[starts + lengths] == seen[starts]) & valid
        chars = values.str.len_chars().fill_null(0).to_numpy().astype(np.int64)
        return cls(values.name, data, starts, lengths, valid, ascii_rows, chars)

    def series(self, data: Bytes, lengths: I64) -> pl.Series:
        """Return a String column of the rows ``data`` holds back to back (nulls kept)."""
        import pyarrow as pa

        n = len(lengths)
        offsets = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        validity = None
        nulls = int(n - self.valid.sum())
        if nulls:
            validity = pa.py_buffer(np.packbits(self.valid, bitorder="little"))
        arr = pa.LargeStringArray.from_buffers(
            n, pa.py_buffer(offsets), pa.py_buffer(np.ascontiguousarray(data)), validity, nulls
        )
        out = pl.Series(self.name, arr)
        return out if out.dtype == pl.String else out.cast(pl.String)

    def _packed(self) -> tuple[Bytes, I64]:
        """Return the rows' bytes back to back and their starts (the buffer may hold other bytes)."""
        total = int(self.lengths.sum())
        starts = np.cumsum(self.lengths) - self.lengths
        if len(self.starts) == 0 or (self.starts[0] == 0 and total == len(self.data)):
            return self.data.copy(), starts
        index = np.repeat(self.starts - starts, self.lengths)
        index += np.arange(total, dtype=np.int64)
        return self.data[index], starts

    def replace(self, rows: Bools, position: I64, new: Bytes) -> Bytes:
        """Bytes with byte ``position`` of every row in ``rows`` set to ``new`` (row-aligned)."""
        data, starts = self._packed()
        at = np.flatnonzero(rows)
        data[starts[at] + position[at]] = new[at]
        return data

    def swap(self, rows: Bools, position: I64) -> Bytes:
        """Bytes with bytes ``position`` and ``position + 1`` of every row in ``rows`` swapped."""
        data, starts = self._packed()
        at = starts[rows] + position[rows]
        data[at], data[at + 1] = data[at + 1], data[at].copy()
        return data

    def insert(self, rows: Bools, position: I64, new: Bytes) -> tuple[Bytes, I64]:
        """Bytes and lengths with ``new`` inserted before byte ``position`` of every row in ``rows``."""
        data, starts = self._packed()
        at = np.flatnonzero(rows)
        return np.insert(data, starts[at] + position[at], new[at]), self.lengths + rows

    def delete(self, rows: Bools, position: I64) -> tuple[Bytes, I64]:
        """Bytes and lengths without byte ``position`` of every row in ``rows``."""
        data, starts = self._packed()
        return np.delete(data, starts[rows] + position[rows]), self.lengths - rows

    def byte_at(self, position: I64) -> Bytes:
        """Byte ``position`` of each row (0 where the row has no such byte)."""
        inside = (position >= 0) & (position < self.lengths)
        if not len(self.data):
            return np.zeros(len(position), dtype=np.uint8)
        found = self.data[np.where(inside, self.starts + position, 0)]
        return np.where(inside, found, 0).astype(np.uint8)


def with_others(
    column: Column, values: pl.Series, out: pl.Series, edit: Callable[[str, int], str]
) -> pl.Series:
    """Put into ``out`` the non-ASCII rows of ``values`` edited by ``edit(text, row number)``.

    The kernels' per-row Python, on characters: a few rows in most locales.
    """
    others = np.flatnonzero(column.valid & ~column.ascii)
    if len(others) == 0:
        return out
    texts = values.gather(others).to_list()
    edited = [edit(t, r) for t, r in zip(texts, others.tolist(), strict=True)]
    return out.scatter(others, pl.Series(edited, dtype=pl.String))
