"""One output file being written under a temporary name (CSV, JSON lines, Parquet)."""

from __future__ import annotations

import posixpath
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO, Any

import polars as pl

from vecgen.faults import checkpoint
from vecgen.output import tables
from vecgen.output.formats import (
    PARQUET_FORMATS,
    ParquetOptions,
    as_large,
    as_views,
    dictionary_columns,
    encode,
    guard_formulas,
    statistics_columns,
    write_csv,
)
from vecgen.output.layout import TMP_MARK, piece_path
from vecgen.sources.base import WriteOptions

WRITE_BATCH_ROWS = 32_768  # rows pyarrow encodes at a time (benchmarks/RESULTS.md, session 14)
_Binary = IO[bytes]  # (inside FileSink, ``bytes`` is its field)


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
    # A Parquet file past ``parquet.file_rows`` rolls on to the next piece: the pieces
    # finished so far (closed, under their temporary names), and how to open the next.
    rolled: list[FileSink] = field(default_factory=list)
    opener: Callable[[str], _Binary] | None = None
    _file_rows: int = 0  # rows in the current piece's row groups
    _choices: tuple[Any, Any] | None = None  # (dictionary, statistics) of the first piece

    def pieces(self) -> list[FileSink]:
        """Return the files this sink wrote, in order: the pieces it rolled on from, then itself."""
        return [*self.rolled, self]

    def write(self, frame: pl.DataFrame) -> None:
        """Append one batch (CSV straight to the file; the other formats as workers encode)."""
        assert self.handle is not None
        if self.fmt != "csv":
            self.write_encoded(encode(frame, self.fmt, self.opts), frame.height)
            return
        if self.formula_guard:
            frame = guard_formulas(frame)
        write_csv(frame, self.handle, self.opts, header=not self._header_written)
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

        group = self.parquet.row_group_rows
        if self._pending_rows < group and not (final and self._pending):
            return
        table = pa.concat_tables(self._pending)  # no copy: the batches' buffers

        if self._parquet is None:
            self._open_parquet(table)
        start = 0
        while table.num_rows - start >= group or (final and start < table.num_rows):
            if self.parquet.file_rows and self._file_rows >= self.parquet.file_rows:
                self._roll()
                self._open_parquet(table)
            # One chunk per column (a copy of this group only), so page boundaries
            # depend on rows, not on batching.
            chunk = table.slice(start, group).combine_chunks()
            self._parquet.write_table(chunk, row_group_size=group)
            start += chunk.num_rows
            self._file_rows += chunk.num_rows
        rest = table.slice(start)
        if rest.num_rows and start:
            # Copy the rows that wait for the next group: a slice would keep this whole
            # batch's buffers alive until then (one more batch in memory per file).
            # Text goes through large_string: string views would point into (and keep)
            # the batch's text buffers, a compacted copy holds only these rows' text.
            rest = (
                pa.Table.from_arrays(
                    [pa.concat_arrays(c.chunks) for c in rest.columns], schema=rest.schema
                )
                .cast(as_large(rest.schema))
                .cast(rest.schema)
            )
        self._pending = [rest] if rest.num_rows else []
        self._pending_rows = rest.num_rows

    def _open_parquet(self, table: Any) -> None:
        """Start the Parquet writer of the current piece (encodings: the first piece's)."""
        import pyarrow.parquet as pq

        if self._choices is None:
            # The file's first row group: the same rows whatever the batching.
            first = table.slice(0, self.parquet.row_group_rows)
            self._choices = (
                dictionary_columns(first, self.parquet.dictionary),
                self._statistics(first),
            )
        dictionary, statistics = self._choices
        self._parquet = pq.ParquetWriter(
            self.handle,
            table.schema,
            compression=self.parquet.compression,
            use_dictionary=dictionary,
            write_statistics=statistics,
            # Plain Parquet types only (no Arrow schema blob): every reader sees
            # UTF-8 text, whatever Arrow layout the writer was handed.
            store_schema=False,
            # Encode a row group's column in one go (pyarrow's default cuts it into
            # pieces of 1,024 rows): 4% less write CPU, the same size.
            write_batch_size=WRITE_BATCH_ROWS,
        )

    def _roll(self) -> None:
        """Close the current piece and go on in the next one (``part-NNNNN_00001`` and on).

        A writer keeps every row group's metadata (~900 bytes a column) until it
        closes its file: the files of a 10M-customer run held ~70 MiB of it.
        """
        assert self._parquet is not None and self.handle is not None and self.opener is not None
        self._parquet.close()
        self._parquet = None
        self.handle.close()
        self.rolled.append(
            FileSink(self.source, self.fmt, self.path, self.tmp, self.opts, rows=self._file_rows)
        )
        first = self.rolled[0].path
        self.path = piece_path(first, len(self.rolled))
        folder, name = posixpath.split(self.path)
        token = self.tmp.rsplit(TMP_MARK, 1)[1]
        self.tmp = posixpath.join(folder, f".{name}{TMP_MARK}{token}")
        self._file_rows = 0
        self._parts_seen = 0
        self.handle = self.opener(self.tmp)

    def _statistics(self, first_group: Any) -> bool | list[str]:
        """Return the columns with statistics (Iceberg reads a file's partition from dt's)."""
        chosen = statistics_columns(first_group, self.parquet.statistics)
        if self.partition is None or chosen is True:
            return chosen
        return [c for c in chosen or [] if c != tables.PARTITION] + [tables.PARTITION]

    def start_from(self, fs: Any, path: str) -> None:
        """Begin with today's existing file (load_type append, layout flat)."""
        assert self.handle is not None
        if self.fmt in PARQUET_FORMATS:
            import pyarrow.parquet as pq

            with fs.open(path, "rb") as f:
                existing = pq.ParquetFile(f)
                for i in range(existing.num_row_groups):
                    self._pending.append(as_views(existing.read_row_group(i)))
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
        # Each piece counts its own rows (this one: the rows after the last roll).
        self.rows -= sum(piece.rows for piece in self.rolled)
