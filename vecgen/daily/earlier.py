"""Earlier days' files: found under OUT (any layout, format, part or table) and read back."""

from __future__ import annotations

import datetime as dt
import glob
import os
import re

import polars as pl

from vecgen.catalog import FLAT_NAMES
from vecgen.daily.extra import InputFileError
from vecgen.errors import cause
from vecgen.output import tables
from vecgen.sources.customers import COLUMNS


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


def earlier_files(out: str, source: str, before: dt.date) -> list[str]:
    """Files of ``source`` from days before ``before`` (lake partitions or flat date prefixes)."""
    found = []
    for path in tables.lake_files(os.path.join(out, source)):
        if file_day(path) < before.isoformat() and not os.path.basename(path).startswith("."):
            found.append(path)
    stem = FLAT_NAMES[source]
    for path in glob.glob(os.path.join(out, f"*{stem}.*")):
        name = os.path.basename(path)
        prefix = name[: -len(stem) - len(name.split(".")[-1]) - 1]
        if (
            re.fullmatch(r"\d{4}_\d{2}_\d{2}", prefix)
            and prefix.replace("_", "-") < before.isoformat()
        ):
            found.append(path)
    return sorted(p for p in found if p.rsplit(".", 1)[-1] in ("csv", "parquet", "json"))


def read_customers_file(path: str, extra: tuple[str, ...] = ()) -> pl.DataFrame:
    """Read an earlier customers file with the customers columns (errors name file and column).

    ``extra`` columns (as text) are kept too (the change feed's ``op``, ``change_ts``).
    """
    return read_records(path, "customers", COLUMNS, ("birth_dt",), extra)


def read_records(
    path: str,
    kind: str,
    columns: tuple[str, ...],
    dates: tuple[str, ...] = (),
    extra: tuple[str, ...] = (),
) -> pl.DataFrame:
    """Read an earlier file of ``kind`` records: ``columns`` and ``extra`` as text, ``dates`` as dates.

    Text files hold dates as the sources write them (``%m/%d/%Y``); an empty
    field is null. Errors name the file and the missing column.
    """
    try:
        if path.endswith(".parquet"):
            frame = pl.read_parquet(path)
            frame = frame.with_columns(
                pl.exclude(dates).cast(pl.String),
                *(pl.col(c).cast(pl.Date, strict=False) for c in dates if c in frame.columns),
            )
        else:
            frame = (
                pl.read_csv(path, infer_schema=False)
                if path.endswith(".csv")
                else pl.read_ndjson(path).cast(pl.String)
            )
            frame = frame.with_columns(
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


def _entities(path: str, out: str, source: str) -> pl.DataFrame:
    """``record_id``, ``entity_id``, ``household_id`` of ``source`` in the truth of the file's day."""
    day_dir = os.path.dirname(path)
    truth = glob.glob(
        os.path.join(
            os.path.dirname(os.path.dirname(day_dir)),
            "truth",
            os.path.basename(day_dir),
            "part-*.*",
        )
    )
    if not truth and "dt=" not in path:
        prefix = os.path.basename(path)[:10]
        truth = glob.glob(os.path.join(out, f"{prefix}{FLAT_NAMES['truth']}.*"))
    for t in truth:
        try:
            frame = (
                pl.read_parquet(t)
                if t.endswith(".parquet")
                else (
                    pl.read_csv(t, infer_schema=False) if t.endswith(".csv") else pl.read_ndjson(t)
                )
            )
            if "household_id" not in frame.columns:
                frame = frame.with_columns(pl.col("entity_id").alias("household_id"))
            return frame.filter(pl.col("source") == source).select(
                pl.col("record_id", "entity_id", "household_id").cast(pl.String)
            )
        except Exception:  # an unreadable truth file: fall back to record ids
            continue
    return pl.DataFrame(schema=dict.fromkeys(("record_id", "entity_id", "household_id"), pl.String))


def with_entities(
    frame: pl.DataFrame, path: str, out: str, source: str = "customers", key: str = "customer_id"
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
