"""Delta Lake tables (``--format delta``): one table per source, one commit per run.

A run writes each source's Parquet data file into the table's date partition
(``OUT/<source>/dt=<date>/part-00000-<token>.parquet``, under a temporary name
then renamed, like every vecgen file) and then commits it to the table's
transaction log (``OUT/<source>/_delta_log``) with deltalake (delta-rs):

- ``load_type = "new"``: refuses before anything is written when today's
  partition already holds rows in the current version;
- ``truncate``: one overwrite commit with a predicate on today's partition
  (earlier versions keep their files: time travel still reads them);
- ``append``: one append commit.

A file is visible to readers only once its commit lands, so a run that fails
or is killed before it commits leaves every table as it was (its renamed data
files are unreferenced, as after any failed Delta write; VACUUM removes them).
vecgen's own readers (score, report, load, the daily tools) read a table's
current files only (:func:`live_files`).
"""

from __future__ import annotations

import json
import os
import posixpath
from collections.abc import Iterable, Sequence
from typing import Any

from vecgen.errors import OutputError

PARTITION = "dt"
LOG = "_delta_log"


def is_table(folder: str) -> bool:
    """Return True when ``folder`` (a source's folder) holds a Delta table.

    Examples
    --------
    >>> is_table("/nonexistent/customers")
    False

    """
    return os.path.isdir(os.path.join(folder, LOG))


def live_files(folder: str) -> set[str] | None:
    """Return the data files of a table's current version (normalised paths), None if no table."""
    if not is_table(folder):
        return None
    try:
        from deltalake import DeltaTable
    except ImportError:
        msg = (
            f"'{folder}' is a Delta table: reading it needs deltalake (pip install 'vecgen[delta]')"
        )
        raise OutputError(msg) from None

    try:
        uris = DeltaTable(folder).file_uris()
    except Exception as exc:  # a damaged log: one line, not a traceback
        msg = f"cannot read the Delta table '{folder}' ({exc}); restore its _delta_log or remove it"
        raise OutputError(msg) from None
    return {os.path.normpath(u.removeprefix("file://")) for u in uris}


def keep_live(paths: Iterable[str], folder: str) -> list[str]:
    """Drop the files of ``folder`` that are not in its table's current version (all kept if no table).

    Examples
    --------
    >>> keep_live(["a/dt=2026-01-01/part-00000.csv"], "/nonexistent")
    ['a/dt=2026-01-01/part-00000.csv']

    """
    live = live_files(folder)
    paths = list(paths)
    if live is None:
        return paths
    return [p for p in paths if os.path.normpath(os.path.abspath(p)) in live]


def partition_rows(folder: str, day: str) -> int:
    """Rows today's partition ``day`` holds in the table's current version (0 without a table)."""
    if not is_table(folder):
        return 0
    import pyarrow as pa
    from deltalake import DeltaTable

    table = pa.table(DeltaTable(folder).get_add_actions(flatten=True)).to_pydict()
    days = table.get(f"partition.{PARTITION}", [])
    counts = table.get("num_records", [])
    return int(sum(n or 0 for d, n in zip(days, counts, strict=True) if d == day))


def commit(
    folder: str,
    files: Sequence[tuple[str, int]],
    day: str,
    load_type: str,
    metadata: dict[str, str],
) -> None:
    """Commit the data files ``[(path, rows), ...]`` of one run to the table in ``folder``.

    Creates the table on the first run. ``truncate`` replaces partition ``day``;
    any other load type appends. ``metadata`` goes into the commit's info
    (vecgen's version, seed and settings).
    """
    import pyarrow as pa
    import pyarrow.parquet as pq
    from deltalake import DeltaTable, Schema
    from deltalake.transaction import (
        AddAction,
        CommitProperties,
        RemoveAction,
        create_table_with_add_actions,
    )

    actions: list[AddAction | RemoveAction] = []
    schema: Any = None
    for path, rows in files:
        stat = os.stat(path)
        actions.append(
            AddAction(
                path=posixpath.relpath(path.replace(os.sep, "/"), folder.replace(os.sep, "/")),
                size=stat.st_size,
                partition_values={PARTITION: day},
                modification_time=int(stat.st_mtime * 1000),
                data_change=True,
                stats=json.dumps({"numRecords": rows}),
            )
        )
        schema = pq.read_schema(path)
    if schema is None:
        return
    schema = schema.append(pa.field(PARTITION, pa.string()))
    # One try: a run racing another into the same partition fails instead of retrying.
    properties = CommitProperties(custom_metadata=metadata, max_commit_retries=0)
    try:
        if not is_table(folder):
            create_table_with_add_actions(
                folder,
                Schema.from_arrow(schema),
                [a for a in actions if isinstance(a, AddAction)],
                mode="error",
                partition_by=[PARTITION],
                name=os.path.basename(folder),
                # Updates and deletes (the change feed's MERGE) are readable as changes.
                configuration={"delta.enableChangeDataFeed": "true"},
                commit_properties=properties,
            )
            return
        truncate = load_type == "truncate"
        DeltaTable(folder).create_write_transaction(
            actions,
            mode="overwrite" if truncate else "append",
            schema=schema,
            partition_by=[PARTITION],
            partition_filters=[(PARTITION, "=", day)] if truncate else None,
            commit_properties=properties,
        )
    except Exception as exc:  # a conflict, a schema change, a damaged log: one line
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        msg = (
            f"committing today's files to the Delta table '{folder}' failed ({reason}); "
            "the table keeps its previous version"
        )
        raise OutputError(msg) from None


def merge_changes(
    folder: str, changes_file: str, columns: Sequence[str], metadata: dict[str, str]
) -> None:
    """MERGE today's change feed (a Parquet file) into the customers table in ``folder``.

    Rows with ``op`` ``U`` replace the person's ``columns``; ``D`` deletes the
    person. One commit; with the change data feed on, readers see both versions.
    """
    import pyarrow.parquet as pq
    from deltalake import DeltaTable
    from deltalake.transaction import CommitProperties

    source = pq.read_table(changes_file)
    if source.num_rows == 0 or not is_table(folder):
        return
    try:
        (
            DeltaTable(folder)
            .merge(
                source=source,
                predicate="t.customer_id = s.customer_id",
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
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        msg = (
            f"merging today's changes into the Delta table '{folder}' failed ({reason}); "
            "the table keeps its previous version"
        )
        raise OutputError(msg) from None
