"""Delta Lake tables (--format delta): real readers, one commit per run, time travel, failures."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from tests.conftest import run_cli
from vecgen.config import Config
from vecgen.errors import ConfigError

deltalake = pytest.importorskip("deltalake", reason="deltalake is a test dependency")
pytest.importorskip("pyiceberg", reason="pyiceberg is a test dependency")

ARGS = ("--customers", "1500", "--batch-size", "500", "--quiet", "--seed", "4")


def run(cwd: Path, *args: str, env: dict[str, str] | None = None) -> int:
    r = run_cli(*ARGS, *args, cwd=cwd, env=env)
    assert "Traceback" not in r.stderr and "internal error" not in r.stderr, r.stderr
    return r.returncode


def version(table: Path) -> int:
    return int(deltalake.DeltaTable(str(table)).version())


def iceberg(table: Path):  # type: ignore[no-untyped-def]
    from pyiceberg.catalog.sql import SqlCatalog

    root = table.parent
    catalog = SqlCatalog(
        "vecgen", uri=f"sqlite:///{root}/_iceberg/catalog.db", warehouse=f"file://{root}"
    )
    return catalog.load_table(f"vecgen.{table.name}")


def test_a_delta_table_per_source_holds_the_parquet_runs_bytes(tmp_path: Path) -> None:
    assert run(tmp_path, "--format", "delta", "--date", "2026-01-15", "--out", "lake") == 0
    assert run(tmp_path, "--format", "parquet", "--date", "2026-01-15", "--out", "plain") == 0
    for source in ("customers", "transactions", "truth", "wifi"):
        table = tmp_path / "lake" / source
        (data,) = (table / "dt=2026-01-15").glob("part-00000-*.parquet")
        plain = tmp_path / "plain" / source / "dt=2026-01-15" / "part-00000.parquet"
        assert data.read_bytes() == plain.read_bytes(), source  # the same Parquet, committed
        t = deltalake.DeltaTable(str(table))
        assert t.version() == 0 and t.metadata().partition_columns == ["dt"]
        info = t.history()[0]
        assert info["vecgen.seed"] == "4" and info["vecgen.date"] == "2026-01-15"
        read = pl.read_delta(str(table))
        assert read["dt"].unique().to_list() == ["2026-01-15"]
        assert read.drop("dt").equals(pl.read_parquet(plain))


def test_runs_commit_days_truncate_replaces_today_and_time_travel_reads_before(
    tmp_path: Path,
) -> None:
    table = tmp_path / "lake" / "customers"
    assert run(tmp_path, "--format", "delta", "--date", "2026-01-15", "--out", "lake") == 0
    assert run(tmp_path, "--format", "delta", "--date", "2026-01-16", "--out", "lake") == 0
    assert version(table) == 1
    before = pl.read_delta(str(table)).sort("customer_id")

    # load_type new (the default) refuses today's partition again, and commits nothing.
    r = run_cli(*ARGS, "--format", "delta", "--date", "2026-01-16", "--out", "lake", cwd=tmp_path)
    assert r.returncode != 0 and "already holds" in r.stderr and "--load-type truncate" in r.stderr
    assert version(table) == 1

    args = ("--format", "delta", "--date", "2026-01-16", "--out", "lake", "--seed", "9")
    assert run(tmp_path, *args, "--load-type", "truncate") == 0
    assert version(table) == 2
    now = pl.read_delta(str(table))
    assert now.group_by("dt").len().sort("dt")["len"].to_list() == [1725, 1725]
    assert (
        now.filter(pl.col("dt") == "2026-01-15")
        .sort("customer_id")
        .equals(before.filter(pl.col("dt") == "2026-01-15"))
    )
    assert (
        not now.filter(pl.col("dt") == "2026-01-16")
        .sort("customer_id")
        .equals(before.filter(pl.col("dt") == "2026-01-16"))
    )
    # Time travel: version 1 is the table before the truncate, untouched.
    assert pl.read_delta(str(table), version=1).sort("customer_id").equals(before)
    # vecgen's own readers see the current version only (the replaced file is still on disk).
    files = list((table / "dt=2026-01-16").glob("*.parquet"))
    assert len(files) == 2
    r = run_cli("fuzz-stats", "lake", "--date", "all", cwd=tmp_path)
    assert r.returncode == 0 and "of 3,450 records" in r.stdout, r.stdout + r.stderr


def test_a_failed_run_commits_nothing(tmp_path: Path) -> None:
    table = tmp_path / "lake" / "customers"
    assert run(tmp_path, "--format", "delta", "--date", "2026-01-15", "--out", "lake") == 0
    before = pl.read_delta(str(table))
    armed = {"VECGEN_TEST_FAULTS": "1", "VECGEN_FAULT": "sink.write:7:KILL"}
    args = ("--format", "delta", "--date", "2026-01-16", "--out", "lake")
    assert run(tmp_path, *args, env=armed) == -9
    assert version(table) == 0 and pl.read_delta(str(table)).equals(before)
    # Killed after the first table's commit: the others keep their version; a rerun of
    # the day with truncate completes them.
    armed = {"VECGEN_TEST_FAULTS": "1", "VECGEN_FAULT": "table.committed:1:KILL"}
    assert run(tmp_path, *args, env=armed) == -9
    assert (
        sorted(
            version(t)
            for t in (tmp_path / "lake").iterdir()
            if t.is_dir() and (t / "_delta_log").is_dir()
        ).count(1)
        == 1
    )
    assert run(tmp_path, *args, "--load-type", "truncate") == 0
    assert version(table) in (1, 2)
    assert pl.read_delta(str(table)).group_by("dt").len()["len"].to_list() == [1725, 1725]


def test_an_iceberg_table_per_source_with_the_parquet_runs_rows(tmp_path: Path) -> None:
    assert run(tmp_path, "--format", "iceberg", "--date", "2026-01-15", "--out", "lake") == 0
    assert run(tmp_path, "--format", "iceberg", "--date", "2026-01-16", "--out", "lake") == 0
    assert run(tmp_path, "--format", "parquet", "--date", "2026-01-16", "--out", "plain") == 0
    for source in ("customers", "transactions", "truth"):
        table = iceberg(tmp_path / "lake" / source)
        assert [f.name for f in table.spec().fields] == ["dt"]
        assert table.properties["vecgen.seed"] == "4"
        read = pl.DataFrame(table.scan(row_filter="dt == '2026-01-16'").to_arrow())
        plain = pl.read_parquet(
            tmp_path / "plain" / source / "dt=2026-01-16" / "part-00000.parquet"
        )
        assert read.drop("dt").equals(plain), source
        assert pl.DataFrame(table.scan().to_arrow())["dt"].unique().sort().to_list() == [
            "2026-01-15",
            "2026-01-16",
        ]
    table = tmp_path / "lake" / "customers"
    first = iceberg(table).current_snapshot().snapshot_id
    r = run_cli(*ARGS, "--format", "iceberg", "--date", "2026-01-16", "--out", "lake", cwd=tmp_path)
    assert r.returncode != 0 and "already holds" in r.stderr
    assert iceberg(table).current_snapshot().snapshot_id == first
    args = ("--format", "iceberg", "--date", "2026-01-16", "--out", "lake", "--seed", "9")
    assert run(tmp_path, *args, "--load-type", "truncate") == 0
    now = pl.DataFrame(iceberg(table).scan().to_arrow())
    assert now.group_by("dt").len().sort("dt")["len"].to_list() == [1725, 1725]
    before = pl.DataFrame(iceberg(table).scan(snapshot_id=first).to_arrow())  # time travel
    assert not before.sort("customer_id").equals(now.sort("customer_id"))
    assert (
        before.filter(pl.col("dt") == "2026-01-15")
        .sort("customer_id")
        .equals(now.filter(pl.col("dt") == "2026-01-15").sort("customer_id"))
    )
    # A killed run commits nothing; vecgen's readers see the current snapshot only.
    armed = {"VECGEN_TEST_FAULTS": "1", "VECGEN_FAULT": "sink.write:5:KILL"}
    assert run(tmp_path, *args, "--date", "2026-01-17", env=armed) == -9
    assert pl.DataFrame(iceberg(table).scan().to_arrow()).height == now.height
    r = run_cli("fuzz-stats", "lake", "--date", "all", cwd=tmp_path)
    assert r.returncode == 0 and "of 3,450 records" in r.stdout, r.stdout + r.stderr


@pytest.mark.parametrize(
    ("settings", "needle"),
    [
        ({"formats": ("delta", "parquet")}, "--format parquet"),
        ({"formats": ("iceberg", "delta")}, "--format delta"),
        ({"formats": ("delta",), "layout": "flat"}, "--layout flat"),
        ({"formats": ("delta",), "parts": 2}, "parts = 2"),
        ({"formats": ("iceberg",), "out": "s3://bucket/lake"}, "local --out"),
        ({"formats": ("delta",), "out": "memory://lake"}, "s3://bucket/prefix"),
    ],
)
def test_delta_settings_that_cannot_work_are_refused_up_front(
    settings: dict[str, object], needle: str
) -> None:
    with pytest.raises(ConfigError, match=r"--format (delta|iceberg) cannot be combined") as err:
        Config(**settings)  # type: ignore[arg-type]
    assert needle in str(err.value)


@pytest.mark.parametrize("fmt", ["delta", "iceberg"])
def test_two_runs_racing_into_one_table_one_wins_the_other_commits_nothing(
    tmp_path: Path, fmt: str
) -> None:
    import os
    import subprocess
    import sys
    import time

    assert run(tmp_path, "--format", fmt, "--date", "2026-01-15", "--out", "lake") == 0
    env = {k: v for k, v in os.environ.items() if not k.startswith("VECGEN_")}
    base = [sys.executable, "-m", "vecgen", "--quiet", "--format", fmt, "--date", "2026-01-16"]
    base += ["--out", "lake", "--load-type", "truncate"]

    def start(seed: int, customers: int) -> subprocess.Popen[str]:
        args = [*base, "--seed", str(seed), "--customers", str(customers)]
        return subprocess.Popen(
            args, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )

    # The slow run reads the tables' versions, then writes for a while; the quick one
    # starts once the slow one's files exist, reads the same versions and commits first.
    slow = start(11, 300_000)
    folder = tmp_path / "lake" / "customers" / "dt=2026-01-16"
    deadline = time.monotonic() + 120
    while not (folder.is_dir() and any("vecgen-tmp" in p.name for p in folder.iterdir())):
        assert time.monotonic() < deadline and slow.poll() is None, slow.communicate()
        time.sleep(0.05)
    quick = start(12, 1500)
    assert quick.wait(timeout=300) == 0, quick.communicate()
    assert slow.wait(timeout=300) == 1
    error = slow.communicate()[1]
    assert "by another run while this one was writing" in error and "Traceback" not in error
    assert error.count("\n") == 1, error
    # Every table holds the winner's day: one seed throughout, never a mix.
    for source in ("customers", "truth", "wifi", "transactions"):
        table = tmp_path / "lake" / source
        if fmt == "delta":
            seed = deltalake.DeltaTable(str(table)).history()[0]["vecgen.seed"]
        else:
            seed = iceberg(table).properties["vecgen.seed"]
        assert seed == "12", source


def test_a_commit_against_an_older_version_fails_and_changes_nothing(tmp_path: Path) -> None:
    from vecgen.errors import OutputError
    from vecgen.output import tables

    assert run(tmp_path, "--format", "delta", "--date", "2026-01-15", "--out", "lake") == 0
    folder = str(tmp_path / "lake" / "customers")
    (data,) = (tmp_path / "lake" / "customers" / "dt=2026-01-15").glob("*.parquet")
    with pytest.raises(OutputError, match="changed by another run"):
        tables.commit("delta", folder, [(str(data), 1725)], "2026-01-16", "new", {}, expected="-1")
    with pytest.raises(OutputError, match="created by another run"):
        tables.commit("delta", folder, [(str(data), 1725)], "2026-01-16", "new", {}, expected=None)
    assert version(tmp_path / "lake" / "customers") == 0
