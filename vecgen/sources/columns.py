"""Vectorized column helpers shared by the sources: ids, tokens, addresses, fan-out.

All take a keyed :class:`~vecgen.rng.Stream` and the rows' keys, so values are
pure functions of ``(seed, date, source, column, row)``.
"""

from __future__ import annotations

import datetime as dt
import functools

import numpy as np
import polars as pl

from vecgen.catalog import SLOTS
from vecgen.rng import I64, U64, Stream

_EPOCH = dt.datetime(1970, 1, 1)


def random_bytes(stream: Stream, rows: U64, n_bytes: int) -> np.ndarray:
    """Return ``n_bytes`` random bytes per row, as a ``(len(rows), n_bytes)`` uint8 array."""
    words = -(-n_bytes // 8)
    raw = np.stack([stream.child(f"w{i}").u64(rows) for i in range(words)], axis=1)
    return np.ascontiguousarray(raw).view(np.uint8).reshape(len(rows), words * 8)[:, :n_bytes]


def _binary(raw: np.ndarray, text: bool = False) -> pl.Series:
    """Return a Binary (``text``: String) Series over the rows of a ``(n, width)`` uint8 array."""
    import pyarrow as pa

    n, width = raw.shape
    data = pa.py_buffer(np.ascontiguousarray(raw))
    offsets = pa.py_buffer(np.arange(0, (n + 1) * width, width, dtype=np.int64))
    kind = pa.large_utf8() if text else pa.large_binary()
    series = pl.from_arrow(pa.Array.from_buffers(kind, n, [None, offsets, data]))
    assert isinstance(series, pl.Series)
    return series


def hex_token(stream: Stream, rows: U64, n_bytes: int = 32) -> pl.Series:
    """Return a random lower-case hex token per row (64 hex digits: shaped like a SHA-256).

    Examples
    --------
    >>> import numpy as np
    >>> t = hex_token(Stream(1), np.arange(2, dtype=np.uint64))
    >>> [len(x) for x in t], t[0] != t[1]
    ([64, 64], True)

    """
    return _binary(random_bytes(stream, rows, n_bytes)).bin.encode("hex")


_HEX_DIGITS = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
# The two hex digits of every byte value, as the uint16 whose bytes they are.
_HEX_PAIRS = _HEX_DIGITS[np.arange(256) >> 4].astype(np.uint16) | (
    _HEX_DIGITS[np.arange(256) & 15].astype(np.uint16) << 8
)


def uuid4(stream: Stream, rows: U64) -> pl.Series:
    """Return a random RFC 4122 version-4 UUID string per row.

    The hex digits are looked up per byte and laid out with the dashes in one
    NumPy array (about 40% faster than hex-encoding and slicing strings).

    Examples
    --------
    >>> import numpy as np, uuid
    >>> u = uuid4(Stream(1), np.arange(3, dtype=np.uint64))
    >>> all(uuid.UUID(x).version == 4 and str(uuid.UUID(x)) == x for x in u)
    True

    """
    b = random_bytes(stream, rows, 16)
    b[:, 6] = (b[:, 6] & 0x0F) | 0x40
    b[:, 8] = (b[:, 8] & 0x3F) | 0x80
    digits = _HEX_PAIRS[b].view(np.uint8).reshape(len(rows), 32)
    out = np.empty((len(rows), 36), dtype=np.uint8)
    out[:, [8, 13, 18, 23]] = ord("-")
    for dashes, (lo, hi) in enumerate(((0, 8), (8, 12), (12, 16), (16, 20), (20, 32))):
        out[:, lo + dashes : hi + dashes] = digits[:, lo:hi]
    return _binary(out, text=True)


def ipv4(stream: Stream, rows: U64) -> pl.Series:
    """Return a random public-looking IPv4 address per row (first octet 11..223, not 127).

    Examples
    --------
    >>> import numpy as np
    >>> ips = ipv4(Stream(7), np.arange(1000, dtype=np.uint64)).to_list()
    >>> all(len(ip.split(".")) == 4 and 11 <= int(ip.split(".")[0]) <= 223 for ip in ips)
    True

    """
    first = stream.child("a").integers(rows, 11, 223)
    first = np.where(first >= 127, first + 1, first)
    b, c, d = (stream.child(k).integers(rows, 0, 256) for k in "bcd")
    # Two octets at a time from a table of their 65,536 texts ("a.b"): two look-ups
    # and one join instead of four numbers made text (~130 ns a row).
    pairs = _octet_pairs()
    return (
        pl.DataFrame({"hi": pairs[first * 256 + b], "lo": pairs[c * 256 + d]})
        .select(pl.concat_str(["hi", "lo"], separator="."))
        .to_series()
    )


@functools.cache
def _octet_pairs() -> pl.Series:
    """Return the texts ``"a.b"`` of the 65,536 pairs of octets, at index ``a * 256 + b``."""
    return pl.Series([f"{i >> 8}.{i & 255}" for i in range(65_536)], dtype=pl.String)


def pick(values: pl.Series, stream: Stream, rows: U64) -> pl.Series:
    """Return a uniformly chosen element of ``values`` per row."""
    return values[stream.integers(rows, 0, len(values))]  # (an array index: no query)


def fan_out(stream: Stream, parents: U64, low: int, high: int) -> tuple[I64, I64]:
    """Return the children per parent (``low..high`` inclusive) and each child's parent row.

    Returns ``(counts, parent_row)`` where ``parent_row`` indexes ``parents``.
    """
    counts = stream.integers(parents, low, high + 1)
    return counts, np.repeat(np.arange(len(parents), dtype=np.int64), counts)


def seconds_before(stream: Stream, rows: U64, end: dt.datetime, window: dt.timedelta) -> pl.Series:
    """Return a timestamp per row, whole seconds, in ``[end - window, end)``."""
    ago = stream.integers(rows, 1, int(window.total_seconds()) + 1)
    micros = int((end - _EPOCH).total_seconds()) * 1_000_000 - ago * 1_000_000
    return pl.Series(micros).cast(pl.Datetime("us"))


def epoch_seconds(ts: pl.Series) -> pl.Series:
    """Return the Unix seconds of a Datetime column (as clickstream files carry them)."""
    return ts.dt.epoch("s")


def per_person(
    parents: pl.DataFrame, stream: Stream, low: int, high: int, columns: tuple[str, ...]
) -> tuple[pl.DataFrame, U64]:
    """Repeat each parent row ``low..high`` times; return the rows (``columns``) and child keys.

    A child's key is ``person * SLOTS + k``: a pure function of the parent's
    person index, so its values do not depend on batching. Only ``columns``
    are repeated: a customers batch has ~30 (hidden ones included), a child
    reads two to five.
    """
    if high >= SLOTS:
        msg = f"at most {SLOTS - 1} children per parent, got {high}"
        raise ValueError(msg)
    persons = parents["__person"].to_numpy().astype(np.uint64)
    counts, parent_row = fan_out(stream, persons, low, high)
    return parents.select(columns)[parent_row], child_keys(persons, counts)


def child_keys(persons: U64, counts: I64) -> U64:
    """Key each of ``counts[i]`` children of person ``persons[i]`` as ``person * SLOTS + k``.

    Examples
    --------
    >>> import numpy as np
    >>> child_keys(np.array([3, 5], dtype=np.uint64), np.array([2, 1])).tolist()
    [24, 25, 40]

    """
    k = np.arange(int(counts.sum()), dtype=np.int64) - np.repeat(np.cumsum(counts) - counts, counts)
    keys: U64 = np.repeat(persons, counts) * np.uint64(SLOTS) + k.astype(np.uint64)
    return keys


def weighted(
    values: tuple[str, ...], weights: tuple[int, ...], stream: Stream, rows: U64
) -> pl.Series:
    """Return one of ``values`` per row, drawn with ``weights``."""
    from vecgen.rng import cumulative

    return pl.Series(values, dtype=pl.String)[stream.choice(rows, cumulative(weights))]


def slots_in_blocks(block: I64, sizes: I64, offset: I64) -> tuple[I64, I64]:
    """Cut each block's items into consecutive slots of ``sizes``; return each item's slot and rank.

    ``block`` and ``sizes`` are per slot (slots sorted by block); ``offset`` is
    each item's position within its block (items listed like the slots). An
    item at offset ``o`` is in the first slot of its block whose running total
    of sizes exceeds ``o`` (one searchsorted over (block, total) keys).

    Examples
    --------
    >>> b = np.array([0, 0, 0, 1, 1]); s = np.array([2, 1, 2, 3, 1]); o = np.array([0, 1, 2, 0, 1])
    >>> slot, rank = slots_in_blocks(b, s, o)
    >>> slot.tolist(), rank.tolist()
    ([0, 0, 1, 3, 3], [0, 1, 0, 0, 1])

    """
    first_row = np.flatnonzero(np.r_[True, block[1:] != block[:-1]])
    counts = np.diff(np.r_[first_row, len(block)])
    total = np.cumsum(sizes)
    in_block = total - np.repeat(total[first_row] - sizes[first_row], counts)
    big = np.int64(1) << 40
    slot = np.searchsorted(block * big + in_block, block * big + offset, side="right")
    rank: I64 = offset - (in_block[slot] - sizes[slot])
    return slot, rank
