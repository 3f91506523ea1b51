"""The change feed (changes = P): customer_changes rows, their invariants and the Delta MERGE."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from tests.conftest import run_cli, tree_bytes
from vecgen.catalog import SWITCHABLE
from vecgen.changes import ADDRESS, known_customers
from vecgen.config import Config
from vecgen.errors import ConfigError

DAYS = ("2026-01-15", "2026-01-16", "2026-01-17")
ARGS = ("--customers", "2000", "--state", "--changes", "6", "--quiet", "--seed", "8")


def days(cwd: Path, *args: str) -> None:
    for day in DAYS:
        r = run_cli(*ARGS, *args, "--date", day, cwd=cwd)
        assert r.returncode == 0 and "Traceback" not in r.stderr, r.stderr


def read(root: Path, source: str, day: str) -> pl.DataFrame:
    return pl.read_csv(root / source / f"dt={day}" / "part-00000.csv", infer_schema=False)


@pytest.fixture(scope="module")
def csv_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("changes")
    days(root, "--format", "csv", "--out", "out")
    return root / "out"


def test_changes_are_whole_records_of_known_people_that_change_only_what_they_list(
    csv_run: Path,
) -> None:
    for day in DAYS[1:]:
        before = known_customers(str(csv_run), day)
        changes = read(csv_run, "customer_changes", day)
        assert 0.04 < changes.height / before.height < 0.08  # changes = 6 (percent)
        assert set(changes["op"]) == {"U", "D"}
        assert changes["customer_id"].is_unique().all()
        old = before.join(changes.select("customer_id"), on="customer_id", how="semi").sort(
            "customer_id"
        )
        new = changes.sort("customer_id")
        assert old["customer_id"].to_list() == new["customer_id"].to_list()  # all were known
        for row_old, row_new in zip(
            old.iter_rows(named=True), new.iter_rows(named=True), strict=True
        ):
            listed = set(filter(None, (row_new["changed_columns"] or "").split("|")))
            if row_new["op"] == "D":
                assert not listed
                continue
            assert listed, row_new
            birth = row_old["birth_dt"].strftime("%m/%d/%Y") if row_old["birth_dt"] else None
            for column in ("name_last", "email", "city", "postal_code", "phone"):
                differs = (row_old[column] or None) != (row_new[column] or None)
                assert differs == (column in listed), (column, row_old, row_new)
            assert row_new["birth_dt"] == (birth or "")  # who a person is never changes
            if listed & set(ADDRESS):  # a move: the address changes as a whole
                assert {"addr_ln_1_txt", "postal_code"} <= listed, listed
        # Deleted people do not change again.
        deleted = set(changes.filter(pl.col("op") == "D")["customer_id"])
        later = [d for d in DAYS if d > day]
        for d in later:
            assert not deleted & set(read(csv_run, "customer_changes", d)["customer_id"])


def test_a_changed_record_keeps_its_id_and_entity_in_truth(csv_run: Path) -> None:
    day = DAYS[2]
    truth = pl.concat(read(csv_run, "truth", d) for d in DAYS)
    entity = dict(
        truth.filter(pl.col("source") == "customers").select("record_id", "entity_id").iter_rows()
    )
    rows = truth.filter(
        pl.col("source") == "customer_changes", pl.col("record_id").str.ends_with(day)
    )
    changes = read(csv_run, "customer_changes", day)
    assert rows.height == changes.height
    for record, ent in rows.select("record_id", "entity_id").iter_rows():
        customer = record.split("@")[0]
        assert entity[customer] == ent


def test_the_feed_does_not_depend_on_batching(csv_run: Path, tmp_path: Path) -> None:
    days(tmp_path, "--format", "csv", "--out", "out", "--batch-size", "1000")
    for day in DAYS:
        a = (csv_run / "customer_changes" / f"dt={day}" / "part-00000.csv").read_bytes()
        b = (tmp_path / "out" / "customer_changes" / f"dt={day}" / "part-00000.csv").read_bytes()
        assert a == b


def test_delta_merge_updates_and_deletes_with_history(tmp_path: Path) -> None:
    deltalake = pytest.importorskip("deltalake", reason="deltalake is a test dependency")
    duckdb = pytest.importorskip("duckdb", reason="duckdb is a test dependency")
    days(tmp_path, "--format", "delta", "--out", "lake")
    table = str(tmp_path / "lake" / "customers")
    t = deltalake.DeltaTable(table)
    # Per day one commit of the new file; from day 2 on, one MERGE of the changes.
    assert [h["operation"] for h in reversed(t.history())] == [
        "CREATE TABLE", "WRITE", "MERGE", "WRITE", "MERGE",
    ]  # fmt: skip
    today = pl.read_delta(table)
    changes = pl.read_delta(str(tmp_path / "lake" / "customer_changes")).filter(
        pl.col("dt") == DAYS[2]
    )
    gone = changes.filter(pl.col("op") == "D")["customer_id"]
    assert gone.len() and not today["customer_id"].is_in(gone.implode()).any()
    before = pl.read_delta(table, version=3)  # yesterday's changes and today's new rows
    assert before["customer_id"].is_in(gone.implode()).sum() == gone.len()  # history keeps them
    # Today's changes applied with a MERGE in DuckDB give today's table.
    con = duckdb.connect()
    con.register("before_view", before.to_arrow())
    con.register("changes_view", changes.drop("dt").to_arrow())
    con.execute("CREATE TABLE t AS SELECT * FROM before_view")
    columns = [c for c in before.columns if c not in ("customer_id", "dt")]
    sets = ", ".join(f'"{c}" = s."{c}"' for c in columns)
    con.execute(
        "MERGE INTO t USING changes_view AS s ON t.customer_id = s.customer_id "
        f"WHEN MATCHED AND s.op = 'D' THEN DELETE WHEN MATCHED THEN UPDATE SET {sets}"
    )
    merged = con.sql("SELECT * FROM t").pl()
    assert isinstance(merged, pl.DataFrame)
    assert merged.sort("customer_id").equals(today.select(merged.columns).sort("customer_id"))
    # The change data feed shows both versions of an updated person.
    feed = pl.DataFrame(t.load_cdf(starting_version=4).read_all())
    kinds = set(feed["_change_type"])
    assert {"update_preimage", "update_postimage", "delete"} <= kinds


def test_change_feed_settings_are_checked() -> None:
    with pytest.raises(ConfigError, match="changes = P"):
        Config(sources=(("customer_changes", True),))  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="'changes' is not available"):
        Config(changes=5, parts=2)
    with pytest.raises(ConfigError, match="reads the earlier days of a local output"):
        Config(changes=5, out="s3://bucket/lake")
    off = tuple((name, False) for name in SWITCHABLE)
    assert not Config(changes=5, sources=off).enabled("customer_changes")
    assert Config(changes=5).enabled("customer_changes") and not Config().enabled(
        "customer_changes"
    )


def test_no_earlier_day_gives_an_empty_feed(tmp_path: Path) -> None:
    r = run_cli(*ARGS, "--date", DAYS[0], "--out", "out", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    files = tree_bytes(tmp_path / "out")
    (feed,) = [v for k, v in files.items() if k.startswith("customer_changes/")]
    assert feed.decode().count("\n") == 1  # the header only


def test_iceberg_merge_gives_the_same_table_as_delta(tmp_path: Path) -> None:
    pytest.importorskip("deltalake", reason="deltalake is a test dependency")
    pytest.importorskip("pyiceberg", reason="pyiceberg is a test dependency")
    from pyiceberg.catalog.sql import SqlCatalog

    days(tmp_path, "--format", "delta", "--out", "delta")
    days(tmp_path, "--format", "iceberg", "--out", "iceberg")
    root = tmp_path / "iceberg"
    catalog = SqlCatalog(
        "vecgen", uri=f"sqlite:///{root}/_iceberg/catalog.db", warehouse=f"file://{root}"
    )
    table = catalog.load_table("vecgen.customers")
    ice = pl.DataFrame(table.scan().to_arrow()).sort("customer_id")
    delta = pl.read_delta(str(tmp_path / "delta" / "customers")).sort("customer_id")
    assert ice.height < 3 * 2300  # deletions happened
    assert ice.select(delta.columns).equals(delta)
    # History: the first snapshot still has everyone of the first day.
    first = pl.DataFrame(table.scan(snapshot_id=table.snapshots()[0].snapshot_id).to_arrow())
    assert first.height == 2300
