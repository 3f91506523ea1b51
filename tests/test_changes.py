"""The change feed (changes = P): customer_changes rows, their invariants and the Delta MERGE."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest

from tests.conftest import run_cli, tree_bytes
from vecgen.catalog import SWITCHABLE
from vecgen.changes import ADDRESS, FOLLOWERS, known_customers
from vecgen.config import Config
from vecgen.errors import ConfigError

DAYS = ("2026-01-15", "2026-01-16", "2026-01-17")
ARGS = ("--customers", "4000", "--state", "--changes", "6", "--quiet", "--seed", "8")
PER_DAY = 4000 * 115 // 100  # customers rows a day (15% duplicates)


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


LATER = ("2026-01-20", "2026-02-10")  # a gap of days, then one of three weeks


@pytest.fixture(scope="module")
def follow_run(csv_run: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The CSV run's three days, then two later days with gaps (changes come due in between)."""
    import shutil

    root = tmp_path_factory.mktemp("follow")
    shutil.copytree(csv_run, root / "out")
    for day in LATER:
        r = run_cli(*ARGS, "--format", "csv", "--out", "out", "--date", day, cwd=root)
        assert r.returncode == 0 and "Traceback" not in r.stderr, r.stderr
    return root / "out"


def _customer_changes(root: Path) -> pl.DataFrame:
    return pl.concat(
        read(root, "customer_changes", d).with_columns(pl.lit(d).alias("day"))
        for d in (*DAYS, *LATER)
    )


@pytest.mark.parametrize("follower", FOLLOWERS, ids=lambda f: f.system)
def test_other_systems_record_a_change_later_with_its_values(
    follow_run: Path, follower: object
) -> None:
    from vecgen.changes import Follower

    assert isinstance(follower, Follower)
    every = (*DAYS, *LATER)
    changes = _customer_changes(follow_run)
    truth = pl.concat(read(follow_run, "truth", d) for d in every)
    entity_of_change = dict(
        truth.filter(pl.col("source") == "customer_changes")
        .select("record_id", "entity_id")
        .iter_rows()
    )
    changes = changes.with_columns(
        (pl.col("customer_id") + "@" + pl.col("day"))
        .replace_strict(entity_of_change, default=None)
        .alias("entity")
    )
    entity_of_record = dict(
        truth.filter(pl.col("source") == follower.system)
        .select("record_id", "entity_id")
        .iter_rows()
    )
    key = "lm_id" if follower.system == "loyalty" else "customer_id"
    lo, hi = follower.lag_days
    seen_days: dict[str, set[str]] = {}
    total = 0
    for i, day in enumerate(every):
        rows = read(follow_run, follower.feed, day)
        feed_truth = truth.filter(
            pl.col("source") == follower.feed, pl.col("record_id").str.ends_with(day)
        )
        assert feed_truth.height == rows.height and rows[key].is_unique().all()
        if i == 0:
            assert rows.height == 0  # nothing changed before the first day
            continue
        total += rows.height
        previous = every[i - 1]
        for row in rows.iter_rows(named=True):
            record = row[key]
            entity = entity_of_record[record]
            assert (
                dict(feed_truth.select("record_id", "entity_id").iter_rows())[f"{record}@{day}"]
                == entity
            )
            if follower.system == "loyalty":
                mine = changes.filter(pl.col("customer_id") == record[2:])
            else:
                mine = changes.filter(pl.col("entity") == entity)
            # A change of an earlier day, due after the previous run and by today.
            latest = (dt.date.fromisoformat(day) - dt.timedelta(days=lo)).isoformat()
            mine = mine.filter(pl.col("day") <= latest)
            assert mine.height, (follower.feed, day, record)
            first_due = dt.date.fromisoformat(previous) - dt.timedelta(days=hi - 1)
            assert (mine["day"] >= first_due.isoformat()).any(), (
                record,
                day,
                mine["day"].to_list(),
            )
            if row["op"] == "D":
                assert not row["changed_columns"] and (mine["op"] == "D").any()
                continue
            listed = set(row["changed_columns"].split("|"))
            held = {v: k for k, v in follower.columns.items()}
            assert listed and listed <= set(held), listed  # only columns the system holds
            for column in listed:  # the customers' new value, from a change that listed it
                values = mine.filter(
                    pl.col("changed_columns").str.split("|").list.contains(held[column])
                )[held[column]]
                assert row[column] in values.to_list(), (column, row[column], values.to_list())
            if listed & {"address1", "addr_ln_1_txt"}:  # a move is whole here too
                assert "postal_code" in listed or "city" in listed
            for change_day in mine["day"].unique():
                seen_days.setdefault(change_day, set()).add(day)
    assert total > 0
    # Not all on the same day: one day's changes reach this system over several later days.
    assert max(len(d) for d in seen_days.values()) >= 2, seen_days


def test_a_system_deletes_a_forgotten_person_once_and_keeps_stale_values(follow_run: Path) -> None:
    loyalty = pl.concat(read(follow_run, "loyalty_changes", d) for d in (*DAYS, *LATER))
    gone = loyalty.filter(pl.col("op") == "D")["lm_id"]
    assert gone.len() and gone.is_unique().all()
    # A deleted member gets no later row.
    for lm in gone:
        rows = loyalty.filter(pl.col("lm_id") == lm)
        assert rows["op"].to_list()[-1] == "D"
    # Some moves of the first days never reached the loyalty system: stale addresses.
    changes = _customer_changes(follow_run).filter(
        pl.col("day") <= DAYS[2], pl.col("changed_columns").str.contains("addr_ln_1_txt")
    )
    followed = set(loyalty.filter(pl.col("changed_columns").str.contains("address1"))["lm_id"])
    missed = [c for c in changes["customer_id"] if f"LM{c}" not in followed]
    assert 0 < len(missed) < changes.height


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


def test_the_feeds_do_not_depend_on_batching(csv_run: Path, tmp_path: Path) -> None:
    days(tmp_path, "--format", "csv", "--out", "out", "--batch-size", "1000")
    for day in DAYS:
        for feed in ("customer_changes", "loyalty_changes", "pos_customer_changes", "truth"):
            a = (csv_run / feed / f"dt={day}" / "part-00000.csv").read_bytes()
            b = (tmp_path / "out" / feed / f"dt={day}" / "part-00000.csv").read_bytes()
            assert a == b, (feed, day)


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
    # The loyalty system's feed is MERGEd into its table the same way.
    loyalty = str(tmp_path / "lake" / "loyalty")
    followed = pl.read_delta(str(tmp_path / "lake" / "loyalty_changes"))
    assert followed.height and "MERGE" in [
        h["operation"] for h in deltalake.DeltaTable(loyalty).history()
    ]
    members = pl.read_delta(loyalty)
    last = followed.sort("dt").unique("lm_id", keep="last")
    assert not members["lm_id"].is_in(last.filter(pl.col("op") == "D")["lm_id"].implode()).any()
    updated = last.filter(pl.col("op") == "U").drop("op", "changed_columns", "change_ts", "dt")
    now = members.join(updated.select("lm_id"), on="lm_id", how="semi").sort("lm_id")
    assert now.select(updated.columns).equals(updated.sort("lm_id"))


def test_change_feed_settings_are_checked() -> None:
    with pytest.raises(ConfigError, match="changes = P"):
        Config(sources=(("customer_changes", True),))  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="'changes' is not available"):
        Config(changes=5, parts=2)
    with pytest.raises(ConfigError, match="reads the earlier days of a local or S3 output"):
        Config(changes=5, out="gs://bucket/lake")
    assert Config(changes=5, out="s3://bucket/lake", state_dir="/tmp/s").changes == 5
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
    assert ice.height < 3 * PER_DAY  # deletions happened
    assert ice.select(delta.columns).equals(delta)
    # The loyalty system's changes too (a MERGE keyed on lm_id).
    members = pl.DataFrame(catalog.load_table("vecgen.loyalty").scan().to_arrow()).sort("lm_id")
    delta_members = pl.read_delta(str(tmp_path / "delta" / "loyalty")).sort("lm_id")
    assert members.select(delta_members.columns).equals(delta_members)
    # History: the first snapshot still has everyone of the first day.
    first = pl.DataFrame(table.scan(snapshot_id=table.snapshots()[0].snapshot_id).to_arrow())
    assert first.height == PER_DAY
