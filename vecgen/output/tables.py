"""Lake tables (``--format delta``, ``--format iceberg``): one table per source, one commit per run.

A run writes each source's Parquet data file into the table's date partition
(``OUT/<source>/dt=<date>/part-00000-<token>.parquet``, under a temporary name
then renamed, like every vecgen file) and then commits it:

- Delta Lake (deltalake, delta-rs): to the table's transaction log
  ``OUT/<source>/_delta_log``; the data file is the very Parquet ``--format
  parquet`` writes (the partition value lives in the log).
- Iceberg (pyiceberg): to table ``vecgen.<source>`` of a SQL catalog on the
  SQLite file ``OUT/_iceberg/catalog.db`` (metadata in
  ``OUT/<source>/metadata``); the data file also holds the ``dt`` column, from
  which the identity partition is read.

Load types:

- ``new``: refuses before anything is written when today's partition already
  holds rows in the current version;
- ``truncate``: one commit that replaces today's partition only (earlier
  versions keep their files: time travel still reads them);
- ``append``: one append commit.

A file is visible to readers only once its commit lands, so a run that fails
or is killed before it commits leaves every table as it was (its renamed data
files are unreferenced, as after any failed table write). vecgen's own readers
(score, report, load, the daily tools) read a table's current files only
(:func:`live_files`).
"""

from __future__ import annotations

import fnmatch
import glob
import json
import logging
import os
import posixpath
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vecgen.errors import OutputError, cause
from vecgen.state import replace_atomically
from vecgen.untrusted import read_small_text

PARTITION = "dt"
LOG = "_delta_log"
ICEBERG_CATALOG = posixpath.join("_iceberg", "catalog.db")  # under OUT (the default catalog)
# A configured catalog (iceberg_catalog) is recorded here, so readers given only OUT find it.
CATALOG_RECORD = posixpath.join("_iceberg", "catalog.json")
NAMESPACE = "vecgen"
# pyiceberg retries a commit that lost a race on top of the winner's; vecgen's run must
# instead fail and commit nothing (the first run to commit wins).
NO_RETRIES = {"commit.retry.num-retries": "0"}


@dataclass(frozen=True)
class Store:
    """Where the tables live: local folders (the default) or S3 (a filesystem + delta-rs options).

    Examples
    --------
    >>> LOCAL.uri("out/customers"), Store(object(), {}).uri("bucket/lake/customers")
    ('out/customers', 's3://bucket/lake/customers')

    """

    fs: Any = None  # fsspec filesystem of a remote output (None: local)
    options: dict[str, str] | None = None  # delta-rs storage options (remote)

    def uri(self, folder: str) -> str:
        """Return the table URI delta-rs opens."""
        return folder if self.fs is None else f"s3://{folder}"

    def isdir(self, path: str) -> bool:
        """Return whether ``path`` is a folder (a prefix on S3)."""
        return os.path.isdir(path) if self.fs is None else bool(self.fs.isdir(path))

    def delta(self, folder: str) -> Any:
        """Open the Delta table in ``folder``."""
        from deltalake import DeltaTable

        return DeltaTable(self.uri(folder), storage_options=self.options)

    def parent(self, folder: str) -> str:
        """Return the output folder a source's table folder is in."""
        if self.fs is None:
            return os.path.dirname(os.path.abspath(folder))
        return posixpath.dirname(folder.rstrip("/"))

    def location(self, path: str) -> str:
        """Return ``path`` as the URI Iceberg stores (``file://`` or ``s3://``)."""
        return f"file://{os.path.abspath(path)}" if self.fs is None else f"s3://{path}"

    def isfile(self, path: str) -> bool:
        """Return whether ``path`` is a file."""
        return os.path.isfile(path) if self.fs is None else bool(self.fs.isfile(path))

    def read_small(self, path: str) -> str:
        """Return a small text file's content (a regular file of at most 64 KiB, UTF-8)."""
        if self.fs is None:
            return read_small_text(Path(path), 65_536)
        with self.fs.open(path, "rb") as f:
            return bytes(f.read(65_536)).decode("utf-8")

    def write_small(self, path: str, text: str) -> None:
        """Write a small text file whole (a temporary name, then renamed; one PUT on S3)."""
        if self.fs is not None:
            self.fs.pipe_file(path, text.encode("utf-8"))
            return
        os.makedirs(os.path.dirname(path), exist_ok=True)
        replace_atomically(Path(path), text, "Iceberg catalog record")

    def iceberg_io(self) -> dict[str, str]:
        """Return pyiceberg's S3 FileIO properties (endpoint, credentials, region)."""
        o = self.options or {}
        names = {
            "AWS_ENDPOINT_URL": "s3.endpoint",
            "AWS_ACCESS_KEY_ID": "s3.access-key-id",
            "AWS_SECRET_ACCESS_KEY": "s3.secret-access-key",
            "AWS_SESSION_TOKEN": "s3.session-token",
            "AWS_REGION": "s3.region",
        }
        return {iceberg: o[aws] for aws, iceberg in names.items() if o.get(aws)}


LOCAL = Store()


def s3_store(fs: Any) -> Store:
    """Return the store of an S3 output: delta-rs options from the output's s3fs filesystem.

    The same endpoint, credentials (Vault's included: they are asked for once)
    and server-side encryption as the run's other files; commits use S3's
    conditional writes, so two runs racing for one table version cannot both win.

    Examples
    --------
    >>> class FS:
    ...     key, secret, token, endpoint_url = "k", "s", None, "http://127.0.0.1:9000"
    ...     s3_additional_kwargs = {"ServerSideEncryption": "AES256"}
    >>> sorted(s3_store(FS()).options)  # doctest: +NORMALIZE_WHITESPACE
    ['AWS_ACCESS_KEY_ID', 'AWS_ALLOW_HTTP', 'AWS_CONDITIONAL_PUT', 'AWS_ENDPOINT_URL',
     'AWS_REGION', 'AWS_SECRET_ACCESS_KEY', 'AWS_SERVER_SIDE_ENCRYPTION']

    """
    options = {
        "AWS_REGION": os.environ.get("AWS_REGION")
        or os.environ.get("AWS_DEFAULT_REGION")
        or "us-east-1",
        "AWS_CONDITIONAL_PUT": "etag",
    }
    endpoint = getattr(fs, "endpoint_url", None)
    if endpoint:
        options["AWS_ENDPOINT_URL"] = endpoint
        if endpoint.startswith("http://"):
            options["AWS_ALLOW_HTTP"] = "true"
    for attribute, name in (
        ("key", "AWS_ACCESS_KEY_ID"),
        ("secret", "AWS_SECRET_ACCESS_KEY"),
        ("token", "AWS_SESSION_TOKEN"),
    ):
        value = getattr(fs, attribute, None)
        if value:
            options[name] = value
    extra = getattr(fs, "s3_additional_kwargs", None) or {}
    if extra.get("ServerSideEncryption"):
        options["AWS_SERVER_SIDE_ENCRYPTION"] = extra["ServerSideEncryption"]
    if extra.get("SSEKMSKeyId"):
        options["AWS_SSE_KMS_KEY_ID"] = extra["SSEKMSKeyId"]
    return Store(fs, options)


def table_kind(folder: str, store: Store = LOCAL) -> str | None:
    """Return ``"delta"`` or ``"iceberg"`` when ``folder`` (a source's folder) holds a table.

    Examples
    --------
    >>> table_kind("/nonexistent/customers") is None
    True

    """
    if store.isdir(posixpath.join(folder, LOG)):
        return "delta"
    root = store.parent(folder)
    if store.isdir(posixpath.join(folder, "metadata")) and (
        store.isfile(posixpath.join(root, CATALOG_RECORD))
        or (store.fs is None and os.path.isfile(_catalog_file(folder)))
    ):
        return "iceberg"
    return None


def _catalog_file(folder: str) -> str:
    return os.path.join(os.path.dirname(os.path.abspath(folder)), ICEBERG_CATALOG)


def recorded_catalog(root: str, store: Store = LOCAL) -> str | None:
    """Return the catalog URI recorded in the output ``root`` (None: the default SQLite file)."""
    path = posixpath.join(root, CATALOG_RECORD)
    if not store.isfile(path):
        return None
    try:
        uri = json.loads(store.read_small(path))["uri"]
        if not isinstance(uri, str) or not uri:
            raise ValueError("no uri")
    except (OSError, ValueError, KeyError, TypeError) as exc:
        msg = f'{path} is damaged ({cause(exc)}); write {{"uri": "<the catalog URI>"}} into it'
        raise OutputError(msg) from None
    return uri


def use_catalog(root: str, uri: str, store: Store = LOCAL) -> None:
    """Check the catalog a run writes the Iceberg tables of ``root`` to; record a configured one.

    An output's tables live in one catalog: ``uri`` (empty: the default SQLite
    file) must be the one recorded, or the output must have no tables yet.
    """
    recorded = recorded_catalog(root, store)
    if (uri or None) == recorded:
        return
    default = os.path.join(root, ICEBERG_CATALOG)
    default_in_use = store.fs is None and os.path.isfile(default)
    if recorded is None and not default_in_use:  # a configured catalog, the output's first
        store.write_small(posixpath.join(root, CATALOG_RECORD), json.dumps({"uri": uri}) + "\n")
        return
    where = f"the catalog {recorded}" if recorded else f"the SQLite file {default}"
    setting = f'iceberg_catalog = "{recorded}"' if recorded else "iceberg_catalog empty"
    msg = (
        f"the Iceberg tables of {root} live in {where}, not {uri or 'the default catalog'}; "
        f"run with {setting} or write to another --out"
    )
    raise OutputError(msg)


def _open_catalog(root: str, create: bool, store: Store = LOCAL) -> Any:
    """Open the catalog of the output ``root``: its recorded URI, else its SQLite file."""
    uri = recorded_catalog(root, store)
    warehouse = store.location(root)
    io = store.iceberg_io()
    if uri is not None and uri.startswith(("http://", "https://")):
        from pyiceberg.catalog import load_catalog

        # pyiceberg's own configuration of a catalog named "vecgen" (PYICEBERG_CATALOG__VECGEN__
        # TOKEN or __CREDENTIAL, ~/.pyiceberg.yaml) supplies the authentication: never a setting.
        return load_catalog(NAMESPACE, type="rest", uri=uri, warehouse=warehouse, **io)
    from pyiceberg.catalog.sql import SqlCatalog

    if uri is None:
        if create:
            os.makedirs(os.path.join(root, os.path.dirname(ICEBERG_CATALOG)), exist_ok=True)
        uri = f"sqlite:///{os.path.join(root, ICEBERG_CATALOG)}"
    return SqlCatalog(NAMESPACE, uri=uri, warehouse=warehouse, **io)


def _iceberg_table(folder: str, create: bool = False, store: Store = LOCAL) -> Any:
    """Load table ``vecgen.<source>`` from the output's catalog (None if it has none)."""
    try:
        from pyiceberg.exceptions import NoSuchNamespaceError, NoSuchTableError
    except ImportError:
        msg = f"'{folder}' is an Iceberg table: reading it needs pyiceberg (pip install 'vecgen[iceberg]')"
        raise OutputError(msg) from None
    root = store.parent(folder)
    try:
        catalog = _open_catalog(root, create, store)
    except OutputError:
        raise
    except Exception as exc:  # an unreachable REST catalog or database: one line
        msg = f"cannot open the Iceberg catalog of {root} ({cause(exc)}); check iceberg_catalog"
        raise OutputError(msg) from None
    if create:  # (readers only look: they never write to the catalog)
        catalog.create_namespace_if_not_exists(NAMESPACE)
    try:
        return catalog, catalog.load_table(f"{NAMESPACE}.{posixpath.basename(folder)}")
    except (NoSuchTableError, NoSuchNamespaceError):
        return catalog, None


def live_files(folder: str, store: Store = LOCAL) -> set[str] | None:
    """Return the data files of a table's current version (normalised paths), None if no table.

    On S3 (``store``) the paths are the filesystem's (``bucket/key``).
    """
    kind = table_kind(folder, store)
    if kind is None:
        return None
    if kind == "iceberg":
        try:
            _, table = _iceberg_table(folder, store=store)
            tasks = table.scan().plan_files() if table is not None else []
        except OutputError:
            raise
        except Exception as exc:  # a damaged catalog or metadata: one line
            msg = f"cannot read the Iceberg table '{folder}' ({exc}); restore its metadata"
            raise OutputError(msg) from None
        if store.fs is not None:
            return {t.file.file_path.removeprefix("s3://") for t in tasks}
        return {os.path.normpath(t.file.file_path.removeprefix("file://")) for t in tasks}
    try:
        uris = store.delta(folder).file_uris()
    except ImportError:
        msg = (
            f"'{folder}' is a Delta table: reading it needs deltalake (pip install 'vecgen[delta]')"
        )
        raise OutputError(msg) from None
    except Exception as exc:  # a damaged log: one line, not a traceback
        msg = f"cannot read the Delta table '{folder}' ({exc}); restore its _delta_log or remove it"
        raise OutputError(msg) from None
    if store.fs is not None:
        return {u.removeprefix("s3://") for u in uris}
    return {os.path.normpath(u.removeprefix("file://")) for u in uris}


def lake_files(folder: str, days: str = "dt=*", ext: str = "*", store: Store = LOCAL) -> list[str]:
    """Return a source's lake files of the partitions ``days`` (a glob), by day then name.

    For a table, the data files of its current version (wherever the table
    wrote them: a MERGE or an Iceberg delete rewrites files), else the files
    ``folder/<days>/part-*.<ext>``.

    Examples
    --------
    >>> lake_files("/nonexistent/customers", "dt=2026-01-01", "csv")
    []

    """
    live = live_files(folder, store)
    if live is None:
        if store.fs is not None:
            return sorted(store.fs.glob(posixpath.join(folder, days, f"part-*.{ext}")))
        return sorted(glob.glob(os.path.join(folder, days, f"part-*.{ext}")))
    found = []
    for path in live:
        parts = path.replace(os.sep, "/").split("/")
        day = next((p for p in reversed(parts) if p.startswith(f"{PARTITION}=")), "")
        if fnmatch.fnmatch(day, days) and fnmatch.fnmatch(parts[-1], f"*.{ext}"):
            found.append((day, path))
    return [path for _, path in sorted(found)]


def partition_rows(folder: str, day: str, store: Store = LOCAL) -> int:
    """Rows today's partition ``day`` holds in the table's current version (0 without a table)."""
    kind = table_kind(folder, store)
    if kind is None:
        return 0
    if kind == "iceberg":
        _, table = _iceberg_table(folder, store=store)
        if table is None:
            return 0
        tasks = table.scan(row_filter=_day_filter(day)).plan_files()
        return int(sum(t.file.record_count for t in tasks))
    import pyarrow as pa

    table = pa.table(store.delta(folder).get_add_actions(flatten=True)).to_pydict()
    days = table.get(f"partition.{PARTITION}", [])
    counts = table.get("num_records", [])
    return int(sum(n or 0 for d, n in zip(days, counts, strict=True) if d == day))


def version(folder: str, store: Store = LOCAL) -> str | None:
    """Return the table's current version (a token to commit against), None without a table.

    A run reads it before it writes anything and commits against it: if
    another run committed to the table in between, this run's commit fails and
    commits nothing (the first run to commit wins).
    """
    kind = table_kind(folder, store)
    if kind is None:
        return None
    if kind == "iceberg":
        _, table = _iceberg_table(folder, store=store)
        return None if table is None else str(table.metadata_location)
    return str(store.delta(folder).version())


def _moved(folder: str, expected: str | None, now: str | None) -> OutputError:
    what = "created" if expected is None else "changed"
    return OutputError(
        f"the table '{folder}' was {what} by another run while this one was writing "
        f"(version {now}); this run committed nothing to it: run it again"
    )


def _commit_failed(
    kind: str, folder: str, exc: Exception, expected: str | None, store: Store = LOCAL
) -> OutputError:
    """One line for a failed commit: another run's commit, if that is what happened."""
    try:
        now = version(folder, store)
    except Exception:  # the table cannot even be read: report the commit's own error
        now = expected
    if now != expected:
        return _moved(folder, expected, now)
    return _failed("committing today's files to", kind, folder, exc)


def _failed(action: str, kind: str, folder: str, exc: Exception) -> OutputError:
    """One line for a failed table write: what, which table, the error's first line."""
    reason = cause(exc, limit=1000)
    return OutputError(
        f"{action} the {kind} table '{folder}' failed ({reason}); "
        "the table keeps its previous version"
    )


def commit(
    fmt: str,
    folder: str,
    files: Sequence[tuple[str, int]],
    day: str,
    load_type: str,
    metadata: dict[str, str],
    store: Store = LOCAL,
    expected: str | None = None,
) -> None:
    """Commit the data files ``[(path, rows), ...]`` of one run to the ``fmt`` table in ``folder``.

    Creates the table on the first run. ``truncate`` replaces partition ``day``;
    any other load type appends. ``metadata`` goes into the commit's info
    (vecgen's version, seed and settings). ``expected`` is the :func:`version`
    the run saw before it wrote: the commit is made against it, so it fails if
    another run committed in between.
    """
    if fmt == "iceberg":
        paths = [path for path, _ in files]
        _commit_iceberg(folder, paths, day, load_type, metadata, expected, store)
        return
    import fsspec
    import pyarrow as pa
    import pyarrow.parquet as pq
    from deltalake import Schema
    from deltalake.transaction import (
        AddAction,
        CommitProperties,
        RemoveAction,
        create_table_with_add_actions,
    )

    actions: list[AddAction | RemoveAction] = []
    schema: Any = None
    fs = store.fs or fsspec.filesystem("file")
    for path, rows in files:
        actions.append(
            AddAction(
                path=posixpath.relpath(path.replace(os.sep, "/"), folder.replace(os.sep, "/")),
                size=int(fs.size(path)),
                partition_values={PARTITION: day},
                modification_time=int(time.time() * 1000),
                data_change=True,
                stats=json.dumps({"numRecords": rows}),
            )
        )
        with fs.open(path, "rb") as f:
            schema = pq.read_schema(f)
    if schema is None:
        return
    schema = schema.append(pa.field(PARTITION, pa.string()))
    # One try: a run racing another into the same partition fails instead of retrying.
    properties = CommitProperties(custom_metadata=metadata, max_commit_retries=0)
    try:
        now = version(folder, store)
        if now != expected:
            raise _moved(folder, expected, now)
        if expected is None:
            create_table_with_add_actions(
                store.uri(folder),
                Schema.from_arrow(schema),
                [a for a in actions if isinstance(a, AddAction)],
                mode="error",
                partition_by=[PARTITION],
                name=os.path.basename(folder),
                # Updates and deletes (the change feed's MERGE) are readable as changes.
                configuration={"delta.enableChangeDataFeed": "true"},
                storage_options=store.options,
                commit_properties=properties,
            )
            return
        truncate = load_type == "truncate"
        # Opened at the version the run saw: a commit made since makes this one fail.
        from deltalake import DeltaTable

        pinned = DeltaTable(store.uri(folder), version=int(expected), storage_options=store.options)
        pinned.create_write_transaction(
            actions,
            mode="overwrite" if truncate else "append",
            schema=schema,
            partition_by=[PARTITION],
            partition_filters=[(PARTITION, "=", day)] if truncate else None,
            commit_properties=properties,
        )
    except OutputError:
        raise
    except Exception as exc:  # a conflict, a schema change, a damaged log: one line
        raise _commit_failed("Delta", folder, exc, expected, store) from None


def _day_filter(day: str) -> str:
    """Return an Iceberg row filter for one day's partition (``day`` is an ISO date)."""
    return f"{PARTITION} == '{day}'"


def _commit_iceberg(
    folder: str,
    paths: list[str],
    day: str,
    load_type: str,
    metadata: dict[str, str],
    expected: str | None,
    store: Store = LOCAL,
) -> None:
    """One transaction: (create the table,) drop today's partition for truncate, add the files."""
    import pyarrow.parquet as pq

    if not paths:
        return
    try:
        catalog, table = _iceberg_table(folder, create=True, store=store)
        now = None if table is None else str(table.metadata_location)
        if now != expected:
            raise _moved(folder, expected, now)
        if table is None:
            tx = catalog.create_table_transaction(
                f"{NAMESPACE}.{posixpath.basename(folder)}",
                schema=pq.read_schema(paths[0] if store.fs is None else store.fs.open(paths[0])),
                location=store.location(folder),
                properties={**metadata, **NO_RETRIES},
            )
            with tx.update_spec() as spec:
                spec.add_identity(PARTITION)
        else:
            tx = table.transaction()
            tx.set_properties({**metadata, **NO_RETRIES})
            if load_type == "truncate":
                with warnings.catch_warnings():  # "did not match any records": a new day
                    warnings.simplefilter("ignore", UserWarning)
                    tx.delete(_day_filter(day), snapshot_properties=metadata)
        # pyiceberg warns once per column that has no min/max (vecgen writes none for
        # free text, by design: see parquet_statistics); the file's metrics simply lack them.
        quiet = logging.getLogger("pyiceberg.io.pyarrow")
        level = quiet.level
        quiet.setLevel(logging.ERROR)
        try:
            located = [os.path.abspath(p) if store.fs is None else store.location(p) for p in paths]
            tx.add_files(located, snapshot_properties=metadata)
        finally:
            quiet.setLevel(level)
        tx.commit_transaction()
    except OutputError:
        raise
    except Exception as exc:  # a conflict, a schema change, damaged metadata: one line
        raise _commit_failed("Iceberg", folder, exc, expected) from None


def merge_changes(
    folder: str,
    changes_files: Sequence[str],
    key: str,
    columns: Sequence[str],
    metadata: dict[str, str],
    store: Store = LOCAL,
) -> None:
    """MERGE today's change feed (its Parquet files) into its system's table in ``folder``.

    Rows with ``op`` ``U`` replace the record's ``columns`` (matched on ``key``);
    ``D`` deletes the record. One commit; with the change data feed on, readers
    see both versions.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    def read(path: str) -> Any:
        if store.fs is None:
            return pq.read_table(path)
        with store.fs.open(path, "rb") as f:
            return pq.read_table(f)

    source = pa.concat_tables([read(path) for path in changes_files])
    kind = table_kind(folder, store)
    if source.num_rows == 0 or kind is None:
        return
    if kind == "iceberg":
        _merge_iceberg(folder, source.drop_columns([PARTITION]), key, metadata, store)
        return
    from deltalake.transaction import CommitProperties

    try:
        (
            store.delta(folder)
            .merge(
                source=source,
                predicate=f"t.`{key}` = s.`{key}`",
                source_alias="s",
                target_alias="t",
                commit_properties=CommitProperties(custom_metadata=metadata, max_commit_retries=0),
            )
            .when_matched_update(
                updates={f"`{c}`": f"s.`{c}`" for c in columns}, predicate="s.op = 'U'"
            )
            .when_matched_delete(predicate="s.op = 'D'")
            .execute()
        )
    except Exception as exc:  # one line, as for a commit
        raise _failed("merging today's changes into", "Delta", folder, exc) from None


def _merge_iceberg(
    folder: str, source: Any, key: str, metadata: dict[str, str], store: Store = LOCAL
) -> None:
    """MERGE into an Iceberg table in one transaction: delete the changed people, append U rows.

    An updated person keeps the ``dt`` partition of their record; the U rows
    carry every column of the table (the change feed holds the full record).
    """
    import polars as pl

    _, table = _iceberg_table(folder, store=store)
    changes = pl.DataFrame(source)
    ids = changes[key].cast(pl.String).to_list()
    if not ids or table is None:
        return
    # Ids are numbers, <number>-<letters and digits> or LM<id>: safe to quote.
    listed = ", ".join(f"'{i}'" if not i.isdigit() else i for i in ids)
    chosen = f"{key} IN ({listed})"
    try:
        where = pl.DataFrame(
            table.scan(row_filter=chosen, selected_fields=(key, PARTITION)).to_arrow()
        )
        names = [f.name for f in table.schema().fields]
        updated = changes.filter(pl.col("op") == "U").join(where, on=key, how="inner").select(names)
        tx = table.transaction()
        tx.delete(chosen, snapshot_properties=metadata)
        if updated.height:
            tx.append(
                updated.to_arrow().cast(table.schema().as_arrow()), snapshot_properties=metadata
            )
        tx.commit_transaction()
    except Exception as exc:  # one line, as for a commit
        raise _failed("merging today's changes into", "Iceberg", folder, exc) from None
