"""DDL and loading a run into real databases: DuckDB (embedded) and PostgreSQL (a local server)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import duckdb
import pytest

from tests.conftest import DATE, run_cli, small_config
from tests.servers import postgres_server
from vecgen.catalog import SOURCE_NAMES
from vecgen.database import FOREIGN_KEYS, DatabaseError, ddl, load
from vecgen.engine import generate_frames, run


@pytest.fixture(scope="module")
def a_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dbrun")
    run(small_config(out, customers=3000, formats=("parquet", "csv")))
    return out


def test_ddl_has_types_keys_and_every_enabled_source() -> None:
    sql = ddl(small_config(Path("out")), "duckdb")
    for source in SOURCE_NAMES:
        assert f'CREATE TABLE "{source}"' in sql
    assert (
        '"birth_dt" DATE' in sql
        and '"purchasedate" TIMESTAMP' in sql
        and '"is_duplicate" BOOLEAN' in sql
    )
    assert 'PRIMARY KEY ("source", "record_id")' in sql
    assert sql.count("FOREIGN KEY") == len(FOREIGN_KEYS)
    off = ddl(small_config(Path("out"), sources=(("transactions", False),)), "postgres")
    assert 'CREATE TABLE "transactions"' not in off and "DOUBLE PRECISION" in off
    with pytest.raises(DatabaseError, match="unknown dialect 'oracle'"):
        ddl(small_config(Path("out")), "oracle")


def test_load_into_duckdb_and_the_keys_hold(a_run: Path, tmp_path: Path) -> None:
    cfg = small_config(a_run)
    db = tmp_path / "run.db"
    rows = load(cfg, f"duckdb:///{db}")  # three slashes + an absolute path
    frames = generate_frames(cfg)
    assert rows == {name: frame.height for name, frame in frames.items()}
    con = duckdb.connect(str(db))
    for child, column, parent, parent_column in FOREIGN_KEYS:
        orphans = con.execute(
            f'SELECT count(*) FROM "{child}" c WHERE NOT EXISTS '
            f'(SELECT 1 FROM "{parent}" p WHERE p."{parent_column}" = c."{column}")'
        ).fetchall()
        assert orphans == [(0,)]
    # The database enforces the keys: an order for a customer that does not exist is refused.
    with pytest.raises(duckdb.ConstraintException):
        con.execute("INSERT INTO transactions (customer_id, orderid) VALUES (42, 1)").fetchall()
    con.close()


def test_load_reads_csv_when_there_is_no_parquet(tmp_path: Path) -> None:
    run(small_config(tmp_path / "out", customers=500))
    rows = load(
        small_config(tmp_path / "out", customers=500),
        f"duckdb:///{tmp_path / 'csv.db'}",
    )
    assert rows["customers"] == 575


def test_load_into_postgres_and_the_foreign_keys_hold(a_run: Path) -> None:
    psycopg = pytest.importorskip("psycopg")
    with tempfile.TemporaryDirectory() as base, postgres_server(base) as dsn:
        rows = load(small_config(a_run), dsn)
        assert rows["customers"] == 3450 and rows["truth"] > 20_000
        with psycopg.connect(dsn) as con:
            fks = con.execute(
                "SELECT count(*) FROM information_schema.table_constraints WHERE constraint_type = 'FOREIGN KEY'"
            ).fetchone()
            assert fks == (len(FOREIGN_KEYS),)
            for child, column, parent, parent_column in FOREIGN_KEYS:
                orphans = con.execute(
                    f'SELECT count(*) FROM "{child}" c LEFT JOIN "{parent}" p '
                    f'ON p."{parent_column}" = c."{column}" WHERE p."{parent_column}" IS NULL'
                ).fetchone()
                assert orphans == (0,)
            birth = con.execute(
                'SELECT min("birth_dt"), max("dtUpdateDate") FROM customers'
            ).fetchone()
            assert birth is not None and str(birth[1]).startswith(str(DATE))
            dupes = con.execute(
                "SELECT count(*) FROM truth WHERE is_duplicate AND duplicate_of IS NOT NULL"
            ).fetchone()
            assert dupes is not None and dupes[0] > 0
        # Loading the same run again collides with the tables: a one-line, named error.
        with pytest.raises(DatabaseError, match=r"PostgreSQL refused the load: .*already exists"):
            load(small_config(a_run), dsn)


def test_load_cli_errors_are_one_line(tmp_path: Path) -> None:
    r = run_cli("load", "--dsn", "oracle://x", cwd=tmp_path)
    assert r.returncode == 1 and "unknown database 'oracle'" in r.stderr
    r = run_cli("load", "--dsn", "duckdb:///run.db", "--date", "2020-01-01", cwd=tmp_path)
    assert r.returncode == 1 and "no customers files of 2020-01-01" in r.stderr


def test_head_shows_rows_without_writing(tmp_path: Path) -> None:
    r = run_cli("head", "transactions", "-n", "5", "--seed", "3", cwd=tmp_path)
    assert r.returncode == 0 and "shape: (5, 10)" in r.stdout and "orderid" in r.stdout
    assert not (tmp_path / "output").exists() and not (tmp_path / ".vecgen").exists()
    bad = run_cli("head", "transaction", cwd=tmp_path)
    assert bad.returncode == 2 and "unknown source 'transaction'" in bad.stderr


def test_a_column_type_without_sql_is_a_clear_error() -> None:
    import polars as pl

    from vecgen.database import _sql_type

    assert _sql_type(pl.UInt32(), "postgres") == "BIGINT"  # e.g. a declared length(...)
    with pytest.raises(
        DatabaseError, match=r"source x, column y: no duckdb type for List\(Int64\); cast it"
    ):
        _sql_type(pl.List(pl.Int64), "duckdb", "source x, column y")
