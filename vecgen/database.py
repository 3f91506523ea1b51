"""``vecgen ddl`` and ``vecgen load``: the files of a run as tables with keys, in a real database.

The DDL comes from the schema the sources produce (types, primary keys, and
foreign keys that hold in every run). ``load`` creates the tables and copies a
run's files into DuckDB (embedded, ``duckdb:///path.db``) or PostgreSQL
(``postgresql://user@host:port/db``, with COPY), parents before children, so
the database checks every foreign key.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Iterator

import polars as pl

from vecgen.catalog import SOURCE_INFO
from vecgen.config import Config
from vecgen.errors import MissingDependencyError, VecgenError, cause
from vecgen.output import tables

DIALECTS = ("postgres", "duckdb")

# Views of the catalog's source records: primary keys, and foreign keys that hold in every run.
PRIMARY_KEYS: dict[str, tuple[str, ...]] = {n: i.key for n, i in SOURCE_INFO.items() if i.key}
FOREIGN_KEYS: tuple[tuple[str, str, str, str], ...] = tuple(
    (name, column, parent, parent_column)
    for name, info in SOURCE_INFO.items()
    for column, parent, parent_column in info.references
)  # (child source, child column, parent source, parent column)
_TYPES = {
    "postgres": {
        pl.Int64: "BIGINT",
        pl.Float64: "DOUBLE PRECISION",
        pl.String: "TEXT",
        pl.Date: "DATE",
        pl.Datetime: "TIMESTAMP",
        pl.Boolean: "BOOLEAN",
    },
    "duckdb": {
        pl.Int64: "BIGINT",
        pl.Float64: "DOUBLE",
        pl.String: "VARCHAR",
        pl.Date: "DATE",
        pl.Datetime: "TIMESTAMP",
        pl.Boolean: "BOOLEAN",
    },
}


class DatabaseError(VecgenError, RuntimeError):
    """The database refused the load, or cannot be reached."""


def schemas(config: Config) -> dict[str, pl.Schema]:
    """Return the column types of every enabled source (from a tiny in-memory run)."""
    from vecgen.engine import generate_frames

    small = config.replace(
        customers=1000,
        state_dir="",
        state=False,
        load_type="new",
        parts=1,
        part=0,
        tracer=False,
        archival=False,
    )
    return {name: frame.schema for name, frame in generate_frames(small).items()}


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _sql_type(dtype: pl.DataType, dialect: str, where: str = "") -> str:
    if dtype.is_integer():  # a declared expr can give Int32 or UInt32 (e.g. length(...))
        dtype = pl.Int64()
    elif dtype.is_float():
        dtype = pl.Float64()
    for base, sql in _TYPES[dialect].items():
        if dtype == base or (base is pl.Datetime and isinstance(dtype, pl.Datetime)):
            return sql
    raise DatabaseError(
        f"{where}: no {dialect} type for {dtype}; cast it to text, a number, a date or a "
        "timestamp in its declaration (e.g. CAST(... AS VARCHAR))"
    )


def keys(config: Config) -> tuple[dict[str, tuple[str, ...]], list[tuple[str, str, str, str]]]:
    """Primary and foreign keys of the built-in and declared sources of ``config``.

    A declared source's ``key`` is its primary key; a ``copy`` of its parent's
    primary key is a foreign key to the parent.

    Examples
    --------
    >>> import json
    >>> from vecgen.config import Config
    >>> lines = {"parent": "transactions", "key": "line", "columns": {
    ...     "line": {"kind": "sequence"}, "order": {"kind": "copy", "field": "orderid"}}}
    >>> primary, foreign = keys(Config(declared=json.dumps({"lines": lines})))
    >>> primary["lines"], foreign[-1]
    (('line',), ('lines', 'order', 'transactions', 'orderid'))

    """
    from vecgen.spec import Copy

    primary = dict(PRIMARY_KEYS)
    foreign = list(FOREIGN_KEYS)
    for spec in config.declared:
        if spec.key is not None:
            primary[spec.name] = (spec.key,)
        parent_key = primary.get(spec.parent, ())
        for column in spec.columns:
            if isinstance(column, Copy) and (column.field,) == parent_key:
                foreign.append((spec.name, column.name, spec.parent, parent_key[0]))
    return primary, foreign


def ddl(config: Config, dialect: str, schema: dict[str, pl.Schema] | None = None) -> str:
    """CREATE TABLE statements for every enabled source, parents first.

    Examples
    --------
    >>> from vecgen.config import Config
    >>> sql = ddl(Config(), "postgres")
    >>> 'CREATE TABLE "transactions"' in sql and 'REFERENCES "customers" ("customer_id")' in sql
    True

    """
    if dialect not in DIALECTS:
        raise DatabaseError(f"unknown dialect '{dialect}'; valid dialects: {', '.join(DIALECTS)}")
    out = []
    enabled = schemas(config) if schema is None else schema  # a load has it already
    primary, foreign = keys(config)
    for source, columns in enabled.items():
        lines = [
            f"  {_quote(c)} {_sql_type(t, dialect, f'source {source}, column {c}')}"
            for c, t in columns.items()
        ]
        if source in primary:
            lines.append(f"  PRIMARY KEY ({', '.join(_quote(c) for c in primary[source])})")
        for child, column, parent, parent_column in foreign:
            if child == source and parent in enabled:
                lines.append(
                    f"  FOREIGN KEY ({_quote(column)}) REFERENCES {_quote(parent)} ({_quote(parent_column)})"
                )
        out.append(f"CREATE TABLE {_quote(source)} (\n" + ",\n".join(lines) + "\n);")
    return "\n\n".join(out) + "\n"


def run_files(config: Config, source: str) -> list[str]:
    """Today's files of ``source`` under ``config.out`` (Parquet preferred: it keeps types)."""
    from vecgen.sources import flat_name

    day = config.run_date
    for ext in ("parquet", "csv", "json"):
        lake = tables.lake_files(os.path.join(config.out, source), f"dt={day.isoformat()}", ext)
        prefix = day.strftime("%Y_%m_%d") if config.date_prefix else ""
        stem = flat_name(config, source)
        flat = sorted(glob.glob(os.path.join(config.out, f"{prefix}{stem}*.{ext}")))
        flat = [
            f
            for f in flat
            if os.path.basename(f)[len(prefix) :].split(".")[0].split("-part-")[0] == stem
        ]
        if lake or flat:
            return lake or flat
    return []


def read_typed(path: str, schema: pl.Schema, date_format: str) -> pl.DataFrame:
    """Read one file of a run with ``schema`` (CSV dates in the source's format).

    A damaged file (truncated, junk, wrong columns, values of the wrong type) is
    one line naming it; nothing has been loaded then (the load is one transaction).
    """
    try:
        return _read_typed(path, schema, date_format)
    except Exception as exc:  # Polars and pyarrow raise many kinds: all mean "damaged"
        first = cause(exc)
        msg = f"{path} cannot be loaded ({first}); regenerate that day (nothing was loaded)"
        raise DatabaseError(msg) from None


def _read_typed(path: str, schema: pl.Schema, date_format: str) -> pl.DataFrame:
    if path.endswith(".parquet"):
        return pl.read_parquet(path).cast(dict(schema))  # type: ignore[arg-type]
    raw = (
        pl.read_csv(path, infer_schema=False)
        if path.endswith(".csv")
        else pl.read_ndjson(path).cast(pl.String)
    )
    exprs = []
    for column, dtype in schema.items():
        col = pl.col(column).replace("", None)
        if dtype == pl.Date:
            exprs.append(col.str.to_date(date_format))
        elif isinstance(dtype, pl.Datetime):
            exprs.append(col.str.to_datetime("%Y-%m-%d %H:%M:%S", time_unit="us"))
        elif dtype == pl.Boolean:
            exprs.append(col.str.to_lowercase() == "true")
        else:
            exprs.append(col.cast(dtype))
    return raw.select(exprs)


IF_EXISTS = ("fail", "replace", "append")


def _files(config: Config, schema: dict[str, pl.Schema]) -> dict[str, list[str]]:
    """Every source's files of the day, found before the database is touched."""
    found = {source: list(run_files(config, source)) for source in schema}
    missing = [source for source, files in found.items() if not files]
    if missing:
        raise DatabaseError(
            f"no {missing[0]} files of {config.run_date} under {config.out}; "
            "check --out and --date (nothing was loaded)"
        )
    return found


def _frames(
    config: Config, schema: dict[str, pl.Schema], files: dict[str, list[str]]
) -> Iterator[tuple[str, pl.DataFrame]]:
    from vecgen.sources import source_for

    for source, columns in schema.items():
        date_format = source_for(config, source).write_options.date_format
        for path in files[source]:
            yield source, read_typed(path, columns, date_format)


# The tables already in the database (both dialects answer it).
EXISTING_TABLES = (
    "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"
)


def _statements(
    config: Config,
    dialect: str,
    schema: dict[str, pl.Schema],
    existing: set[str],
    if_exists: str,
) -> str:
    """Return the DDL of a load: fail on existing tables, drop them first, or keep them."""
    tables = list(schema)
    clash = [t for t in tables if t in existing]
    if clash and if_exists == "fail":
        raise DatabaseError(
            f"table {_quote(clash[0])} already exists; nothing was loaded. Use --if-exists "
            "append to add this day's rows, or --if-exists replace to drop and reload the tables"
        )
    sql = ddl(config, dialect, schema)
    if if_exists == "append":
        return sql.replace("CREATE TABLE ", "CREATE TABLE IF NOT EXISTS ")
    drops = [f"DROP TABLE IF EXISTS {_quote(t)};" for t in reversed(tables) if t in existing]
    return "\n".join(drops) + ("\n" if drops else "") + sql


def load(config: Config, dsn: str, if_exists: str = "fail") -> dict[str, int]:
    """Create the tables of ``config``'s sources in ``dsn`` and copy today's files in; rows per table.

    One transaction: a failure leaves the database as it was. ``if_exists``
    says what to do with tables that are already there: ``fail`` (stop,
    nothing loaded), ``replace`` (drop and reload them) or ``append`` (add
    this day's rows; keys that are already there are refused).
    """
    if if_exists not in IF_EXISTS:
        raise DatabaseError(f"--if-exists must be one of {', '.join(IF_EXISTS)}, got '{if_exists}'")
    if not dsn.startswith(("duckdb://", "postgresql://", "postgres://")):
        raise DatabaseError(
            f"unknown database '{dsn.split(':', 1)[0]}'; use duckdb:///path.db or postgresql://..."
        )
    schema = schemas(config)
    files = _files(config, schema)
    if dsn.startswith("duckdb://"):
        # duckdb:///run.db is run.db here; duckdb:////tmp/run.db is absolute (as in SQLAlchemy).
        path = dsn[len("duckdb:///") :] if dsn.startswith("duckdb:///") else dsn[len("duckdb://") :]
        return _load_duckdb(config, path or ":memory:", schema, files, if_exists)
    return _load_postgres(config, dsn, schema, files, if_exists)


def _load_duckdb(
    config: Config,
    path: str,
    schema: dict[str, pl.Schema],
    files: dict[str, list[str]],
    if_exists: str,
) -> dict[str, int]:
    try:
        import duckdb
    except ImportError as exc:
        raise MissingDependencyError(
            "loading into DuckDB needs duckdb: pip install 'vecgen[duckdb]'"
        ) from exc
    rows: dict[str, int] = {}
    try:
        con = duckdb.connect(path)
        try:
            existing = {r[0] for r in con.execute(EXISTING_TABLES).fetchall()}
            con.execute("BEGIN TRANSACTION")
            try:
                sql = _statements(config, "duckdb", schema, existing, if_exists)
                con.execute(sql).fetchall()
                for source, frame in _frames(config, schema, files):
                    con.register("__frame", frame.to_arrow())
                    con.execute(f"INSERT INTO {_quote(source)} SELECT * FROM __frame").fetchall()
                    con.unregister("__frame")
                    rows[source] = rows.get(source, 0) + frame.height
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise
        finally:
            con.close()
    except duckdb.Error as exc:
        raise DatabaseError(
            f"DuckDB refused the load into {path}: {cause(exc, limit=1000)}"
        ) from None
    return rows


def _load_postgres(
    config: Config,
    dsn: str,
    schema: dict[str, pl.Schema],
    files: dict[str, list[str]],
    if_exists: str,
) -> dict[str, int]:
    try:
        import psycopg
    except ImportError as exc:
        raise MissingDependencyError(
            "loading into PostgreSQL needs psycopg: pip install 'vecgen[postgres]'"
        ) from exc
    rows: dict[str, int] = {}
    try:
        # One transaction (psycopg commits when the block ends, rolls back on an error).
        with psycopg.connect(dsn, connect_timeout=10) as con:
            with con.cursor() as cur:
                cur.execute(EXISTING_TABLES)
                existing = {r[0] for r in cur.fetchall()}
                cur.execute(_statements(config, "postgres", schema, existing, if_exists))
                for source, frame in _frames(config, schema, files):
                    names = ", ".join(_quote(c) for c in frame.columns)
                    sql = f"COPY {_quote(source)} ({names}) FROM STDIN WITH (FORMAT csv)"
                    with cur.copy(sql) as copy:
                        for part in frame.iter_slices(100_000):
                            # Unquoted empty fields are NULL to COPY; dates and times in ISO form.
                            copy.write(
                                part.write_csv(
                                    null_value="",
                                    quote_style="necessary",
                                    datetime_format="%Y-%m-%d %H:%M:%S",
                                    include_header=False,
                                ).encode()
                            )
                    rows[source] = rows.get(source, 0) + frame.height
            con.commit()
    except psycopg.Error as exc:
        first = cause(exc, limit=1000)
        raise DatabaseError(f"PostgreSQL refused the load: {first}") from None
    return rows
