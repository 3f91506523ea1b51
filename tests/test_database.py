"""DDL and loading a run into real databases: DuckDB (embedded) and PostgreSQL (a local server)."""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

import duckdb
import pytest

from tests.conftest import DATE, run_cli, small_config
from tests.servers import postgres_server
from vecgen.catalog import SWITCHABLE
from vecgen.database import FOREIGN_KEYS, DatabaseError, ddl, load
from vecgen.engine import generate_frames, run


@pytest.fixture(scope="module")
def a_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dbrun")
    run(small_config(out, customers=3000, formats=("parquet", "csv")))
    return out


def test_ddl_has_types_keys_and_every_enabled_source() -> None:
    sql = ddl(small_config(Path("out")), "duckdb")
    for source in SWITCHABLE:
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
        # Loading the same run again: a one-line, named error; nothing changes.
        with pytest.raises(DatabaseError, match=r'table "customers" already exists; nothing'):
            load(small_config(a_run), dsn)
        # Appending the same day again breaks the keys: the whole load is rolled back.
        with pytest.raises(DatabaseError, match=r"PostgreSQL refused the load: .*duplicate key"):
            load(small_config(a_run), dsn, if_exists="append")
        assert load(small_config(a_run), dsn, if_exists="replace") == rows
        with psycopg.connect(dsn) as con:
            counted = con.execute("SELECT count(*) FROM customers").fetchone()
            assert counted == (rows["customers"],)


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


def test_a_three_day_lake_with_appends_loads_with_every_key_enforced(tmp_path: Path) -> None:
    """Truth keys (custom_object's row-<n> included) never repeat across days and parts."""
    common = ("--customers", "400", "--quiet", "--state", "--formats", "parquet")
    for date, extra in (
        ("2026-11-27", ()),
        ("2026-11-28", ()),
        ("2026-11-28", ("--load-type", "append")),
        ("2026-11-29", ()),
    ):
        r = run_cli(*common, "--date", date, *extra, cwd=tmp_path)
        assert r.returncode == 0, r.stderr
    db = f"duckdb:///{tmp_path / 'lake.db'}"
    totals: dict[str, int] = {}
    for i, date in enumerate(("2026-11-27", "2026-11-28", "2026-11-29")):
        cfg = small_config(tmp_path / "output", customers=400, date=dt.date.fromisoformat(date))
        rows = load(cfg, db, if_exists="fail" if i == 0 else "append")
        for table, n in rows.items():
            totals[table] = totals.get(table, 0) + n
    con = duckdb.connect(str(tmp_path / "lake.db"))
    custom = con.execute(
        "SELECT count(*), count(DISTINCT record_id) FROM truth WHERE source = 'custom_object'"
    ).fetchone()
    assert custom == (4 * 400, 4 * 400)  # four runs, one row per clean customer each
    assert con.execute("SELECT count(*) FROM customers").fetchone() == (totals["customers"],)
    con.close()


def test_a_failed_load_leaves_the_database_as_it_was(a_run: Path, tmp_path: Path) -> None:
    db = tmp_path / "d.db"
    # A day without files creates nothing (no empty tables).
    with pytest.raises(
        DatabaseError, match=r"no customers files of 2020-01-01.*nothing was loaded"
    ):
        load(small_config(a_run, date=dt.date(2020, 1, 1)), f"duckdb:///{db}")
    if db.exists():
        con = duckdb.connect(str(db))
        assert con.execute("SELECT count(*) FROM information_schema.tables").fetchone() == (0,)
        con.close()
    rows = load(small_config(a_run), f"duckdb:///{db}")
    with pytest.raises(DatabaseError, match=r'table "customers" already exists'):
        load(small_config(a_run), f"duckdb:///{db}")
    # The same day appended again: a key collides half-way; the transaction is rolled back.
    with pytest.raises(DatabaseError, match="DuckDB refused the load"):
        load(small_config(a_run), f"duckdb:///{db}", if_exists="append")
    con = duckdb.connect(str(db))
    assert con.execute("SELECT count(*) FROM truth").fetchone() == (rows["truth"],)
    con.close()
    assert load(small_config(a_run), f"duckdb:///{db}", if_exists="replace") == rows
    r = run_cli(
        "load",
        "--dsn",
        f"duckdb:///{db}",
        "--out",
        str(a_run),
        "--date",
        str(DATE),
        "--if-exists",
        "append",
        cwd=tmp_path,
    )
    assert r.returncode == 1 and "DuckDB refused the load" in r.stderr, r.stderr


@pytest.mark.parametrize("damage", ["truncated", "junk", "folder", "no column"])
def test_a_damaged_file_is_one_line_and_loads_nothing(tmp_path: Path, damage: str) -> None:
    import shutil

    out = tmp_path / "run"
    run(small_config(out, customers=300, formats=("csv", "parquet")))
    (path,) = (out / "wifi").rglob("part-00000.parquet")
    if damage == "truncated":
        path.write_bytes(path.read_bytes()[:400])
    elif damage == "junk":
        path.write_bytes(b"PAR1" + bytes(range(256)) * 4 + b"PAR1")
    elif damage == "folder":
        path.unlink()
        path.mkdir()
    else:
        import polars as pl

        pl.read_parquet(path).drop("sha").write_parquet(path)
    db = tmp_path / "d.db"
    r = run_cli(
        "load", "--dsn", f"duckdb:///{db}", "--out", str(out), "--date", str(DATE), cwd=tmp_path
    )
    assert r.returncode == 1 and "Traceback" not in r.stderr and "internal error" not in r.stderr
    assert r.stderr.count("\n") == 1 and str(path) in r.stderr and "nothing was loaded" in r.stderr
    if db.exists():
        con = duckdb.connect(str(db))
        assert con.execute("SELECT count(*) FROM information_schema.tables").fetchone() == (0,)
        con.close()
    shutil.rmtree(out)
