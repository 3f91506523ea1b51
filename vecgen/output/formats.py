"""Encoders: a batch as CSV, JSON-lines or Parquet (Arrow) bytes, and the Parquet options."""

from __future__ import annotations

from dataclasses import dataclass
from typing import IO, Any

import polars as pl

from vecgen.catalog import TABLE_FORMATS
from vecgen.output.datetext import as_text, fixed_decimals
from vecgen.sources.base import WriteOptions

# Parquet row groups are cut at ``parquet_row_group_rows`` rows whatever the batch
# size, so the bytes do not depend on batching; memory holds at most one row group per file.
# ``parquet_dictionary = "auto"`` dictionary-encodes the columns whose first row group
# has at most this share of distinct values (states, tiers, flags, brands, names, cities,
# jobs, user agents: words drawn from a vocabulary). Measured on one row group of each
# file of a 1M-customer run: up to 0.3 (in 65,536 rows) the dictionary is both faster to
# write and smaller; above it (e-mails, visitor ids, postal codes) plain is faster. With
# row groups of 32,768 rows (the default since session 12) the sample is 32,768 rows: only
# postal codes went from dictionary to plain, at the same speed.
DICTIONARY_MAX_DISTINCT_SHARE = 0.3
DICTIONARY_SAMPLE_ROWS = 65_536  # of the first row group: the same rows whatever the batching
PARQUET_FORMATS = ("parquet", *TABLE_FORMATS)  # formats whose files are Parquet
_FORMULA_START = r"^[=+\-@\t\r]"


def guard_formulas(frame: pl.DataFrame) -> pl.DataFrame:
    """Prefix text that a spreadsheet would run as a formula with ``'`` (CSV only, opt-in).

    Examples
    --------
    >>> import polars as pl
    >>> guard_formulas(pl.DataFrame({"a": ["=1+1", "@x", "-", "ok", None], "n": [-1, 2, 3, 4, 5]})).rows()
    [("'=1+1", -1), ("'@x", 2), ("'-", 3), ('ok', 4), (None, 5)]

    """
    return frame.with_columns(
        pl.when(pl.col(c).str.contains(_FORMULA_START))
        .then("'" + pl.col(c))
        .otherwise(pl.col(c))
        .alias(c)
        for c, t in frame.schema.items()
        if t == pl.String
    )


def _text_ready(frame: pl.DataFrame, opts: WriteOptions) -> pl.DataFrame:
    """Format dates and datetimes as the CSV does (for JSON lines)."""
    return as_text(frame, opts.date_format, opts.datetime_format).with_columns(
        pl.col(pl.Date).dt.strftime(opts.date_format),
        pl.col(pl.Datetime).dt.strftime(opts.datetime_format),
    )


def write_csv(frame: pl.DataFrame, target: IO[bytes], opts: WriteOptions, header: bool) -> None:
    """Append ``frame`` to ``target`` as CSV: every field quoted, dates as ``opts`` says.

    Dates are made text by table look-up and amounts from whole cents
    (:mod:`vecgen.output.datetext`: the same text, less CSV work); Polars'
    writer formats the rest.
    """
    text = fixed_decimals(
        as_text(frame, opts.date_format, opts.datetime_format), opts.float_precision
    )
    text.write_csv(
        target,
        include_header=header,
        quote_style="always",
        date_format=opts.date_format,
        datetime_format=opts.datetime_format,
        float_precision=opts.float_precision,
    )


def encode(frame: pl.DataFrame, fmt: str, opts: WriteOptions, formula_guard: bool = False) -> Any:
    r"""Encode one batch for ``fmt`` as :meth:`FileSink.write` would write it (for workers).

    CSV gives ``(header line, rows)`` bytes, JSON lines bytes, Parquet an Arrow
    table (row groups are cut by the file, whatever the batches).

    Examples
    --------
    >>> import polars as pl
    >>> encode(pl.DataFrame({"a": [1, 2]}), "csv", WriteOptions())
    (b'"a"\n', b'"1"\n"2"\n')

    """
    import io

    if fmt == "csv":
        if formula_guard:
            frame = guard_formulas(frame)
        header, body = io.BytesIO(), io.BytesIO()
        write_csv(frame.clear(), header, opts, header=True)
        write_csv(frame, body, opts, header=False)
        return header.getvalue(), body.getvalue()
    if fmt in PARQUET_FORMATS:
        return arrow_table(frame, opts.money)
    body = io.BytesIO()
    _text_ready(frame, opts).write_ndjson(body)
    return body.getvalue()


def arrow_table(frame: pl.DataFrame, money: tuple[str, ...] = ()) -> Any:
    """``frame`` as an Arrow table for the Parquet writer, without copying text.

    Text stays in Polars' string-view layout (``string_view``): converting it to
    ``large_string`` copied every string once more (about an eighth of a Parquet
    run's CPU). Parquet stores either as the same UTF-8 byte arrays. ``money``
    columns become ``decimal(12,2)`` (amounts already rounded to cents).

    Examples
    --------
    >>> arrow_table(pl.DataFrame({"a": ["x"], "n": [1]})).schema.types
    [DataType(string_view), DataType(int64)]
    >>> arrow_table(pl.DataFrame({"total": [12.5]}), ("total",)).schema.types
    [Decimal128Type(decimal128(12, 2))]

    """
    if money:
        frame = frame.with_columns(pl.col(*money).round(2).cast(pl.Decimal(12, 2)))
    return frame.to_arrow(compat_level=pl.CompatLevel.newest())


def _is_text(arrow_type: Any) -> bool:
    """Whether an Arrow type is text, in any of its layouts."""
    import pyarrow as pa

    t = pa.types
    return any(
        is_kind(arrow_type) for is_kind in (t.is_string, t.is_large_string, t.is_string_view)
    )


def as_large(schema: Any) -> Any:
    """Return ``schema`` with its text columns as ``large_string`` (one buffer: a compact copy)."""
    import pyarrow as pa

    return pa.schema(
        [pa.field(f.name, pa.large_string(), f.nullable) if _is_text(f.type) else f for f in schema]
    )


def as_views(table: Any) -> Any:
    """``table`` with its text columns as ``string_view`` (as :func:`arrow_table` gives)."""
    import pyarrow as pa

    fields = [
        pa.field(f.name, pa.string_view(), f.nullable) if _is_text(f.type) else f
        for f in table.schema
    ]
    return table.cast(pa.schema(fields))


@dataclass(frozen=True)
class ParquetOptions:
    """How Parquet files are written (from the ``parquet_*`` settings)."""

    compression: str = "snappy"
    row_group_rows: int = 32_768
    dictionary: str = "auto"
    statistics: str = "auto"
    file_rows: int = 0  # a file rolls on to the next at a row group past this many (0: never)

    @classmethod
    def of(cls, config: Any) -> ParquetOptions:
        """Return the options a config asks for."""
        return cls(
            config.parquet_compression,
            config.parquet_row_group_rows,
            config.parquet_dictionary,
            config.parquet_statistics,
            config.parquet_file_rows if config.layout == "lake" else 0,
        )


def _sample(first_group: Any) -> pl.DataFrame:
    """Return the rows of a file's first row group that choose its encodings (as Polars)."""
    sample = pl.from_arrow(first_group.slice(0, DICTIONARY_SAMPLE_ROWS))
    assert isinstance(sample, pl.DataFrame)
    return sample


def dictionary_columns(table: Any, mode: str) -> bool | list[str]:
    """Columns to dictionary-encode: all, none, or (auto) those with few distinct values.

    ``table`` is the file's first row group (its first rows are sampled): the same
    rows whatever the batching, so the choice is too.

    Examples
    --------
    >>> import pyarrow as pa
    >>> t = pa.table({"state": ["NY", "CA"] * 50, "id": list(range(100))})
    >>> dictionary_columns(t, "auto"), dictionary_columns(t, "none")
    (['state'], False)

    """
    if mode != "auto":
        return mode == "all"
    sample = _sample(table)
    limit = max(1, int(sample.height * DICTIONARY_MAX_DISTINCT_SHARE))
    distinct = sample.select(pl.all().n_unique()).row(0)
    return [name for name, n in zip(sample.columns, distinct, strict=True) if n <= limit]


def statistics_columns(table: Any, mode: str) -> bool | list[str]:
    """Columns to write min/max statistics for: all, none, or (auto) those that prune.

    Statistics let a reader skip row groups, which only works for values that
    cluster: numbers, dates, times, and text that runs in order or holds one
    value (ids as text, a country, the ``dt`` partition). ``table`` is the file's
    first row group, whose rows do not depend on the batching. Text in random
    order (names, e-mails, states, tiers) spans nearly every value in every row
    group of 32,768 rows, so its min/max prune nothing and cost a tenth of the
    Parquet encoder's time (session 13, ``benchmarks/RESULTS.md``).

    Examples
    --------
    >>> import pyarrow as pa
    >>> t = pa.table({"state": ["NY", "CA", "NY"], "lm_id": ["L1", None, "L3"], "id": [3, 1, 2]})
    >>> statistics_columns(t, "auto"), statistics_columns(t, "none")
    (['lm_id', 'id'], False)

    """
    if mode != "auto":
        return mode == "all"
    sample = _sample(table)
    return [
        f.name
        for f in table.schema
        if not _is_text(f.type) or sample[f.name].drop_nulls().is_sorted()
    ]


@dataclass(frozen=True)
class Encoded:
    """One batch of one source, encoded by a worker: format -> :func:`encode` output."""

    rows: int
    empty: pl.DataFrame  # the columns, no rows: for the header of a file that gets none
    payloads: dict[str, Any]


def rows_of(frame: pl.DataFrame | Encoded) -> int:
    """Rows of one batch of a source, generated here or encoded by a worker."""
    return frame.rows if isinstance(frame, Encoded) else frame.height
