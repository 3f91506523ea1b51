"""Earlier days' files: found under OUT (any layout, format, part or table) and read back.

OUT may be local or on S3 (:func:`output_of`: the run's own credentials, Vault's
included, and endpoint).
"""

from __future__ import annotations

import datetime as dt
import glob
import io
import os
import posixpath
import re
from dataclasses import dataclass
from typing import IO, Any

import polars as pl

from vecgen.catalog import FLAT_NAMES
from vecgen.daily.extra import InputFileError
from vecgen.errors import cause
from vecgen.output import tables
from vecgen.sources.customers import COLUMNS


@dataclass(frozen=True)
class Output:
    """An output folder read back: local, or remote through its fsspec filesystem (``store``)."""

    root: str
    store: tables.Store = tables.LOCAL

    def join(self, *parts: str) -> str:
        """Join a path under the output (``/`` on S3)."""
        return (os.path.join if self.store.fs is None else posixpath.join)(*parts)

    def glob(self, pattern: str) -> list[str]:
        """Return the paths matching ``pattern``."""
        if self.store.fs is None:
            return glob.glob(pattern)
        return [str(p) for p in self.store.fs.glob(pattern)]

    def source(self, path: str) -> str | IO[bytes]:
        """Return what Polars reads ``path`` from: the path, or the remote file's bytes."""
        if self.store.fs is None:
            return path
        return io.BytesIO(self.store.fs.cat_file(path))


def output_of(out: str | Output, config: Any = None) -> Output:
    """Return ``out`` as an :class:`Output`; a remote one opens its filesystem with ``config``."""
    if isinstance(out, Output):
        return out
    if "://" not in out:
        return Output(out)
    from vecgen.remote import filesystem, is_s3

    fs, root = filesystem(out, config)
    return Output(root.rstrip("/"), tables.s3_store(fs) if is_s3(fs) else tables.Store(fs, {}))


def file_day(path: str) -> str:
    """Return the ISO date of an output file: its ``dt=`` partition or its flat name's prefix.

    Examples
    --------
    >>> file_day("out/customers/dt=2026-01-15/part-00000.csv")
    '2026-01-15'
    >>> file_day("out/2026_01_15Customers.csv")
    '2026-01-15'

    """
    folder = os.path.basename(os.path.dirname(path))
    if folder.startswith("dt="):
        return folder[3:]
    return os.path.basename(path)[:10].replace("_", "-")


def earlier_files(out: str | Output, source: str, before: dt.date) -> list[str]:
    """Files of ``source`` from days before ``before`` (lake partitions or flat date prefixes)."""
    where = output_of(out)
    found = []
    for path in tables.lake_files(where.join(where.root, source), store=where.store):
        if file_day(path) < before.isoformat() and not os.path.basename(path).startswith("."):
            found.append(path)
    stem = FLAT_NAMES[source]
    for path in where.glob(where.join(where.root, f"*{stem}.*")):
        name = os.path.basename(path)
        prefix = name[: -len(stem) - len(name.split(".")[-1]) - 1]
        if (
            re.fullmatch(r"\d{4}_\d{2}_\d{2}", prefix)
            and prefix.replace("_", "-") < before.isoformat()
        ):
            found.append(path)
    return sorted(p for p in found if p.rsplit(".", 1)[-1] in ("csv", "parquet", "json"))


def read_customers_file(
    path: str, extra: tuple[str, ...] = (), out: Output | None = None
) -> pl.DataFrame:
    """Read an earlier customers file with the customers columns (errors name file and column).

    ``extra`` columns (as text) are kept too (the change feed's ``op``, ``change_ts``).
    """
    return read_records(path, "customers", COLUMNS, ("birth_dt",), extra, out)


def read_records(
    path: str,
    kind: str,
    columns: tuple[str, ...],
    dates: tuple[str, ...] = (),
    extra: tuple[str, ...] = (),
    out: Output | None = None,
) -> pl.DataFrame:
    """Read an earlier file of ``kind`` records: ``columns`` and ``extra`` as text, ``dates`` as dates.

    Text files hold dates as the sources write them (``%m/%d/%Y``); an empty
    field is null. Errors name the file and the missing column. ``out`` reads
    a remote output's file.
    """
    try:
        frame = _read_file(path, out)
        if path.endswith(".parquet"):
            frame = frame.with_columns(
                pl.exclude(dates).cast(pl.String),
                *(pl.col(c).cast(pl.Date, strict=False) for c in dates if c in frame.columns),
            )
        else:
            frame = frame.cast(pl.String).with_columns(
                pl.col(c).str.to_date("%m/%d/%Y", strict=False) for c in dates if c in frame.columns
            )
    except Exception as exc:  # polars raises several kinds; all mean "not such a file"
        raise InputFileError(
            f"{path}: cannot be read as a {kind} file ({cause(exc)}); regenerate that day"
        ) from None
    missing = [c for c in (*columns, *extra) if c not in frame.columns]
    if missing:
        raise InputFileError(
            f"{path}: column '{missing[0]}' is missing; it is not a vecgen {kind} file"
        )
    return (
        frame.select(*columns, *extra)
        .with_columns(pl.exclude(dates).cast(pl.String))
        .with_columns(pl.col(pl.String).replace("", None))
    )


def _read_file(path: str, out: Output | None) -> pl.DataFrame:
    """Read one output file as its format holds it (CSV as text); ``out``: a remote output's."""
    data = path if out is None else out.source(path)
    if path.endswith(".parquet"):
        return pl.read_parquet(data)
    if path.endswith(".csv"):
        return pl.read_csv(data, infer_schema=False)
    return pl.read_ndjson(data)


def _entities(path: str, out: str | Output, source: str) -> pl.DataFrame:
    """``record_id``, ``entity_id``, ``household_id`` of ``source`` in the truth of the file's day."""
    where = output_of(out)
    day_dir = os.path.dirname(path)
    truth = where.glob(
        where.join(
            os.path.dirname(os.path.dirname(day_dir)),
            "truth",
            os.path.basename(day_dir),
            "part-*.*",
        )
    )
    if not truth and "dt=" not in path:
        prefix = os.path.basename(path)[:10]
        truth = where.glob(where.join(where.root, f"{prefix}{FLAT_NAMES['truth']}.*"))
    # Every part of the day (shards, and the pieces a large Parquet file rolled on
    # to), in the first format that reads.
    by_format: dict[str, list[str]] = {}
    for t in truth:
        by_format.setdefault(t.rsplit(".", 1)[-1], []).append(t)
    for files in by_format.values():
        try:
            frames = []
            for t in files:
                frame = _read_file(t, where)
                if "household_id" not in frame.columns:
                    frame = frame.with_columns(pl.col("entity_id").alias("household_id"))
                frames.append(
                    frame.filter(pl.col("source") == source).select(
                        pl.col("record_id", "entity_id", "household_id").cast(pl.String)
                    )
                )
            return pl.concat(frames)
        except Exception:  # an unreadable truth file: fall back to record ids
            continue
    return pl.DataFrame(schema=dict.fromkeys(("record_id", "entity_id", "household_id"), pl.String))


def with_entities(
    frame: pl.DataFrame,
    path: str,
    out: str | Output,
    source: str = "customers",
    key: str = "customer_id",
) -> pl.DataFrame:
    """Add ``__entity`` and ``__household``: each record's in the truth of its day (else its id)."""
    found = _entities(path, out, source).unique("record_id", keep="last")
    own = pl.col(key)
    return (
        frame.join(found, left_on=key, right_on="record_id", how="left", maintain_order="left")
        .with_columns(
            pl.col("entity_id").fill_null(own).alias("__entity"),
            pl.col("household_id")
            .fill_null(pl.col("entity_id"))
            .fill_null(own)
            .alias("__household"),
        )
        .drop("entity_id", "household_id")
    )
