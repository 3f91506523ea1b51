"""Keyed, counter-based randomness: every random cell is a pure function of its key and row.

A :class:`Stream` is derived from ``(seed, source, column)``; its draws for a row
depend only on that key and the row's index. Output is therefore identical for
any batch size, worker count or partitioning, and a duplicate can recompute the
fields of the record it copies without that record being held in memory.

The mixing function is splitmix64's finalizer, applied to ``row * golden + key``
in wrapping uint64 arithmetic (vectorized with NumPy).
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

U64 = npt.NDArray[np.uint64]
F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30, _S27, _S31, _S11 = np.uint64(30), np.uint64(27), np.uint64(31), np.uint64(11)
_TWO_M53 = 2.0**-53
TAG_SHIFT = 56  # rows of a joined stream carry their stream's number in the top byte
_ROW_MASK = np.uint64((1 << TAG_SHIFT) - 1)


def _mix(x: U64) -> U64:
    """Apply splitmix64's finalizer to every element (in place on ``x``)."""
    x ^= x >> _S30
    x *= _M1
    x ^= x >> _S27
    x *= _M2
    x ^= x >> _S31
    return x


@functools.lru_cache(maxsize=1 << 16)
def derive_key(seed: int, *parts: str | int) -> int:
    """Return a 64-bit key for ``seed`` and a path of names.

    Uses SHA-256 (not ``hash()``, which is salted per process).

    Examples
    --------
    >>> derive_key(1, "customers", "gender") == derive_key(1, "customers", "gender")
    True
    >>> derive_key(1, "customers", "gender") == derive_key(2, "customers", "gender")
    False

    """
    text = "\x1f".join([str(seed), *map(str, parts)])
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little")


@dataclass(frozen=True)
class Stream:
    """Random draws for one ``(seed, source, column)`` key, addressed by row index.

    Examples
    --------
    >>> import numpy as np
    >>> s = Stream.of(42, "customers", "gender")
    >>> rows = np.arange(5, dtype=np.uint64)
    >>> bool((s.uniform(rows) == s.uniform(rows)).all())
    True
    >>> s.integers(rows[2:4], 0, 10).tolist() == s.integers(rows, 0, 10)[2:4].tolist()
    True

    """

    key: int
    others: tuple[int, ...] = ()  # a joined stream's other keys (rows tagged 1, 2, ...)

    @classmethod
    def of(cls, seed: int, *parts: str | int) -> Stream:
        """Derive the stream for ``seed`` and a path such as ``("customers", "gender")``."""
        return cls(derive_key(seed, *parts))

    @classmethod
    def joined(cls, *streams: Stream) -> Stream:
        """Join streams into one that draws for rows of each (rows :func:`tagged` with its number).

        A row tagged ``i`` gets exactly the draws ``streams[i]`` gives the untagged
        row, here and in every :meth:`child`: one call can do the work of several
        with the same bytes.

        Examples
        --------
        >>> import numpy as np
        >>> a, b = Stream.of(1, "x"), Stream.of(1, "y")
        >>> rows = np.arange(3, dtype=np.uint64)
        >>> both = Stream.joined(a, b).child("k")
        >>> drawn = both.uniform(np.concatenate([tagged(rows, 0), tagged(rows, 1)]))
        >>> bool((drawn == np.concatenate([a.child("k").uniform(rows),
        ...                                b.child("k").uniform(rows)])).all())
        True

        """
        if any(s.others for s in streams):
            msg = "a joined stream cannot be joined again"
            raise ValueError(msg)
        return cls(streams[0].key, tuple(s.key for s in streams[1:]))

    def child(self, name: str | int) -> Stream:
        """Return an independent sub-stream (for a second draw per row)."""
        return Stream(derive_key(self.key, name), tuple(derive_key(k, name) for k in self.others))

    def u64(self, rows: U64) -> U64:
        """Return 64 random bits per row."""
        x = rows.astype(np.uint64, copy=True)
        if self.others:  # a joined stream: each row's key by its tag
            group = x >> np.uint64(TAG_SHIFT)
            x &= _ROW_MASK
            x *= _GOLDEN
            x += np.array((self.key, *self.others), dtype=np.uint64)[group]
        else:
            x *= _GOLDEN
            x += np.uint64(self.key)
        return _mix(x)

    def uniform(self, rows: U64) -> F64:
        """Return a float in ``[0, 1)`` per row."""
        return (self.u64(rows) >> _S11).astype(np.float64) * _TWO_M53

    def integers(self, rows: U64, low: int | I64, high: int | I64) -> I64:
        """Return an integer in ``[low, high)`` per row (bounds may be arrays)."""
        span = np.asarray(high, dtype=np.int64) - np.asarray(low, dtype=np.int64)
        return np.asarray(low, dtype=np.int64) + (self.uniform(rows) * span).astype(np.int64)

    def bernoulli(self, rows: U64, p: float) -> npt.NDArray[np.bool_]:
        """Return True with probability ``p`` per row."""
        return self.uniform(rows) < p

    def choice(self, rows: U64, cumulative: F64) -> I64:
        """Pick an index per row from cumulative weights normalised to end at 1.0."""
        idx = np.searchsorted(cumulative, self.uniform(rows), side="right")
        return np.minimum(idx, len(cumulative) - 1).astype(np.int64)

    def triangular(self, rows: U64, low: float, mode: float, high: float) -> F64:
        """Return a triangular-distributed float per row (inverse CDF)."""
        u = self.uniform(rows)
        c = (mode - low) / (high - low)
        left = low + np.sqrt(u * (high - low) * (mode - low))
        right = high - np.sqrt((1.0 - u) * (high - low) * (high - mode))
        return np.where(u < c, left, right)


def tagged(rows: U64, group: int) -> U64:
    """Tag ``rows`` as rows of a :meth:`Stream.joined` stream's ``group``-th stream.

    Examples
    --------
    >>> import numpy as np
    >>> tagged(np.array([5], dtype=np.uint64), 1).tolist() == [(1 << TAG_SHIFT) + 5]
    True

    """
    rows = np.asarray(rows, dtype=np.uint64)
    if len(rows) and int(rows.max()) > int(_ROW_MASK):
        msg = f"row {int(rows.max())} is too large to be tagged"
        raise ValueError(msg)
    return rows | np.uint64(group << TAG_SHIFT)


def cumulative(weights: npt.ArrayLike) -> F64:
    """Turn non-negative weights into cumulative probabilities ending at exactly 1.0.

    Examples
    --------
    >>> cumulative([1, 1, 2]).tolist()
    [0.25, 0.5, 1.0]

    """
    w = np.asarray(weights, dtype=np.float64)
    if w.ndim != 1 or len(w) == 0 or (w < 0).any() or w.sum() <= 0:
        msg = f"weights must be a non-empty list of non-negative numbers with a positive sum, got {w.tolist()}"
        raise ValueError(msg)
    c: F64 = np.cumsum(w) / w.sum()
    c[-1] = 1.0
    return c
