"""Daily extras: tracer QA records, archival re-injection, and earlier days' files.

- Tracer: ``tracer/tracer.csv`` (hand-made QA people, customers columns plus an
  optional ``master_id``) is validated, added to today's customers with new
  customer_ids, and moved to ``tracer/consumed/`` once the run is published.
- Archival: people from earlier days' customer files are re-read, fuzzed and
  added as new customers, linked in truth to their original entity.
- Earlier files feed ``vecgen transactions`` (new transactions for existing customers).
"""

from __future__ import annotations

import csv
import datetime as dt
import difflib
import glob
import io
import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from vecgen.catalog import FLAT_NAMES, PERSON_COLUMNS
from vecgen.errors import VecgenError
from vecgen.fuzz_vectorized import fuzz_frame
from vecgen.output import tables
from vecgen.plan import Plan
from vecgen.sources.base import truth_rows
from vecgen.sources.customers import COLUMNS, customer_ids
from vecgen.sources.people import replacement_pools
from vecgen.vocab import Vocab

TRACER_FILE = "tracer.csv"
TRACER_COLUMNS = tuple(c for c in COLUMNS if c not in ("customer_id", "dtUpdateDate"))
TRACER_OPTIONAL = ("customer_id", "dtUpdateDate", "master_id")
MAX_LINE = 100_000  # characters; a longer line is refused, not read
ARCHIVAL_SHARE = 0.01  # of the run's customers per round
_DATE = re.compile(r"^\d{2}/\d{2}/\d{4}$")


class InputFileError(VecgenError, ValueError):
    """A file handed to vecgen (tracer, an earlier day's file) is malformed."""


@dataclass(frozen=True)
class Extra:
    """Customers added after the generated ones (tracer or archival), with their truth."""

    frame: pl.DataFrame  # customers columns (the change feed's, for customer_changes)
    truth: pl.DataFrame
    source: str = "customers"  # the file the rows go to


def _fail(path: Path, line: int, column: str, problem: str) -> InputFileError:
    # Newlines and other control characters from the file are shown escaped: one line.
    text = "".join(c if c.isprintable() else repr(c)[1:-1] for c in f"column '{column}': {problem}")
    return InputFileError(f"{path}:{line}: {text}; fix the file and run again")


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
            f"{path}: cannot be read as a customers file ({type(exc).__name__})"
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


def archival_extra(plan: Plan, vocab: Vocab, first_position: int) -> Extra | None:
    """Re-read earlier days' people, fuzz them and add them as new customers (``archival_count`` rounds)."""
    cfg = plan.config
    files = earlier_files(cfg.out, "customers", plan.run_date)
    if not files or cfg.archival_count == 0:
        return None
    per_round = max(1, round(cfg.customers * ARCHIVAL_SHARE))
    picked: list[pl.DataFrame] = []
    for r in range(cfg.archival_count):
        s = plan.streams(f"archival/{r}")
        path = files[int(s("file").integers(np.zeros(1, dtype=np.uint64), 0, len(files))[0])]
        frame = read_customers_file(path)
        if frame.height == 0:
            continue
        tail_start = frame.height - max(1, frame.height // 10)  # the file's last tenth, as before
        rows = tail_start + s("row").integers(
            np.arange(per_round, dtype=np.uint64), 0, frame.height - tail_start
        )
        picked.append(with_entities(frame[rows], path, cfg.out))
    if not picked:
        return None
    originals = pl.concat(picked)
    n = originals.height
    keys = np.arange(n, dtype=np.uint64)
    people = originals.select(PERSON_COLUMNS)
    fuzzed, log = fuzz_frame(
        people, plan.profile, plan.stream("archival", "fuzz"), keys, vocab, replacement_pools(vocab)
    )
    ids = customer_ids(
        plan, np.arange(first_position, first_position + n, dtype=np.int64), "archival"
    )
    customers = fuzzed.with_columns(ids, pl.lit(plan.run_ts).alias("dtUpdateDate")).select(COLUMNS)
    truth = truth_rows(
        "customers",
        ids.cast(pl.String),
        originals["__entity"],
        np.ones(n, dtype=bool),
        np.full(n, -1),
        duplicate_of=originals["customer_id"],
        corruptions=log,
        household_id=originals["__entity"],  # an earlier day's household is not carried over
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
