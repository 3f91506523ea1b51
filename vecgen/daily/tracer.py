"""Tracer QA records: ``tracer/tracer.csv`` validated, added to today's customers, then moved to ``consumed/``."""

from __future__ import annotations

import csv
import datetime as dt
import difflib
import io
import os
import re
from pathlib import Path

import numpy as np
import polars as pl

from vecgen.daily.extra import Extra, InputFileError
from vecgen.plan import Plan
from vecgen.sources.base import truth_rows
from vecgen.sources.customers import COLUMNS, customer_ids

TRACER_FILE = "tracer.csv"
TRACER_COLUMNS = tuple(c for c in COLUMNS if c not in ("customer_id", "dtUpdateDate"))
TRACER_OPTIONAL = ("customer_id", "dtUpdateDate", "master_id")
MAX_LINE = 100_000  # characters; a longer line is refused, not read
_DATE = re.compile(r"^\d{2}/\d{2}/\d{4}$")


def _fail(path: Path, line: int, column: str, problem: str) -> InputFileError:
    # Control characters from the file are shown escaped by the error itself (one line).
    return InputFileError(
        f"{path}:{line}: column '{column}': {problem}; fix the file and run again"
    )


def read_tracer(path: Path) -> pl.DataFrame:
    r"""Read and validate a tracer file; any problem names the line and column.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "tracer.csv"
    >>> _ = p.write_text("name_first,name_last,gender,birth_dt\nAnn,Lee,F,13/45/1990\n")
    >>> try:
    ...     read_tracer(p)
    ... except InputFileError as exc:
    ...     print(str(exc).split(": ", 1)[1])
    column 'birth_dt': '13/45/1990' is not a date MM/DD/YYYY; fix the file and run again

    """
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputFileError(f"{path}: cannot be read ({exc.strerror})") from None
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]  # a UTF-8 byte-order mark, as spreadsheet programs write
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise InputFileError(
            f"{path}:{line}: not UTF-8 text (byte {exc.start}); save the file as UTF-8"
        ) from None
    if not text.strip():
        raise InputFileError(f"{path}: the file is empty; it needs a header line and QA records")
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = [h.strip() for h in next(reader)]
    except csv.Error as exc:
        raise InputFileError(f"{path}:1: the header is not valid CSV ({exc})") from None
    allowed = (*TRACER_COLUMNS, *TRACER_OPTIONAL)
    for i, name in enumerate(header):
        if name not in allowed:
            # Words in another order (first_name for name_first) count as a close match.
            reordered = [
                a for a in allowed if sorted(a.split("_")) == sorted(name.lower().split("_"))
            ]
            close = reordered or difflib.get_close_matches(name, allowed, n=1)
            hint = f"did you mean '{close[0]}'? " if close else ""
            raise _fail(
                path,
                1,
                name or f"#{i + 1}",
                f"is not a customers column; {hint}valid: {', '.join(allowed)}",
            )
    if len(set(header)) != len(header):
        dup = next(h for h in header if header.count(h) > 1)
        raise _fail(path, 1, dup, "appears twice in the header")
    for required in ("name_first", "name_last"):
        if required not in header:
            raise _fail(path, 1, required, "is required")
    rows: list[list[str]] = []
    try:
        for fields in reader:
            line = reader.line_num
            if any(len(f) > MAX_LINE for f in fields):
                raise InputFileError(
                    f"{path}:{line}: a field is longer than {MAX_LINE:,} characters"
                )
            if not fields or all(not f.strip() for f in fields):
                continue
            if len(fields) != len(header):
                raise InputFileError(
                    f"{path}:{line}: {len(fields)} fields, the header has {len(header)}"
                )
            record = dict(zip(header, fields, strict=True))
            _check_record(path, line, record)
            rows.append([record.get(c, "") for c in (*TRACER_COLUMNS, "master_id")])
    except csv.Error as exc:
        raise InputFileError(f"{path}:{reader.line_num}: not valid CSV ({exc})") from None
    if not rows:
        raise InputFileError(f"{path}: no QA records after the header")
    columns = [*TRACER_COLUMNS, "master_id"]
    frame = pl.DataFrame(rows, schema=dict.fromkeys(columns, pl.String), orient="row")
    return frame.with_columns(pl.col(pl.String).replace("", None)).with_columns(
        pl.col("birth_dt").str.to_date("%m/%d/%Y", strict=False)
    )


def _check_record(path: Path, line: int, record: dict[str, str]) -> None:
    for column, value in record.items():
        if "\x00" in value:
            raise _fail(path, line, column, "contains a NUL character")
    for required in ("name_first", "name_last"):
        if not record[required].strip():
            raise _fail(path, line, required, "is empty")
    gender = record.get("gender", "")
    if gender and gender not in ("F", "M"):
        raise _fail(path, line, "gender", f"{gender!r} is not F or M")
    birth = record.get("birth_dt", "")
    if birth:
        try:
            if not _DATE.match(birth):
                raise ValueError(birth)
            dt.datetime.strptime(birth, "%m/%d/%Y")
        except ValueError:
            raise _fail(path, line, "birth_dt", f"{birth!r} is not a date MM/DD/YYYY") from None
    email = record.get("email", "")
    if email and "@" not in email:
        raise _fail(path, line, "email", f"{email!r} has no '@'")
    master = record.get("master_id", "")
    if master and not re.fullmatch(r"[0-9A-Za-z-]{1,64}", master):
        raise _fail(path, line, "master_id", f"{master!r} is not an ID (letters, digits, '-')")


def tracer_extra(plan: Plan, frame: pl.DataFrame, first_position: int) -> Extra:
    """Turn validated tracer rows into customers (new IDs from ``first_position``) and truth."""
    n = frame.height
    ids = customer_ids(
        plan, np.arange(first_position, first_position + n, dtype=np.int64), "tracer"
    )
    own = ids.cast(pl.String)
    entity = frame["master_id"].fill_null(own)
    customers = (
        frame.drop("master_id")
        .with_columns(ids, pl.lit(plan.run_ts).alias("dtUpdateDate"))
        .select(COLUMNS)
    )
    truth = truth_rows(
        "customers", own, entity, np.zeros(n, dtype=bool), np.full(n, -1), household_id=entity
    )
    return Extra(customers, truth.drop("__block"))


def consumed_folder(path: Path) -> Path:
    """Check, before a run writes anything, that a used tracer file can be put away.

    A ``consumed`` that is a file would otherwise fail after the run published,
    and the same tracer records would be added again next time.
    """
    folder = path.parent / "consumed"
    if folder.exists() and not folder.is_dir():
        msg = f"{folder} is not a folder, so the tracer file could not be put away; move it aside"
        raise InputFileError(msg)
    return folder


def consume_tracer(path: Path, when: dt.datetime) -> Path:
    """Move a used tracer file to ``consumed/`` (kept, not deleted as the predecessor did).

    The name carries the time to the microsecond and never replaces an earlier
    consumed file (two runs in one second once overwrote one).
    """
    folder = consumed_folder(path)
    folder.mkdir(parents=True, exist_ok=True)
    stem = f"{when:%Y%m%dT%H%M%S.%f}-{path.name}"
    target, n = folder / stem, 1
    while target.exists():
        target, n = folder / f"{stem}.{n}", n + 1
    os.replace(path, target)
    return target
