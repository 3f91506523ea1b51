"""Dates and datetimes as text by table look-up, amounts as decimals: cheaper for the writers.

The CSV and JSON-lines writers format every date and datetime value on its own
(chrono, about 60-100 ns a value): in a 1M-customer landscape that is about a
fifth of all CSV writing. A batch's dates span few distinct days, so
:func:`as_text` formats each day once (``"2026-10-05 "``), and each second of a
day once (``"03:16:04"``), and builds the column by gathering from those tables
and joining the halves. The tables are formatted by the same chrono calls, so
the text is byte for byte what ``write_csv(date_format=..., datetime_format=...)``
writes; a format or a column this module does not handle is left for the
writer to format as before.

Amounts written with a fixed number of decimals (``float_precision``, the
money columns) cost the writer about 0.1 us a value (exact decimal rounding
of each float); :func:`fixed_decimals` hands them to it as decimals (whole numbers
of cents, written at a third of the cost) when every value is exactly such a
number (it is: amounts are rounded to cents when they are made), and leaves
any other column to the writer.
"""

from __future__ import annotations

import functools
import re

import numpy as np
import numpy.typing as npt
import polars as pl

from vecgen.rng import I64

Bools = npt.NDArray[np.bool_]

# Days a table may hold (about 1,100 years); a wider column is left to the writer.
MAX_DAYS = 400_000
_UNIT = {"ns": 1_000_000_000, "us": 1_000_000, "ms": 1_000}
_DIRECTIVE = re.compile(r"%.")
_DATE_DIRECTIVES = {"%Y", "%m", "%d"}
_TIME_DIRECTIVES = {"%H", "%M", "%S"}


def as_text(frame: pl.DataFrame, date_format: str, datetime_format: str) -> pl.DataFrame:
    """``frame`` with its Date and Datetime columns as formatted text.

    Naive datetimes of any time unit and dates become strings, formatted as
    ``date_format`` / ``datetime_format`` would format them (``%Y %m %d %H %M %S``
    and literal text; other formats and time-zone-aware columns are kept as
    they are). Nulls stay null.

    Examples
    --------
    >>> import datetime as dt
    >>> frame = pl.DataFrame({"d": [dt.date(1961, 1, 6), None],
    ...                       "t": [dt.datetime(2026, 10, 5, 3, 16, 4), None]})
    >>> as_text(frame, "%m/%d/%Y", "%Y-%m-%d %H:%M:%S").rows()
    [('01/06/1961', '2026-10-05 03:16:04'), (None, None)]

    """
    columns = []
    changed = False
    split = _split(datetime_format)
    for column in frame.get_columns():
        text = None
        dtype = column.dtype
        if dtype == pl.Date and _only(date_format, _DATE_DIRECTIVES):
            text = _dates(column.cast(pl.Int32), date_format)
        elif isinstance(dtype, pl.Datetime) and dtype.time_zone is None and split is not None:
            text = _datetimes(column, _UNIT[dtype.time_unit or "us"], *split)
        if text is None:
            columns.append(column)
        else:
            columns.append(text.alias(column.name))
            changed = True
    return pl.DataFrame(columns) if changed else frame


def _only(fmt: str, allowed: set[str]) -> bool:
    """Whether every ``%`` directive of ``fmt`` is one of ``allowed``."""
    return all(d in allowed for d in _DIRECTIVE.findall(fmt))


@functools.cache
def _split(fmt: str) -> tuple[str, str] | None:
    """``fmt`` as (date part, time part), cut before its first time directive; None: no."""
    first = next(
        (m.start() for m in _DIRECTIVE.finditer(fmt) if m.group() in _TIME_DIRECTIVES), None
    )
    if first is None:
        return None
    date_part, time_part = fmt[:first], fmt[first:]
    if not (_only(date_part, _DATE_DIRECTIVES) and _only(time_part, _TIME_DIRECTIVES)):
        return None
    return date_part, time_part


@functools.lru_cache(maxsize=16)
def _day_table(first: int, last: int, fmt: str) -> pl.Series:
    """Format the days ``first..last`` (days since 1970-01-01) as ``fmt``."""
    days = pl.Series(np.arange(first, last + 1, dtype=np.int32)).cast(pl.Date)
    return days.dt.strftime(fmt)


_WINDOW = 1024  # day tables cover whole windows of this many days


def _day_text(first: int, last: int, fmt: str) -> tuple[int, pl.Series]:
    """Return ``(start, table)``: the text of day ``d`` (``first <= d <= last``) is ``table[d - start]``.

    Tables cover whole windows of days, so the next batch's dates (a span a
    little wider or narrower) read the same table instead of formatting ~27,000
    birthdays again (8 ms a batch, holding the GIL).

    Examples
    --------
    >>> start, table = _day_text(10, 12, "%Y-%m-%d")
    >>> start, table[10 - start], len(table)
    (0, '1970-01-11', 1024)

    """
    start = first // _WINDOW * _WINDOW
    return start, _day_table(start, last // _WINDOW * _WINDOW + _WINDOW - 1, fmt)


@functools.cache
def _second_table(fmt: str) -> pl.Series:
    """Format the 86,400 seconds of a day as ``fmt`` (time directives only)."""
    seconds = pl.Series(np.arange(86_400, dtype=np.int64) * 1_000_000).cast(pl.Datetime("us"))
    return seconds.dt.strftime(fmt)


def _range(days: pl.Series) -> tuple[int, int] | None:
    """Return the first and last day of ``days``, or None (all null, or too wide for a table)."""
    first, last = days.min(), days.max()
    if first is None or last is None:
        return None
    assert isinstance(first, int) and isinstance(last, int)
    return (first, last) if last - first < MAX_DAYS else None


def _dates(days: pl.Series, fmt: str) -> pl.Series | None:
    """Dates (as days since 1970-01-01) as text."""
    span = _range(days)
    if span is None:
        return None
    start, table = _day_text(span[0], span[1], fmt)
    return table.gather(days - start)


def _datetimes(column: pl.Series, unit: int, date_fmt: str, time_fmt: str) -> pl.Series | None:
    """Naive datetimes (``unit`` ticks a second) as text."""
    seconds = column.cast(pl.Int64) // unit  # floor: chrono's second of a time before 1970
    days = seconds // 86_400
    span = _range(days)
    if span is None:
        return None
    first, last = span
    if first == last and column.null_count() == 0 and seconds.min() == seconds.max():
        # One value (a load timestamp): format it once.
        start, table = _day_text(first, first, date_fmt)
        one = table.gather([first - start]) + _second_table(time_fmt).gather(
            [int(seconds[0]) - first * 86_400]
        )
        return pl.repeat(one[0], column.len(), eager=True, dtype=pl.String)
    start, table = _day_text(first, last, date_fmt)
    dates = table.gather(days - start)
    times = _second_table(time_fmt).gather(seconds - days * 86_400)
    return dates + times


# Whole numbers of units up to 2**53 are exact in a float (and in the division below).
_EXACT = 2.0**53


def fixed_decimals(frame: pl.DataFrame, precision: int | None) -> pl.DataFrame:
    """``frame`` with its Float64 columns as decimals of ``precision`` places, as the CSV has them.

    The CSV writer's ``float_precision`` rounds each float's exact binary value
    (half to even). A value that is the float nearest to ``k / 10**precision``
    for a whole ``k`` is written as that decimal, so such a column becomes a
    decimal of ``k`` units (which the writer writes as that text). A column
    with any other value (a half cent, ``-0.0``, NaN, infinity, or too large)
    is left for the writer. Nulls stay null.

    Examples
    --------
    >>> frame = pl.DataFrame({"amount": [12.5, -0.07, None], "odd": [0.125, 1.0, 2.0]})
    >>> [str(v) for v in fixed_decimals(frame, 2)["amount"]]
    ['12.50', '-0.07', 'None']
    >>> fixed_decimals(frame, 2)["odd"].dtype
    Float64

    """
    if precision is None or not 0 <= precision <= 15:
        return frame
    columns = [
        (_fixed(c, precision) if c.dtype == pl.Float64 else None) for c in frame.get_columns()
    ]
    if all(c is None for c in columns):
        return frame
    return pl.DataFrame(
        [
            old if new is None else new.alias(old.name)
            for old, new in zip(frame.get_columns(), columns, strict=True)
        ]
    )


def _fixed(column: pl.Series, precision: int) -> pl.Series | None:
    """One Float64 column as decimals (see :func:`fixed_decimals`), or None: left to the writer."""
    present = column.is_not_null().to_numpy()
    values = column.to_numpy()[present]
    scale = 10.0**precision
    with np.errstate(invalid="ignore", over="ignore"):
        units = np.rint(values * scale)
        exact = np.abs(units) < _EXACT
        exact &= units / scale == values  # (NaN and infinity are not)
    if not exact.all() or (np.signbit(values) & (units == 0)).any():  # (-0.0 is "-0.00")
        return None
    return _decimals(column.name, units.astype(np.int64), present, precision)


def _decimals(name: str, units: I64, present: Bools, precision: int) -> pl.Series:
    """``units / 10**precision`` (one per present row) as a Decimal column (nulls elsewhere).

    The writer writes a decimal from its whole number of units (about a third of
    the cost of formatting a float); Polars' own integer-to-text cast and string
    joins would cost more than the float formatting they replace.
    """
    import pyarrow as pa

    words = np.zeros((len(present), 2), dtype=np.int64)  # 128-bit little-endian integers
    words[present, 0] = units
    words[:, 1] = np.where(words[:, 0] < 0, -1, 0)
    nulls = int(len(present) - present.sum())
    validity = pa.py_buffer(np.packbits(present, bitorder="little")) if nulls else None
    arr = pa.Array.from_buffers(
        pa.decimal128(38, precision), len(present), [validity, pa.py_buffer(words)], nulls
    )
    return pl.Series(name, arr)
