"""All files of a run: opened up front, written, then published (renamed) or aborted together.

Every file is written under a hidden temporary name in its final folder and
renamed into place only when the whole run succeeded (:meth:`Outputs.publish`);
on failure the temporaries are removed (:meth:`Outputs.abort`) and earlier
files stay as they were. Paths go through fsspec, so ``out`` may be any URL.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import os
import posixpath
import secrets
import signal
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from vecgen.catalog import CHANGE_FEEDS, FLAT_NAMES, TABLE_FORMATS
from vecgen.errors import OutputError
from vecgen.faults import checkpoint
from vecgen.output import tables
from vecgen.output.direct import open_local
from vecgen.output.files import FileSink
from vecgen.output.formats import Encoded, ParquetOptions
from vecgen.output.layout import TMP_MARK, check_disk_space, final_path, part_names
from vecgen.plan import Plan
from vecgen.remote import abort_uploads, is_local, is_s3, open_for_upload
from vecgen.sources.base import WriteOptions
from vecgen.state import read_journal, remove_journal, write_journal

WRITE_THREADS = 2


def _open_plain(path: str) -> Any:
    """Open a local file for writing through the page cache (``direct_io = false``)."""
    return open(path, "wb")


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
        return tables.LOCAL if is_local(self.fs) else tables.s3_store(self.fs)

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
        local = is_local(fs)
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
        if "iceberg" in plan.config.formats:
            with self._remote_errors():
                tables.use_catalog(self.root, plan.config.iceberg_catalog, self.store)
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
                    # A plain file for local output (fsspec's local wrapper is several
                    # times slower while the generating thread holds the GIL), written
                    # past the page cache where the file system allows (output.direct).
                    sink.opener = (
                        (open_local if plan.config.direct_io else _open_plain)
                        if local
                        else functools.partial(open_for_upload, fs)
                    )
                    sink.handle = sink.opener(tmp)
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
                    found = bool(part_names(self.fs, where))
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
        numbers = [int(name[5:10]) for name in part_names(self.fs, folder)]
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
        if is_s3(self.fs):
            abort_uploads(self.fs, self.root, TMP_MARK)

    @contextlib.contextmanager
    def _remote_errors(self, sink: FileSink | None = None) -> Iterator[None]:
        """Turn a failure of the output filesystem into a one-line OutputError.

        A local write that fails (disk full, file size limit, I/O error) names
        the file being written; nothing has been published at that point.
        """
        if is_local(self.fs):
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
        return WRITE_THREADS if is_local(self.fs) else 1

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
                for piece in sink.pieces():
                    piece.bytes = int(self.fs.size(piece.tmp))

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
        # A shard replaces only its own file (and the pieces it rolled on to before);
        # a whole run replaces today's partition.
        replaces = config.layout == "lake" and config.load_type != "append"
        files = self.files()
        entry: dict[str, object] = {
            "out": config.out,
            "renames": [[f.tmp, f.path] for f in files],
            "remove_other_parts": replaces and config.parts == 1,
            "remove_other_pieces": replaces and config.parts > 1,
        }
        with self._remote_errors(), _signals_held():
            if journal is not None:
                write_journal(journal, entry)
                checkpoint("journal.written")
            _apply(self.fs, entry)
            if journal is not None:
                remove_journal(journal)
            self._commit_tables()
        return files

    def files(self) -> list[FileSink]:
        """Every file of the run, each sink's pieces in order (see ``parquet_file_rows``)."""
        return [piece for sink in self.sinks.values() for piece in sink.pieces()]

    def _commit_tables(self) -> None:
        """Commit each table's new data file, then MERGE the change feed (:mod:`vecgen.output.tables`)."""
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
                    [(piece.path, piece.rows) for piece in sink.pieces()],
                    self.plan.run_date.isoformat(),
                    config.load_type,
                    metadata,
                    self.store,
                    self.table_versions.get(source),
                )
                checkpoint("table.committed")
        from vecgen.sources.customer_changes import SYSTEM_COLUMNS

        for (name, system), fmt in itertools.product(CHANGE_FEEDS.items(), TABLE_FORMATS):
            feed = self.sinks.get((name, fmt))
            if feed is None or (system, fmt) not in self.sinks:
                continue
            key, *columns = SYSTEM_COLUMNS[system]
            tables.merge_changes(
                posixpath.join(self.root, system),
                [piece.path for piece in feed.pieces()],
                key,
                columns,
                metadata,
                self.store,
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
                    if discard is not None and not is_local(self.fs):
                        discard()
                        sink.handle.closed = True  # type: ignore[misc]  # else __del__ completes it
                    else:
                        with contextlib.suppress(Exception):  # its temporary goes anyway
                            sink.handle.close()
                    sink.handle = None
                for piece in sink.pieces():
                    if self.fs.exists(piece.tmp):
                        self.fs.rm(piece.tmp)
            except Exception:  # best effort: a dead endpoint must not hide the first error
                pass
        for folder in reversed(self.created):  # e.g. today's empty dt= partitions
            with contextlib.suppress(OSError):
                os.rmdir(folder)


def _apply(fs: Any, entry: dict[str, object]) -> None:
    """Make the renames of a journal entry; those already made are skipped."""
    renames = entry["renames"]
    assert isinstance(renames, list)
    local = is_local(fs)
    for tmp, path in renames:
        checkpoint("publish.rename")
        if local:
            with contextlib.suppress(FileNotFoundError):  # done before a kill
                os.replace(tmp, path)  # atomic on one filesystem
        elif fs.exists(tmp):
            fs.mv(tmp, path)
    checkpoint("publish.stale")
    written = {path for _, path in renames}
    if entry.get("remove_other_parts"):
        # Truncate semantics: parts of today's partition that this run did not write go.
        for folder in {posixpath.dirname(p) for p in written}:
            for name in part_names(fs, folder):
                if posixpath.join(folder, name) not in written:
                    fs.rm(posixpath.join(folder, name))
    elif entry.get("remove_other_pieces"):
        # A shard's truncate: pieces of its own part that an earlier run rolled on to go.
        own = {(posixpath.dirname(p), posixpath.basename(p)[:10] + "_") for p in written}
        for folder, prefix in own:
            for name in part_names(fs, folder):
                if name.startswith(prefix) and posixpath.join(folder, name) not in written:
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
    for flag in ("remove_other_parts", "remove_other_pieces"):
        if not isinstance(entry.get(flag, False), bool):
            raise bad(f"is damaged ({flag} is not true or false)")
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
