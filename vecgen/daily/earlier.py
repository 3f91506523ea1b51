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


def earlier_files(out: str, source: str, before: dt.date) -> list[str]:
    """Files of ``source`` from days before ``before`` (lake partitions or flat date prefixes)."""
    found = []
    for path in tables.lake_files(os.path.join(out, source)):
        day = os.path.basename(os.path.dirname(path))[3:]
        if day < before.isoformat() and not os.path.basename(path).startswith("."):
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
    try:
        if path.endswith(".parquet"):
            frame = pl.read_parquet(path).with_columns(pl.exclude("birth_dt").cast(pl.String))
            frame = (
                frame.with_columns(pl.col("birth_dt").cast(pl.Date, strict=False))
                if "birth_dt" in frame.columns
                else frame
            )
        else:
            frame = (
                pl.read_csv(path, infer_schema=False)
                if path.endswith(".csv")
                else pl.read_ndjson(path).cast(pl.String)
            )
            if "birth_dt" in frame.columns:
                frame = frame.with_columns(pl.col("birth_dt").str.to_date("%m/%d/%Y", strict=False))
    except Exception as exc:  # polars raises several kinds; all mean "not a customers file"
        raise InputFileError(
            f"{path}: cannot be read as a customers file ({cause(exc)}); regenerate that day"
        ) from None
    missing = [c for c in (*COLUMNS, *extra) if c not in frame.columns]
    if missing:
        raise InputFileError(
            f"{path}: column '{missing[0]}' is missing; it is not a vecgen customers file"
        )
    return (
        frame.select(*COLUMNS, *extra)
        .with_columns(pl.exclude("birth_dt").cast(pl.String))
        .with_columns(pl.col(pl.String).replace("", None))
    )


def _entities(path: str, out: str) -> dict[str, str]:
    """record_id -> entity_id from the truth file of the same day, if there is one."""
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
            frame = frame.filter(pl.col("source") == "customers")
            return dict(
                zip(
                    frame["record_id"].cast(pl.String),
                    frame["entity_id"].cast(pl.String),
                    strict=True,
                )
            )
        except Exception:  # an unreadable truth file: fall back to record ids
            continue
    return {}


def with_entities(frame: pl.DataFrame, path: str, out: str) -> pl.DataFrame:
    """Add ``__entity``: each customer's entity in the truth of its day (else its own id)."""
    entities = _entities(path, out)
    return frame.with_columns(
        pl.col("customer_id")
        .replace_strict(entities, default=pl.col("customer_id"))
        .alias("__entity")
    )
