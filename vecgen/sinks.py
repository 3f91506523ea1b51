"""Sinks: stream batches of each source into CSV, Parquet or JSON-lines files.

Every file is written under a hidden temporary name in its final folder and
renamed into place only when the whole run succeeded (:meth:`Outputs.publish`);
on failure the temporaries are removed (:meth:`Outputs.abort`) and earlier
files stay as they were. Paths go through fsspec, so ``out`` may be any URL.
"""

from __future__ import annotations

import contextlib
import functools
import os
import posixpath
import re
import secrets
import signal
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import polars as pl

from vecgen import tables
from vecgen.catalog import CHANGE_FEED, FLAT_NAMES, FORMATS, TABLE_FORMATS
from vecgen.datetext import as_text
from vecgen.errors import OutputError
from vecgen.faults import checkpoint
from vecgen.plan import Plan, source_info
from vecgen.sources import flat_name
from vecgen.sources.base import WriteOptions
from vecgen.state import read_journal, remove_journal, write_journal

TMP_MARK = ".vecgen-tmp-"
# Parquet row groups are cut at ``parquet_row_group_rows`` rows whatever the batch
# size, so the bytes do not depend on batching; memory holds at most one row group per file.
# ``parquet_dictionary = "auto"`` dictionary-encodes the columns whose first row group
# has at most this share of distinct values (states, tiers, flags, brands, names, cities,
# jobs, user agents: words drawn from a vocabulary). Measured on one row group of each
# file of a 1M-customer run: up to 0.3 (in 65,536 rows) the dictionary is both faster to
# write and smaller; above it (e-mails, visitor ids, postal codes) plain is faster.
WRITE_THREADS = 2
DICTIONARY_MAX_DISTINCT_SHARE = 0.3
DICTIONARY_SAMPLE_ROWS = 65_536  # of the first row group: the same rows whatever the batching
_PART = re.compile(r"^part-\d{5}\.(csv|parquet|json)$")


def final_path(plan: Plan, root: str, source: str, fmt: str, part: int | None = None) -> str:
    """Where ``source`` in format ``fmt`` lands for this run's layout.

    Examples
    --------
    >>> import datetime as dt
    >>> from vecgen.config import Config
    >>> from vecgen.plan import resolve
    >>> plan = resolve(Config(date=dt.date(2026, 3, 1)))
    >>> final_path(plan, "out", "customers", "parquet")
    'out/customers/dt=2026-03-01/part-00000.parquet'
    >>> final_path(resolve(Config(date=dt.date(2026, 3, 1), layout="flat")), "out", "transactions", "csv")
    'out/2026_03_01CustomersTransactions.csv'

    """
    ext = FORMATS[fmt]
    shards = plan.config.parts > 1
    if part is None:
        part = plan.config.part if shards else 0
    if plan.config.layout == "lake":
        return posixpath.join(
            root, source, f"dt={plan.run_date.isoformat()}", f"part-{part:05d}.{ext}"
        )
    prefix = plan.run_date.strftime("%Y_%m_%d") if plan.config.date_prefix else ""
    suffix = f"-part-{part:05d}" if shards else ""
    return posixpath.join(root, f"{prefix}{flat_name(plan.config, source)}{suffix}.{ext}")


# The size of the other formats relative to CSV: for the free-space check before a run.
FORMAT_FACTOR = {"csv": 1.0, "jsonl": 1.7, "parquet": 0.45, "delta": 0.45, "iceberg": 0.45}
PARQUET_FORMATS = ("parquet", *TABLE_FORMATS)  # formats whose files are Parquet
DISK_MARGIN = 1.2
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


def estimated_bytes(plan: Plan) -> int:
    """About how many bytes this run writes (all formats), from the plan."""
    per_customer = sum(source_info(plan.config, s).csv_bytes for s in plan.sources)
    factor = sum(FORMAT_FACTOR[f] for f in plan.config.formats)
    customers = sum(stop - start for start, stop in plan.batches)
    return int(customers * per_customer * factor * (1 + plan.dupe_rate / 100))


def _size(n: float) -> str:
    """Bytes for a message.

    Examples
    --------
    >>> _size(3_400_000_000), _size(7_300_000), _size(512)
    ('3.4 GB', '7.3 MB', '0.0 MB')

    """
    return f"{n / 1e9:.1f} GB" if n >= 1e9 else f"{n / 1e6:.1f} MB"


def check_disk_space(plan: Plan, folder: str) -> None:
    """Refuse to start a local run that would not fit on the disk (before anything is written)."""
    import shutil

    probe = os.path.abspath(folder)
    while not os.path.exists(probe):
        probe = os.path.dirname(probe)
    need = int(estimated_bytes(plan) * DISK_MARGIN)
    free = shutil.disk_usage(probe).free
    if need > free:
        msg = (
            f"this run needs about {_size(need)} and {probe} has {_size(free)} free; "
            "free some space, write elsewhere (--out) or lower --customers (or --no-disk-check)"
        )
        raise OutputError(msg)


def _is_local(fs: Any) -> bool:
    from fsspec.implementations.local import LocalFileSystem

    return isinstance(fs, LocalFileSystem)


def _text_ready(frame: pl.DataFrame, opts: WriteOptions) -> pl.DataFrame:
    """Format dates and datetimes as the CSV does (for JSON lines)."""
    return as_text(frame, opts.date_format, opts.datetime_format).with_columns(
        pl.col(pl.Date).dt.strftime(opts.date_format),
        pl.col(pl.Datetime).dt.strftime(opts.datetime_format),
    )


def _write_csv(frame: pl.DataFrame, target: IO[bytes], opts: WriteOptions, header: bool) -> None:
    # Dates by table look-up (same text, a fifth less CSV work); the writer formats the rest.
    as_text(frame, opts.date_format, opts.datetime_format).write_csv(
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
        _write_csv(frame.clear(), header, opts, header=True)
        _write_csv(frame, body, opts, header=False)
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


def _as_views(table: Any) -> Any:
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
    row_group_rows: int = 262_144
    dictionary: str = "auto"
    statistics: str = "auto"

    @classmethod
    def of(cls, config: Any) -> ParquetOptions:
        """Return the options a config asks for."""
        return cls(
            config.parquet_compression,
            config.parquet_row_group_rows,
            config.parquet_dictionary,
            config.parquet_statistics,
        )


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
    sample = pl.from_arrow(table.slice(0, DICTIONARY_SAMPLE_ROWS))
    assert isinstance(sample, pl.DataFrame)
    limit = max(1, int(sample.height * DICTIONARY_MAX_DISTINCT_SHARE))
    distinct = sample.select(pl.all().n_unique()).row(0)
    return [name for name, n in zip(sample.columns, distinct, strict=True) if n <= limit]


def statistics_columns(table: Any, mode: str, dictionary: bool | list[str]) -> bool | list[str]:
    """Columns to write min/max statistics for: all, none, or (auto) those that prune.

    Statistics let a reader skip row groups, which only works for values that
    cluster: keys, numbers, dates, times and low-cardinality (dictionary-encoded)
    text. Free text (names, e-mails, ids as text) spans "A" to "z" in every row
    group, and its min/max cost a third of the Parquet encoder's time.

    Examples
    --------
    >>> import pyarrow as pa
    >>> t = pa.table({"state": ["NY"], "name": ["Ann"], "id": [1]})
    >>> statistics_columns(t, "auto", ["state"]), statistics_columns(t, "none", True)
    (['state', 'id'], False)

    """
    if mode != "auto":
        return mode == "all"
    encoded = set(dictionary) if isinstance(dictionary, list) else set()
    return [
        f.name
        for f in table.schema
        if dictionary is True or f.name in encoded or not _is_text(f.type)
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


@dataclass
class FileSink:
    """One output file being written under a temporary name."""

    source: str
    fmt: str
    path: str
    tmp: str
    opts: WriteOptions
    handle: IO[bytes] | None = None
    rows: int = 0
    bytes: int = 0
    _parquet: Any = None
    _pending: list[Any] = field(default_factory=list)
    _pending_rows: int = 0
    _header_written: bool = False
    formula_guard: bool = False
    parquet: ParquetOptions = field(default_factory=ParquetOptions)
    _parts_seen: int = 0
    partition: str | None = None  # Iceberg: the data files also hold dt (this value)

    def write(self, frame: pl.DataFrame) -> None:
        """Append one batch (CSV straight to the file; the other formats as workers encode)."""
        assert self.handle is not None
        if self.fmt != "csv":
            self.write_encoded(encode(frame, self.fmt, self.opts), frame.height)
            return
        if self.formula_guard:
            frame = guard_formulas(frame)
        _write_csv(frame, self.handle, self.opts, header=not self._header_written)
        self._header_written = True
        self.rows += frame.height
        self._note_uploaded_parts()

    def write_encoded(self, payload: Any, rows: int) -> None:
        """Append one batch that :func:`encode` prepared (in a worker process)."""
        assert self.handle is not None
        if self.fmt == "csv":
            header, body = payload
            if not self._header_written:
                self.handle.write(header)
                self._header_written = True
            self.handle.write(body)
        elif self.fmt in PARQUET_FORMATS:
            if self.partition is not None:
                # (Polars builds a constant column ~3x faster than pyarrow from a list.)
                value = pl.repeat(self.partition, payload.num_rows, dtype=pl.String, eager=True)
                payload = payload.append_column(tables.PARTITION, value.to_arrow())
            self._pending.append(payload)
            self._pending_rows += payload.num_rows
            self._flush_row_groups(final=False)
        else:
            self.handle.write(payload)
        self.rows += rows
        self._note_uploaded_parts()

    def _note_uploaded_parts(self) -> None:
        """Pass the ``s3.part`` checkpoint once per multipart part uploaded (remote files)."""
        parts = getattr(self.handle, "parts", None)
        while parts and self._parts_seen < len(parts):
            self._parts_seen += 1
            checkpoint("s3.part")

    def _flush_row_groups(self, final: bool) -> None:
        """Write every full row group (and, when ``final``, the rest)."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        group = self.parquet.row_group_rows
        if self._pending_rows < group and not (final and self._pending):
            return
        table = pa.concat_tables(self._pending)  # no copy: the batches' buffers

        if self._parquet is None:
            dictionary = dictionary_columns(table.slice(0, group), self.parquet.dictionary)
            self._parquet = pq.ParquetWriter(
                self.handle,
                table.schema,
                compression=self.parquet.compression,
                use_dictionary=dictionary,
                write_statistics=self._statistics(table, dictionary),
                # Plain Parquet types only (no Arrow schema blob): every reader sees
                # UTF-8 text, whatever Arrow layout the writer was handed.
                store_schema=False,
            )
        start = 0
        while table.num_rows - start >= group or (final and start < table.num_rows):
            # One chunk per column (a copy of this group only), so page boundaries
            # depend on rows, not on batching.
            chunk = table.slice(start, group).combine_chunks()
            self._parquet.write_table(chunk, row_group_size=group)
            start += chunk.num_rows
        rest = table.slice(start)
        if rest.num_rows and start:
            # Copy the rows that wait for the next group: a slice would keep this whole
            # batch's buffers alive until then (one more batch in memory per file).
            rest = pa.Table.from_arrays(
                [pa.concat_arrays(c.chunks) for c in rest.columns], schema=rest.schema
            )
        self._pending = [rest] if rest.num_rows else []
        self._pending_rows = rest.num_rows

    def _statistics(self, table: Any, dictionary: bool | list[str]) -> bool | list[str]:
        """Return the columns with statistics (Iceberg reads a file's partition from dt's)."""
        chosen = statistics_columns(table, self.parquet.statistics, dictionary)
        if self.partition is None or chosen is True:
            return chosen
        return [*(chosen or []), tables.PARTITION]

    def start_from(self, fs: Any, path: str) -> None:
        """Begin with today's existing file (load_type append, layout flat)."""
        assert self.handle is not None
        if self.fmt in PARQUET_FORMATS:
            import pyarrow.parquet as pq

            with fs.open(path, "rb") as f:
                existing = pq.ParquetFile(f)
                for i in range(existing.num_row_groups):
                    self._pending.append(_as_views(existing.read_row_group(i)))
                    self._pending_rows += self._pending[-1].num_rows
                    self._flush_row_groups(final=False)
            return
        with fs.open(path, "rb") as f:
            copied = 0
            while chunk := f.read(1 << 22):
                self.handle.write(chunk)
                copied += len(chunk)
        # The copy carries the header: new rows follow without a second one.
        self._header_written = self._header_written or copied > 0

    def close(self, empty_schema: pl.DataFrame) -> None:
        """Finish the file (a CSV header or Parquet schema even when no row was written)."""
        if self.handle is None:
            return
        if self.rows == 0 and self.fmt in ("csv", *PARQUET_FORMATS) and not self._header_written:
            if self._parquet is None and not self._pending:
                self.write(empty_schema)
        if self.fmt in PARQUET_FORMATS:
            self._flush_row_groups(final=True)
        if self._parquet is not None:
            self._parquet.close()
        self.handle.close()
        self.handle = None


@dataclass
class Outputs:
    """All files of one run: opened up front, committed or aborted together."""

    plan: Plan
    fs: Any
    root: str
    sinks: dict[tuple[str, str], FileSink] = field(default_factory=dict)
    schemas: dict[str, pl.DataFrame] = field(default_factory=dict)
    created: list[str] = field(default_factory=list)  # local folders this run made
    # Each table's version when the run started: its commit is made against it.
    table_versions: dict[str, str | None] = field(default_factory=dict)

    @functools.cached_property
    def store(self) -> tables.Store:
        """Where this run's tables live (local folders, or S3 with the run's credentials)."""
        return tables.LOCAL if _is_local(self.fs) else tables.s3_store(self.fs)

    @classmethod
    def open(
        cls,
        plan: Plan,
        write_options: dict[str, WriteOptions],
        clean_stale: bool = False,
        journal: Path | None = None,
    ) -> Outputs:
        """Create the temporary file of every (source, format); fails early if ``out`` is unwritable.

        With ``load_type = "append"`` a lake partition gets the next free part
        number, and a flat file's temporary starts as a copy of today's file.
        ``clean_stale`` removes temporaries that killed runs left behind (only
        safe under the state lock). A publish journal that a killed run left in
        the state folder ``journal`` is completed first (see :meth:`publish`).
        """
        from vecgen.remote import describe_remote_error, filesystem

        out = plan.config.out
        fs, root = filesystem(out, plan.config)
        self = cls(plan, fs, root)
        token = secrets.token_hex(4)
        table_token = secrets.token_hex(8)
        local = _is_local(fs)
        if local and plan.config.disk_check:
            check_disk_space(plan, root)
        if not local:
            try:
                # Never let makedirs create a missing bucket: check it exists first.
                # (ls raises on a missing bucket or a dead endpoint; exists() says False to both.)
                fs.ls(root.split("/", 1)[0], detail=False)
            except Exception as exc:  # every failure becomes one line
                raise OutputError(describe_remote_error(exc, out, plan.config)) from None
        append = plan.config.load_type == "append"
        if journal is not None:
            _recover(journal, plan)
        if plan.config.load_type == "new":
            self._refuse_to_replace()
        if any(fmt in TABLE_FORMATS for fmt in plan.config.formats):
            for source in plan.sources:
                folder = posixpath.join(self.root, source)
                with self._remote_errors():
                    self.table_versions[source] = tables.version(folder, self.store)
        if clean_stale:
            self._remove_stale_temporaries()
        try:
            for source in plan.sources:
                part: int | None = None  # the shard's own number (0 for a whole run)
                if append and plan.config.layout == "lake":
                    part = self._next_part(
                        posixpath.dirname(final_path(plan, self.root, source, "csv"))
                    )
                for fmt in plan.config.formats:
                    path = final_path(plan, self.root, source, fmt, part)
                    if fmt in TABLE_FORMATS:  # a new name: earlier versions keep their files
                        path = path.removesuffix(".parquet") + f"-{table_token}.parquet"
                    folder, name = posixpath.split(path)
                    tmp = posixpath.join(folder, f".{name}{TMP_MARK}{token}")
                    if local:
                        self._make_folder(folder)
                    sink = FileSink(source, fmt, path, tmp, write_options[source])
                    if fmt == "iceberg":
                        sink.partition = plan.run_date.isoformat()
                    sink.formula_guard = plan.config.csv_formula_guard
                    sink.parquet = ParquetOptions.of(plan.config)
                    # Known before its file exists: a Ctrl-C that lands while the file
                    # is being created still finds it in abort() and removes it.
                    self.sinks[(source, fmt)] = sink
                    # A plain file for local output: fsspec's local wrapper is several
                    # times slower while the generating thread holds the GIL.
                    sink.handle = open(tmp, "wb") if local else _open_remote(fs, tmp)
                    if append and plan.config.layout == "flat" and fs.exists(path):
                        sink.start_from(fs, path)
        except BaseException as exc:
            self.abort()
            if not isinstance(exc, Exception):  # Ctrl-C, SIGTERM: stop, temporaries gone
                raise
            if not local:
                raise OutputError(describe_remote_error(exc, out, plan.config)) from None
            if not isinstance(exc, OSError):
                raise
            reason = exc.strerror or str(exc)
            where = getattr(exc, "filename", None) or out
            msg = (
                f"cannot write to output location '{out}' ({reason}: {where}); choose another --out"
            )
            raise OutputError(msg) from exc
        return self

    def _make_folder(self, folder: str) -> None:
        """Create a local folder (and its parents), remembering which ones this run made."""
        missing = []
        probe = folder
        while probe and not os.path.isdir(probe):
            missing.append(probe)
            probe = posixpath.dirname(probe)
        os.makedirs(folder, exist_ok=True)
        self.created += [m for m in reversed(missing) if m not in self.created]

    def _refuse_to_replace(self) -> None:
        """Stop before anything is written if today's files are already there (load_type new).

        A whole lake run's target is today's partition of each source (any part);
        a shard's or a flat file's target is its own file.
        """
        plan = self.plan
        whole_lake = plan.config.layout == "lake" and plan.config.parts == 1
        for source in plan.sources:
            for fmt in plan.config.formats:
                path = final_path(plan, self.root, source, fmt)
                if fmt in TABLE_FORMATS:
                    table = posixpath.join(self.root, source)
                    found = tables.partition_rows(table, plan.run_date.isoformat(), self.store) > 0
                    where = f"{table} (dt={plan.run_date.isoformat()})"
                elif whole_lake:
                    where = posixpath.dirname(path)
                    found = bool(_part_names(self.fs, where))
                else:
                    found = self.fs.exists(path)
                    where = path
                if found:
                    msg = (
                        f"'{where}' already holds {source} files of {plan.run_date}; "
                        "choose --load-type truncate (or --overwrite) to replace today's files, "
                        "--load-type append to add a part, or another --out or --date"
                    )
                    raise OutputError(msg)

    def _next_part(self, folder: str) -> int:
        """Return the first part number after every part already in ``folder``."""
        numbers = [int(name[5:10]) for name in _part_names(self.fs, folder)]
        return max(numbers, default=-1) + 1

    def _remove_stale_temporaries(self) -> None:
        """Remove what killed runs left under ``out`` (any source, any day).

        On S3 that includes multipart uploads of temporaries that were never
        completed: they are not objects, but the bucket keeps (and bills) their parts.
        """
        patterns = [posixpath.join(self.root, f".*{TMP_MARK}*")]
        names = [*FLAT_NAMES, *self.plan.config.declared_names()]
        patterns += [posixpath.join(self.root, s, "dt=*", f".*{TMP_MARK}*") for s in names]
        for pattern in patterns:
            for entry in self.fs.glob(pattern):
                self.fs.rm(entry)
        if type(self.fs).__name__ == "S3FileSystem":
            bucket, _, prefix = self.root.partition("/")
            for upload in pending_uploads(self.fs, bucket, prefix):
                self.fs.call_s3(
                    "abort_multipart_upload",
                    Bucket=bucket,
                    Key=upload["Key"],
                    UploadId=upload["UploadId"],
                )

    @contextlib.contextmanager
    def _remote_errors(self, sink: FileSink | None = None) -> Iterator[None]:
        """Turn a failure of the output filesystem into a one-line OutputError.

        A local write that fails (disk full, file size limit, I/O error) names
        the file being written; nothing has been published at that point.
        """
        if _is_local(self.fs):
            try:
                yield
            except OutputError:  # already one line that says what to do
                raise
            except OSError as exc:
                what = f" the {sink.source} file {sink.path}" if sink else ""
                reason = exc.strerror or str(exc)
                msg = (
                    f"writing{what} failed ({reason}); free some space or write elsewhere "
                    "(--out); no output file was changed"
                )
                raise OutputError(msg) from exc
            return
        from vecgen.remote import describe_remote_error

        try:
            yield
        except OutputError:
            raise
        except Exception as exc:  # every failure becomes one line
            cause = describe_remote_error(exc, self.plan.config.out, self.plan.config)
            raise OutputError(cause) from None

    @property
    def threads(self) -> int:
        """How many files may be written at once: two locally, one at a time remotely.

        Polars and pyarrow release the GIL while they encode, so two local files
        use two cores; a remote filesystem gets its writes one after the other.
        """
        return WRITE_THREADS if _is_local(self.fs) else 1

    def write(self, source: str, frame: pl.DataFrame | Encoded) -> None:
        """Write one batch of ``source`` (a frame, or a worker's encoding) to each of its formats."""
        if source not in self.schemas:
            self.schemas[source] = frame.empty if isinstance(frame, Encoded) else frame.clear()
        for fmt in self.plan.config.formats:
            sink = self.sinks[(source, fmt)]
            with self._remote_errors(sink):
                if isinstance(frame, Encoded):
                    sink.write_encoded(frame.payloads[fmt], frame.rows)
                else:
                    sink.write(frame)
            checkpoint("sink.write")

    def finish(self) -> None:
        """Close every temporary file: all data is written, nothing is visible yet.

        Closing encodes each Parquet file's last row group: local files are
        closed :attr:`threads` at a time.
        """

        def close(key: tuple[str, str]) -> None:
            sink = self.sinks[key]
            with self._remote_errors(sink):
                sink.close(self.schemas.get(key[0], pl.DataFrame()))
                sink.bytes = int(self.fs.size(sink.tmp))

        if self.threads == 1:
            for key in self.sinks:
                close(key)
            return
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(self.threads, thread_name_prefix="vecgen-close") as pool:
            # Largest pending row group first, so the threads finish together.
            keys = sorted(self.sinks, key=lambda k: -self.sinks[k]._pending_rows)
            for future in [pool.submit(close, key) for key in keys]:
                future.result()

    def publish(self, journal: Path | None = None) -> list[FileSink]:
        """Rename every file into place; ``truncate`` removes today's other parts.

        With a state folder ``journal``, the renames are first saved to its
        ``publish.json``: from then on the run is committed, and if it is
        killed halfway through the renames, the next run in that folder
        finishes them before it does anything else, so a day's files are never
        left half old, half new.
        """
        config = self.plan.config
        # A shard replaces only its own file; a whole run replaces today's partition.
        stale = config.layout == "lake" and config.load_type != "append" and config.parts == 1
        entry: dict[str, object] = {
            "out": config.out,
            "renames": [[s.tmp, s.path] for s in self.sinks.values()],
            "remove_other_parts": stale,
        }
        with self._remote_errors(), _signals_held():
            if journal is not None:
                write_journal(journal, entry)
                checkpoint("journal.written")
            _apply(self.fs, entry)
            if journal is not None:
                remove_journal(journal)
            self._commit_tables()
        return list(self.sinks.values())

    def _commit_tables(self) -> None:
        """Commit each table's new data file, then MERGE the change feed (:mod:`vecgen.tables`)."""
        from importlib.metadata import version

        from vecgen.config import config_toml

        config = self.plan.config
        metadata = {
            "vecgen.version": version("vecgen"),
            "vecgen.seed": str(config.seed),
            "vecgen.date": self.plan.run_date.isoformat(),
            "vecgen.settings": config_toml(config),
        }
        for (source, fmt), sink in self.sinks.items():
            if fmt in TABLE_FORMATS:
                tables.commit(
                    fmt,
                    posixpath.join(self.root, source),
                    [(sink.path, sink.rows)],
                    self.plan.run_date.isoformat(),
                    config.load_type,
                    metadata,
                    self.store,
                    self.table_versions.get(source),
                )
                checkpoint("table.committed")
        for fmt in TABLE_FORMATS:
            feed = self.sinks.get((CHANGE_FEED, fmt))
            if feed is None or ("customers", fmt) not in self.sinks:
                continue
            from vecgen.sources.customers import COLUMNS

            tables.merge_changes(
                posixpath.join(self.root, "customers"), feed.path, COLUMNS[1:], metadata, self.store
            )
            checkpoint("table.committed")

    def abort(self) -> None:
        """Remove every temporary file; the final paths are never touched."""
        for sink in self.sinks.values():
            try:
                if sink._parquet is not None:
                    # Its file goes away: the writer must not write a footer to the closed
                    # handle when it is collected (pyarrow prints a traceback for that).
                    sink._parquet.is_open = False
                    sink._parquet = None
                if sink.handle is not None:
                    # A remote file's close() would complete the upload: discard it instead.
                    discard = getattr(sink.handle, "discard", None)
                    if discard is not None and not _is_local(self.fs):
                        discard()
                        sink.handle.closed = True  # type: ignore[misc]  # else __del__ completes it
                    else:
                        sink.handle.close()
                    sink.handle = None
                if self.fs.exists(sink.tmp):
                    self.fs.rm(sink.tmp)
            except Exception:  # best effort: a dead endpoint must not hide the first error
                pass
        for folder in reversed(self.created):  # e.g. today's empty dt= partitions
            with contextlib.suppress(OSError):
                os.rmdir(folder)


def _open_remote(fs: Any, path: str) -> Any:
    """Open a remote temporary for writing; S3 uploads it in parts of ``MULTIPART_CHUNK`` bytes."""
    from vecgen.remote import MULTIPART_CHUNK

    if type(fs).__name__ == "S3FileSystem":
        return fs.open(path, "wb", block_size=MULTIPART_CHUNK)
    return fs.open(path, "wb")


def pending_uploads(fs: Any, bucket: str, prefix: str) -> list[dict[str, Any]]:
    """Multipart uploads of vecgen temporaries under ``bucket/prefix`` that were never completed."""
    found: list[dict[str, Any]] = []
    marker: dict[str, str] = {}
    while True:
        page = fs.call_s3("list_multipart_uploads", Bucket=bucket, Prefix=prefix, **marker)
        found += [u for u in page.get("Uploads", []) if TMP_MARK in u["Key"]]
        if not page.get("IsTruncated"):
            return found
        marker = {
            "KeyMarker": page["NextKeyMarker"],
            "UploadIdMarker": page["NextUploadIdMarker"],
        }


def _apply(fs: Any, entry: dict[str, object]) -> None:
    """Make the renames of a journal entry; those already made are skipped."""
    renames = entry["renames"]
    assert isinstance(renames, list)
    local = _is_local(fs)
    for tmp, path in renames:
        checkpoint("publish.rename")
        if local:
            with contextlib.suppress(FileNotFoundError):  # done before a kill
                os.replace(tmp, path)  # atomic on one filesystem
        elif fs.exists(tmp):
            fs.mv(tmp, path)
    checkpoint("publish.stale")
    if entry.get("remove_other_parts"):
        # Truncate semantics: parts of today's partition that this run did not write go.
        written = {path for _, path in renames}
        for folder in {posixpath.dirname(p) for p in written}:
            for name in _part_names(fs, folder):
                if posixpath.join(folder, name) not in written:
                    fs.rm(posixpath.join(folder, name))
    checkpoint("publish.done")


def _recover(folder: Path, plan: Plan) -> None:
    """Finish the publish of a run that was killed after it committed."""
    from vecgen.remote import filesystem

    entry = read_journal(folder)
    if entry is None:
        return
    fs, root = filesystem(plan.config.out, plan.config)
    _check_journal(entry, plan, root, folder)
    _apply(fs, entry)
    remove_journal(folder)


def _part_names(fs: Any, folder: str) -> list[str]:
    """Return the names of the ``part-*`` files in a lake partition (none if it is missing)."""
    if not fs.exists(folder):
        return []
    names = (posixpath.basename(e.rstrip("/")) for e in fs.ls(folder, detail=False))
    return [name for name in names if _PART.match(name)]


def _check_journal(entry: dict[str, object], plan: Plan, root: str, folder: Path) -> None:
    """Refuse a journal that is not this output's: every rename must stay inside ``root``.

    A journal is a file on disk like any other: a damaged or crafted one must
    never move or delete files elsewhere.
    """
    where = folder / "publish.json"

    def bad(problem: str) -> OutputError:
        return OutputError(f"publish journal {where} {problem}; remove it and rerun the day")

    from vecgen.remote import filesystem

    if not isinstance(entry.get("out"), str):
        raise bad("is damaged (no output)")
    _, journal_root = filesystem(str(entry["out"]), plan.config)
    norm = posixpath.normpath if "://" in plan.config.out else os.path.realpath
    top = norm(root)
    if norm(journal_root) != top:
        raise bad(f"belongs to another output ({entry.get('out')!r})")
    if not isinstance(entry.get("remove_other_parts", False), bool):
        raise bad("is damaged (remove_other_parts is not true or false)")
    renames = entry["renames"]
    assert isinstance(renames, list)  # read_journal checked it
    for pair in renames:
        if not (
            isinstance(pair, list) and len(pair) == 2 and all(isinstance(p, str) for p in pair)
        ):
            raise bad("is damaged (a rename is not a pair of paths)")
        tmp, path = pair
        if TMP_MARK not in posixpath.basename(tmp) or posixpath.dirname(tmp) != posixpath.dirname(
            path
        ):
            raise bad(f"names a rename that vecgen does not make ({tmp!r} -> {path!r})")
        for p in (tmp, path):
            full = norm(p)
            if not full.startswith(top.rstrip("/") + "/"):
                raise bad(f"names a file outside the output ({p!r})")


@contextlib.contextmanager
def _signals_held() -> Iterator[None]:
    """Hold Ctrl-C and SIGTERM while a committed run publishes; they act once it is done.

    The handlers are swapped for one that only records the signal (masking
    would not do: the signal may land on any of Polars' threads). A signal that
    arrived meanwhile is acted on when the renames are all made; its
    ``KeyboardInterrupt`` is marked ``published = True`` so the message can say
    that the files are complete. Outside the main thread nothing is swapped.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[signal.Signals] = []

    def hold(signum: int, frame: object) -> None:
        caught.append(signal.Signals(signum))

    previous = {s: signal.signal(s, hold) for s in (signal.SIGINT, signal.SIGTERM)}
    completed = False
    try:
        yield
        completed = True
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        if caught:
            handler = previous[caught[0]]
            try:
                if callable(handler):
                    handler(caught[0], None)
                else:  # the default action: let the signal do what it would have done
                    os.kill(os.getpid(), caught[0])
            except KeyboardInterrupt as exc:
                exc.published = completed  # type: ignore[attr-defined]
                raise
