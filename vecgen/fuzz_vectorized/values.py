"""Value-level and typed kernels: formal names, placeholders, dates, digits, e-mail, state.

Same contract as :mod:`vecgen.fuzz_vectorized.kernels`.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from vecgen.fuzz_vectorized import text
from vecgen.fuzz_vectorized.ascii import with_others
from vecgen.fuzz_vectorized.kernels import (
    KernelContext,
    _column_and_positions,
    _const,
    _days_from_civil,
    _days_in_month,
    keep_nulls,
    per_vocab,
)
from vecgen.vocab import Vocab

PLACEHOLDERS: dict[str, tuple[str, ...]] = {
    "email": ("test@test.com", "noemail@example.com", "none@none.com", "N/A", "x@x.com"),
    "phone": ("000-000-0000", "999-999-9999", "555-555-5555", "N/A", "0"),
    "postal_code": ("00000", "99999", "N/A"),
    "state": ("XX", "N/A", "--"),
}
DEFAULT_PLACEHOLDERS = ("N/A", "Unknown", "UNKNOWN", "NONE", "-", "TEST", "null")


@per_vocab
def _formal_table(vocab: Vocab) -> tuple[pl.Series, pl.Series]:
    """Nickname -> one formal name: the longest that has it (Bob -> Robert, not Bert).

    Only longer names count as formal: the data set also lists, say, Robert as a
    nickname of Billy, which must not turn Robert into Billy.
    """
    longer = pl.col("name").str.len_chars() > pl.col("nickname").str.len_chars()
    t = (
        vocab.nicknames.filter(longer)
        .sort([pl.col("name").str.len_chars(), "name"], descending=[True, False])
        .unique(subset="nickname", keep="first", maintain_order=True)
    )
    return t["nickname"], t["name"]


def formal_name(values: pl.Series, ctx: KernelContext) -> pl.Series:
    """Replace a nickname by its formal name (``"Bob"`` -> ``"Robert"``); others stay.

    Examples
    --------
    >>> import numpy as np, polars as pl
    >>> from vecgen.rng import Stream
    >>> from vecgen.vocab import load
    >>> c = KernelContext(Stream(1), np.arange(3, dtype=np.uint64), load())
    >>> formal_name(pl.Series(["Bob", "Zzyzx", None]), c).to_list()
    ['Robert', 'Zzyzx', None]


    """
    nicks, names = _formal_table(ctx.vocab)
    return values.replace(nicks, names).alias(values.name)


def placeholder(values: pl.Series, ctx: KernelContext) -> pl.Series:
    """Replace the value with placeholder junk for its field (``N/A``, ``test@test.com``, ...).

    Examples
    --------
    >>> import numpy as np, polars as pl
    >>> from vecgen.rng import Stream
    >>> from vecgen.vocab import load
    >>> c = KernelContext(Stream(1), np.arange(2, dtype=np.uint64), load(), field="email")
    >>> placeholder(pl.Series(["ann@acme.com", None]), c).to_list()
    ['none@none.com', None]

    """
    pool = pl.Series(PLACEHOLDERS.get(ctx.field, DEFAULT_PLACEHOLDERS), dtype=pl.String)
    picked = pool.gather(ctx.stream.child("junk").integers(ctx.rows, 0, len(pool)))
    return keep_nulls(picked, values).alias(values.name)


def _ymd(values: pl.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    import datetime as dt

    filled = values.fill_null(dt.date(2000, 1, 1)) if values.has_nulls() else values
    return tuple(
        getattr(filled.dt, part)().to_numpy().astype(np.int64) for part in ("year", "month", "day")
    )


def _dates(values: pl.Series, days: np.ndarray) -> pl.Series:
    out = pl.Series(values.name, days.astype(np.int32)).cast(pl.Date)
    return keep_nulls(out, values)


def _make(y: np.ndarray, m: np.ndarray, d: np.ndarray) -> np.ndarray:
    return _days_from_civil(y, m, np.minimum(d, _days_in_month(y, m)))


def date_year(values: pl.Series, ctx: KernelContext) -> pl.Series:
    """Move a date one year earlier or later (29 February becomes the 28th).

    Examples
    --------
    >>> import datetime as dt, numpy as np, polars as pl
    >>> from vecgen.rng import Stream
    >>> from vecgen.vocab import load
    >>> c = KernelContext(Stream(1), np.arange(2, dtype=np.uint64), load())
    >>> date_year(pl.Series([dt.date(1980, 2, 29), None]), c).to_list()
    [datetime.date(1981, 2, 28), None]

    """
    y, m, d = _ymd(values)
    step = np.where(ctx.stream.child("sign").bernoulli(ctx.rows, 0.5), 1, -1)
    return _dates(values, _make(y + step, m, d))


def date_shift_days(values: pl.Series, ctx: KernelContext) -> pl.Series:
    """Move a date by 1 to 30 days either way.

    Examples
    --------
    >>> import datetime as dt, numpy as np, polars as pl
    >>> from vecgen.rng import Stream
    >>> from vecgen.vocab import load
    >>> c = KernelContext(Stream(1), np.arange(2, dtype=np.uint64), load())
    >>> date_shift_days(pl.Series([dt.date(1980, 3, 4), None]), c).to_list()
    [datetime.date(1980, 4, 3), None]

    """
    shift = ctx.stream.child("days").integers(ctx.rows, 1, 31)
    shift = np.where(ctx.stream.child("sign").bernoulli(ctx.rows, 0.5), shift, -shift)
    days = values.cast(pl.Int32).fill_null(0).to_numpy().astype(np.int64) + shift
    return _dates(values, days)


def date_swap_day_month(values: pl.Series, ctx: KernelContext) -> pl.Series:
    """Swap day and month where that is a different valid date (others: a year later).

    Examples
    --------
    >>> import datetime as dt, numpy as np, polars as pl
    >>> from vecgen.rng import Stream
    >>> from vecgen.vocab import load
    >>> c = KernelContext(Stream(1), np.arange(2, dtype=np.uint64), load())
    >>> date_swap_day_month(pl.Series([dt.date(1980, 3, 4), dt.date(1980, 3, 25)]), c).to_list()
    [datetime.date(1980, 4, 3), datetime.date(1981, 3, 25)]

    """
    y, m, d = _ymd(values)
    ok = (d <= 12) & (d != m)
    return _dates(
        values, np.where(ok, _make(y, np.where(ok, d, m), np.where(ok, m, d)), _make(y + 1, m, d))
    )


def date_jan1(values: pl.Series, ctx: KernelContext) -> pl.Series:
    """Default a date to 1 January of its year (1 January itself: 1 January a year later).

    Examples
    --------
    >>> import datetime as dt, numpy as np, polars as pl
    >>> from vecgen.rng import Stream
    >>> from vecgen.vocab import load
    >>> c = KernelContext(Stream(1), np.arange(2, dtype=np.uint64), load())
    >>> date_jan1(pl.Series([dt.date(1980, 3, 4), None]), c).to_list()
    [datetime.date(1980, 1, 1), None]

    """
    y, m, d = _ymd(values)
    jan1 = (m == 1) & (d == 1)
    return _dates(values, _make(np.where(jan1, y + 1, y), _const(y, 1), _const(y, 1)))


def date_1900(values: pl.Series, ctx: KernelContext) -> pl.Series:
    """Set the year to the 1900 sentinel (dates in 1900: one year later).

    Examples
    --------
    >>> import datetime as dt, numpy as np, polars as pl
    >>> from vecgen.rng import Stream
    >>> from vecgen.vocab import load
    >>> c = KernelContext(Stream(1), np.arange(2, dtype=np.uint64), load())
    >>> date_1900(pl.Series([dt.date(1980, 2, 29), None]), c).to_list()
    [datetime.date(1900, 2, 28), None]

    """
    y, m, d = _ymd(values)
    return _dates(values, _make(np.where(y == 1900, 1901, 1900), m, d))


def digit(values: pl.Series, ctx: KernelContext) -> pl.Series:
    """Replace one digit by a different digit (a non-digit position moves to the next digit).

    Examples
    --------
    >>> import numpy as np, polars as pl
    >>> from vecgen.rng import Stream
    >>> from vecgen.vocab import load
    >>> c = KernelContext(Stream(1), np.arange(3, dtype=np.uint64), load())
    >>> digit(pl.Series(["512-555-0100", "abc", None]), c).to_list()
    ['502-555-0100', 'abc', None]

    """
    column, positions = _column_and_positions(values, ctx, 0)
    plus = ctx.stream.child("delta").integers(ctx.rows, 1, 10)
    at = column.byte_at(positions)
    j = np.where((at >= 0x30) & (at <= 0x39), positions, positions + 1)
    ch = column.byte_at(j)
    rows = column.ascii & (ch >= 0x30) & (ch <= 0x39)
    new = (0x30 + (ch.astype(np.int64) - 0x30 + plus) % 10).astype(np.uint8)
    out = column.series(column.replace(rows, j, new), column.lengths)

    def edit(t: str, r: int) -> str:
        i, d = int(positions[r]), int(plus[r])
        k = i if "0" <= t[i : i + 1] <= "9" else i + 1
        ch = t[k : k + 1]
        ok = len(ch) == 1 and "0" <= ch <= "9"
        return t[:k] + str((int(ch) + d) % 10) + t[k + 1 :] if ok else t

    return with_others(column, values, out, edit)


_LOCAL_TYPOS = ("keyboard_substitution", "insert_char", "delete_char", "swap_adjacent")


def email_local_typo(values: pl.Series, ctx: KernelContext) -> pl.Series:
    """Make a typing slip in the part before the ``@`` (the domain stays).

    Examples
    --------
    >>> import numpy as np, polars as pl
    >>> from vecgen.rng import Stream
    >>> from vecgen.vocab import load
    >>> c = KernelContext(Stream(1), np.arange(2, dtype=np.uint64), load())
    >>> email_local_typo(pl.Series(["jsmith@acme.com", None]), c).to_list()
    ['jmsith@acme.com', None]

    """
    from vecgen.fuzz_vectorized.kernels import swap_adjacent

    parts = values.str.split_exact("@", 1).struct.unnest()
    local, domain = parts[:, 0], parts[:, 1]
    which = ctx.stream.child("typo").integers(ctx.rows, 0, len(_LOCAL_TYPOS))
    kernels = {
        "keyboard_substitution": text.keyboard_substitution,
        "insert_char": text.insert_char,
        "delete_char": text.delete_char,
        "swap_adjacent": swap_adjacent,
    }
    out = local.clone()  # scatter works in place
    for k, name in enumerate(_LOCAL_TYPOS):
        idx = np.flatnonzero(which == k)
        if len(idx):
            sub = KernelContext(ctx.stream.child(name), ctx.rows[idx], ctx.vocab)
            out = out.scatter(idx, kernels[name](local[idx], sub))
    joined = pl.DataFrame({"l": out, "d": domain}).select(
        pl.when(pl.col("d").is_null()).then(pl.col("l")).otherwise(pl.col("l") + "@" + pl.col("d"))
    )
    return joined.to_series().alias(values.name)


def state_form(values: pl.Series, ctx: KernelContext) -> pl.Series:
    """Write a state the other way: abbreviation <-> full name (``TX`` <-> ``Texas``).

    Examples
    --------
    >>> import numpy as np, polars as pl
    >>> from vecgen.rng import Stream
    >>> from vecgen.vocab import load
    >>> c = KernelContext(Stream(1), np.arange(3, dtype=np.uint64), load())
    >>> state_form(pl.Series(["TX", "Ohio", None]), c).to_list()
    ['Texas', 'OH', None]

    """
    states = ctx.vocab.states
    old = pl.concat([states["abbr"], states["name"]])
    new = pl.concat([states["name"], states["abbr"]])
    return values.replace(old, new).alias(values.name)
