"""Vectorized corruption kernels: a column in, a column of the same length and dtype out.

Contract (checked by property tests): input nulls stay null, the output has the
input's length and dtype, and all randomness comes from ``ctx.stream`` addressed
by ``ctx.rows``, so a row's corruption does not depend on its neighbours.
Kernels work on characters, not bytes, so non-ASCII text stays valid UTF-8.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
import polars as pl

from vecgen.fuzz_vectorized.ascii import Column, with_others
from vecgen.rng import I64, U64, Stream
from vecgen.vocab import Vocab


@dataclass(frozen=True)
class KernelContext:
    """What a kernel may use: its random stream, the rows' keys, vocabularies and a pool.

    ``pool`` is the field's replacement vocabulary (for ``replace``), if any;
    ``field`` names the column (placeholders depend on it).
    """

    stream: Stream
    rows: U64
    vocab: Vocab
    pool: pl.Series | None = None
    field: str = ""


Kernel = Callable[[pl.Series, KernelContext], pl.Series]
T = TypeVar("T")


def per_vocab(build: Callable[[Vocab], T]) -> Callable[[Vocab], T]:
    """Cache a table derived from a vocabulary, once per loaded vocabulary."""
    cache: dict[int, tuple[Vocab, T]] = {}

    @functools.wraps(build)
    def get(vocab: Vocab) -> T:
        hit = cache.get(id(vocab))
        if hit is None or hit[0] is not vocab:
            hit = (vocab, build(vocab))
            cache[id(vocab)] = hit
        return hit[1]

    return get


def _positions(values: pl.Series, ctx: KernelContext, span_offset: int) -> pl.Series:
    """Draw a random character position per row in ``[0, len - span_offset)`` (0 when too short)."""
    chars = values.str.len_chars()
    n = (chars.fill_null(0) if chars.has_nulls() else chars).to_numpy().astype(np.int64)
    hi = np.maximum(n - span_offset, 1)
    return pl.Series(ctx.stream.child("pos").integers(ctx.rows, 0, hi))


def null_strings(n: int) -> pl.Series:
    """Return ``n`` null strings (an empty label column, a missing value).

    Building nulls is a Polars query (~0.1 ms); a slice of a kept column of
    nulls is a pointer copy (writes to it, such as ``scatter``, copy its buffer
    first).

    Examples
    --------
    >>> null_strings(2).to_list()
    [None, None]

    """
    global _NULLS
    nulls = _NULLS
    if len(nulls) < n:
        nulls = _NULLS = pl.Series(dtype=pl.String).clear(max(n, 2 * len(nulls)))
    return nulls.slice(0, n)


_NULLS = pl.Series(dtype=pl.String).clear(1 << 16)  # grows to the longest column asked for

# The null handling below skips its query when a column has no nulls (its count is
# known without one): each Polars query costs ~60-110 us whatever the rows, and a
# kernel works on a few hundred rows, nearly always without a null.


def keep_nulls(out: pl.Series, values: pl.Series) -> pl.Series:
    """Return ``out`` where ``values`` has a value and null where it has none.

    Examples
    --------
    >>> keep_nulls(pl.Series(["x", "y"]), pl.Series(["a", None])).to_list()
    ['x', None]

    """
    if not values.has_nulls():
        return out
    return out.zip_with(values.is_not_null(), values)


def present(values: pl.Series) -> np.ndarray:
    """Return where ``values`` has a value (NumPy booleans).

    Examples
    --------
    >>> present(pl.Series(["a", None])).tolist()
    [True, False]

    """
    if not values.has_nulls():
        return np.ones(len(values), dtype=bool)
    mask: np.ndarray = values.is_not_null().to_numpy()
    return mask


def same_values(a: pl.Series, b: pl.Series) -> np.ndarray:
    """Return where ``a`` equals ``b`` (a null equals nothing).

    Examples
    --------
    >>> same_values(pl.Series(["a", "b", None]), pl.Series(["a", "c", None])).tolist()
    [True, False, False]

    """
    equal = a == b
    if equal.has_nulls():
        equal = equal.fill_null(False)
    same: np.ndarray = equal.to_numpy()
    return same


def changed_values(new: pl.Series, old: pl.Series) -> np.ndarray:
    """Return where ``new`` differs from ``old`` (a null differs from a value, not from a null).

    Examples
    --------
    >>> changed_values(pl.Series(["a", "b", None, None]), pl.Series(["a", "c", None, "d"])).tolist()
    [False, True, False, True]

    """
    if not new.has_nulls() and not old.has_nulls():
        differs: np.ndarray = (new != old).to_numpy()
    else:
        differs = new.ne_missing(old).to_numpy()
    return differs


def _frame(values: pl.Series, **cols: pl.Series) -> pl.DataFrame:
    return pl.DataFrame({"v": values, **cols})


def _column_and_positions(
    values: pl.Series, ctx: KernelContext, span_offset: int
) -> tuple[Column, I64]:
    """Return the column's bytes and :func:`_positions`' draw for each row (same stream).

    Kernels that edit one character at a position edit the ASCII rows' bytes
    with NumPy (:mod:`vecgen.fuzz_vectorized.ascii`) and the other rows in Python.
    """
    column = Column.of(values)
    hi = np.maximum(column.chars - span_offset, 1)
    return column, ctx.stream.child("pos").integers(ctx.rows, 0, hi)


def _strings(values: pl.Series, texts: list[str | None]) -> pl.Series:
    """Return a kernel's output column: ``texts`` named like ``values``."""
    return pl.Series(values.name, texts, dtype=pl.String)


def initial(values: pl.Series, ctx: KernelContext) -> pl.Series:
    """Keep only the first character (``"Robert"`` -> ``"R"``).

    Examples
    --------
    >>> import numpy as np, polars as pl
    >>> from vecgen.rng import Stream
    >>> from vecgen.vocab import load
    >>> ctx = KernelContext(Stream(1), np.arange(3, dtype=np.uint64), load())
    >>> initial(pl.Series(["Robert", None, "Éva"]), ctx).to_list()
    ['R', None, 'É']

    """
    return values.str.slice(0, 1)


def upper(values: pl.Series, ctx: KernelContext) -> pl.Series:
    """Upper-case the whole value.

    Examples
    --------
    >>> import numpy as np, polars as pl
    >>> from vecgen.rng import Stream
    >>> from vecgen.vocab import load
    >>> ctx = KernelContext(Stream(1), np.arange(2, dtype=np.uint64), load())
    >>> upper(pl.Series(["Smith", None]), ctx).to_list()
    ['SMITH', None]

    """
    return values.str.to_uppercase()


def upper_first3(values: pl.Series, ctx: KernelContext) -> pl.Series:
    """Upper-case the first three characters (``"Johnson"`` -> ``"JOHnson"``).

    Examples
    --------
    >>> import numpy as np, polars as pl
    >>> from vecgen.rng import Stream
    >>> from vecgen.vocab import load
    >>> ctx = KernelContext(Stream(1), np.arange(2, dtype=np.uint64), load())
    >>> upper_first3(pl.Series(["Johnson", None]), ctx).to_list()
    ['JOHnson', None]

    """
    return (
        _frame(values)
        .select(pl.col("v").str.slice(0, 3).str.to_uppercase() + pl.col("v").str.slice(3))
        .to_series()
        .alias(values.name)
    )


def swap_adjacent(values: pl.Series, ctx: KernelContext) -> pl.Series:
    """Swap two adjacent characters at a random position (values shorter than 2 unchanged).

    Examples
    --------
    >>> import numpy as np, polars as pl
    >>> from vecgen.rng import Stream
    >>> from vecgen.vocab import load
    >>> ctx = KernelContext(Stream(3), np.arange(3, dtype=np.uint64), load())
    >>> out = swap_adjacent(pl.Series(["ab", None, "x"]), ctx).to_list()
    >>> out
    ['ba', None, 'x']

    """
    column, positions = _column_and_positions(values, ctx, 1)
    # With fewer than 2 characters (i = 0) the value stays as it is.
    swapped = column.swap(column.ascii & (column.chars >= 2), positions)

    def edit(t: str, r: int) -> str:
        i = int(positions[r])
        return t[:i] + t[i + 1 : i + 2] + t[i : i + 1] + t[i + 2 :]

    return with_others(column, values, column.series(swapped, column.lengths), edit)


def fat_finger(values: pl.Series, ctx: KernelContext) -> pl.Series:
    """Repeat one character at a random position; an ``@`` is never repeated.

    (The predecessor returned nothing when it landed on ``@``.)

    Examples
    --------
    >>> import numpy as np, polars as pl
    >>> from vecgen.rng import Stream
    >>> from vecgen.vocab import load
    >>> ctx = KernelContext(Stream(5), np.arange(3, dtype=np.uint64), load())
    >>> fat_finger(pl.Series(["a@b", None, ""]), ctx).to_list()
    ['a@bb', None, '']

    """
    frame = _frame(values, p=_positions(values, ctx, 0))
    v, i = pl.col("v"), pl.col("p")
    # Rows whose drawn character is an '@' move to the nearest other character, at
    # or after it, else before it. Only those rows pay for the search; runs of '@'
    # are measured in characters (str.find would give bytes).
    on_at = np.flatnonzero(
        frame.select((v.str.slice(i, 1) == "@").fill_null(False)).to_series().to_numpy()
    )
    if len(on_at):
        sub = frame[on_at]
        after = i + v.str.slice(i).str.extract(r"^(@*)", 1).str.len_chars()
        before = i - 1 - v.str.slice(0, i).str.extract(r"(@*)$", 1).str.len_chars()
        moved = sub.select(
            pl.when(after < v.str.len_chars())
            .then(after)
            .when(before >= 0)
            .then(before)
            .otherwise(None)
        ).to_series()
        frame = frame.with_columns(frame["p"].cast(pl.Int64).clone().scatter(on_at, moved))
    return (
        frame.select(
            pl.when(i.is_null())
            .then(v)  # nothing but '@': nothing to repeat
            .otherwise(v.str.slice(0, i + 1) + v.str.slice(i, 1) + v.str.slice(i + 1))
        )
        .to_series()
        .alias(values.name)
    )


def reverse_words(values: pl.Series, ctx: KernelContext) -> pl.Series:
    """Reverse the order of words (``"New York Mills"`` -> ``"Mills York New"``).

    Examples
    --------
    >>> import numpy as np, polars as pl
    >>> from vecgen.rng import Stream
    >>> from vecgen.vocab import load
    >>> ctx = KernelContext(Stream(1), np.arange(2, dtype=np.uint64), load())
    >>> reverse_words(pl.Series(["12 Oak Street", None]), ctx).to_list()
    ['Street Oak 12', None]

    """
    return values.str.split(" ").list.reverse().list.join(" ")


def blank(values: pl.Series, ctx: KernelContext) -> pl.Series:
    """Replace every value with null (written as an empty field).

    Examples
    --------
    >>> import numpy as np, polars as pl
    >>> from vecgen.rng import Stream
    >>> from vecgen.vocab import load
    >>> ctx = KernelContext(Stream(1), np.arange(2, dtype=np.uint64), load())
    >>> blank(pl.Series(["TX", None]), ctx).to_list()
    [None, None]

    """
    if values.dtype == pl.String:
        return null_strings(len(values)).alias(values.name)
    return values.clear(len(values))


def replace(values: pl.Series, ctx: KernelContext) -> pl.Series:
    """Replace each value with a different value from the field's pool (``ctx.pool``).

    Examples
    --------
    >>> import numpy as np, polars as pl
    >>> from vecgen.rng import Stream
    >>> from vecgen.vocab import load
    >>> ctx = KernelContext(Stream(1), np.arange(3, dtype=np.uint64), load(), pl.Series(["a", "b"]))
    >>> replace(pl.Series(["a", None, "b"]), ctx).to_list()
    ['b', None, 'a']

    """
    pool = ctx.pool
    if pool is None or len(pool) < 2:
        msg = "kernel 'replace' needs a pool of at least two values"
        raise ValueError(msg)
    n = len(pool)
    idx = ctx.stream.child("pick").integers(ctx.rows, 0, n)
    picked = pool[idx]  # (indexing with an array: a gather without a query)
    # Step to the next pool value where the pick equals the original: always a change.
    same = same_values(picked, values)
    idx = np.where(same, (idx + 1) % n, idx)
    return keep_nulls(pool[idx].alias(values.name), values)


def nickname(values: pl.Series, ctx: KernelContext) -> pl.Series:
    """Replace a first name by one of its nicknames (names without one stay unchanged).

    Examples
    --------
    >>> import numpy as np, polars as pl
    >>> from vecgen.rng import Stream
    >>> from vecgen.vocab import load
    >>> ctx = KernelContext(Stream(1), np.arange(3, dtype=np.uint64), load())
    >>> out = nickname(pl.Series(["Robert", None, "Zzyzx"]), ctx).to_list()
    >>> out[0] in {"Bob", "Rob", "Robby", "Bobby", "Bert", "Robin", "Dob", "Hob", "Rupert"}, out[1:]
    (True, [None, 'Zzyzx'])

    """
    table = _nickname_index(ctx.vocab)
    names, starts, counts = table
    if len(names) == 0:  # a locale without nickname data: every name stays
        return values
    key = values.replace_strict(
        names, pl.Series(np.arange(len(names))), default=-1, return_dtype=pl.Int64
    )
    k = key.to_numpy()
    has = k >= 0
    safe = np.where(has, k, 0)
    pick = starts[safe] + ctx.stream.child("nick").integers(
        ctx.rows, 0, np.maximum(counts[safe], 1)
    )
    nicks = ctx.vocab.nicknames["nickname"].gather(pick)
    return nicks.zip_with(pl.Series(has), values).alias(values.name)


@per_vocab
def _nickname_index(vocab: Vocab) -> tuple[pl.Series, np.ndarray, np.ndarray]:
    """Names with nicknames, and each one's (start, count) in the sorted nickname table."""
    grouped = (
        vocab.nicknames.with_row_index("i")
        .group_by("name", maintain_order=True)
        .agg(pl.col("i").first().alias("start"), pl.len().alias("count"))
    )
    return (
        grouped["name"],
        grouped["start"].to_numpy().astype(np.int64),
        grouped["count"].to_numpy().astype(np.int64),
    )


# --- typed kernels -------------------------------------------------------------------


def date_edit(values: pl.Series, ctx: KernelContext) -> pl.Series:
    """Edit a date, keeping it a valid calendar date.

    One of: year +1, year -1, month/day swapped (only where valid and different,
    else year +1), set to 1 January of that year, or year set to 1900.

    Examples
    --------
    >>> import datetime as dt, numpy as np, polars as pl
    >>> from vecgen.rng import Stream
    >>> from vecgen.vocab import load
    >>> ctx = KernelContext(Stream(1), np.arange(2, dtype=np.uint64), load())
    >>> out = date_edit(pl.Series([dt.date(1980, 3, 4), None]), ctx)
    >>> out.dtype, out[1], out[0] != dt.date(1980, 3, 4)
    (Date, None, True)

    """
    which = ctx.stream.child("edit").integers(ctx.rows, 0, 5)
    filled = values.fill_null(dt.date(2000, 1, 1))
    y = filled.dt.year().to_numpy().astype(np.int64)
    m = filled.dt.month().to_numpy().astype(np.int64)
    d = filled.dt.day().to_numpy().astype(np.int64)

    def make(year: np.ndarray, month: np.ndarray, day: np.ndarray) -> np.ndarray:
        return _days_from_civil(year, month, np.minimum(day, _days_in_month(year, month)))

    # Default: a year later (also where the chosen edit would change nothing).
    out = make(y + 1, m, d)  # Feb 29 -> Feb 28
    k = np.flatnonzero(which == 1)
    out[k] = make(y[k] - 1, m[k], d[k])
    k = np.flatnonzero((which == 2) & (d <= 12) & (d != m))
    out[k] = make(y[k], d[k], m[k])
    k = np.flatnonzero((which == 3) & ((m != 1) | (d != 1)))
    out[k] = make(y[k], _const(k, 1), _const(k, 1))
    k = np.flatnonzero((which == 4) & (y != 1900))
    out[k] = make(_const(k, 1900), m[k], d[k])

    result = pl.Series(values.name, out.astype(np.int32)).cast(pl.Date)
    return keep_nulls(result, values)


def _const(like: np.ndarray, value: int) -> np.ndarray:
    return np.full(len(like), value, dtype=np.int64)


_MONTH_DAYS = np.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], dtype=np.int64)


def _days_in_month(y: np.ndarray, m: np.ndarray) -> np.ndarray:
    leap = (y % 4 == 0) & ((y % 100 != 0) | (y % 400 == 0))
    days: np.ndarray = _MONTH_DAYS[m - 1] + ((m == 2) & leap)
    return days


def _days_from_civil(y: np.ndarray, m: np.ndarray, d: np.ndarray) -> np.ndarray:
    """Return days since 1970-01-01 of proleptic Gregorian dates (H. Hinnant's algorithm)."""
    y = y - (m <= 2)
    era = np.floor_divide(y, 400)
    yoe = y - era * 400
    doy = (153 * (m + np.where(m > 2, -3, 9)) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    days: np.ndarray = era * 146097 + doe - 719468
    return days


def new_area_code(values: pl.Series, ctx: KernelContext) -> pl.Series:
    """Replace a ``NNN-NNN-NNNN`` phone's area code with a different real one.

    Examples
    --------
    >>> import numpy as np, polars as pl
    >>> from vecgen.rng import Stream
    >>> from vecgen.vocab import load
    >>> ctx = KernelContext(Stream(1), np.arange(2, dtype=np.uint64), load())
    >>> out = new_area_code(pl.Series(["512-555-0100", None]), ctx).to_list()
    >>> out[0][3:], out[0][:3] != "512", out[1]
    ('-555-0100', True, None)

    """
    codes = _area_codes(ctx.vocab)
    sub = KernelContext(ctx.stream.child("area"), ctx.rows, ctx.vocab, codes)
    area = replace(values.str.slice(0, 3), sub)
    return (
        _frame(values, a=area)
        .select(pl.col("a") + pl.col("v").str.slice(3))
        .to_series()
        .alias(values.name)
    )


@per_vocab
def _area_codes(vocab: Vocab) -> pl.Series:
    return vocab.places["area_code"].unique().sort()


def gender_flip(values: pl.Series, ctx: KernelContext) -> pl.Series:
    """Swap ``F`` and ``M`` (other values unchanged).

    Examples
    --------
    >>> import numpy as np, polars as pl
    >>> from vecgen.rng import Stream
    >>> from vecgen.vocab import load
    >>> ctx = KernelContext(Stream(1), np.arange(3, dtype=np.uint64), load())
    >>> gender_flip(pl.Series(["F", "M", None]), ctx).to_list()
    ['M', 'F', None]

    """
    return values.replace({"F": "M", "M": "F"})


def free_mail_domain(values: pl.Series, ctx: KernelContext) -> pl.Series:
    """Move an e-mail to a different free-mail domain, keeping the local part.

    Examples
    --------
    >>> import numpy as np, polars as pl
    >>> from vecgen.rng import Stream
    >>> from vecgen.vocab import load
    >>> ctx = KernelContext(Stream(1), np.arange(2, dtype=np.uint64), load())
    >>> out = free_mail_domain(pl.Series(["ann@acme.com", None]), ctx).to_list()
    >>> out[0].startswith("ann@"), out[0] != "ann@acme.com", out[1]
    (True, True, None)

    """
    sub = KernelContext(ctx.stream.child("domain"), ctx.rows, ctx.vocab, ctx.vocab.free_mail_domain)
    parts = values.str.split_exact("@", 1).struct.unnest()  # local part, domain (no regex)
    local, domain = parts[:, 0], parts[:, 1].fill_null("")
    new = replace(keep_nulls(domain, values), sub)
    return (
        pl.DataFrame({"l": local, "d": new})
        .select(pl.col("l") + "@" + pl.col("d"))
        .to_series()
        .alias(values.name)
    )
