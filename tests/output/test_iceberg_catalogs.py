"""Iceberg tables in a configured catalog: a REST catalog (a real protocol server) or a SQL one."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from tests.conftest import run_cli
from tests.servers import iceberg_rest_server
from vecgen.config import Config
from vecgen.errors import ConfigError

DAYS = ("2026-01-15", "2026-01-16")
ARGS = ("--customers", "1500", "--format", "iceberg", "--quiet", "--changes", "5", "--state")


def _days(cwd: Path, out: str, *extra: str) -> None:
    for day in DAYS:
        r = run_cli(*ARGS, "--date", day, "--out", out, *extra, cwd=cwd)
        assert r.returncode == 0 and "Traceback" not in r.stderr, r.stderr


def _tables(catalog: object) -> dict[str, pl.DataFrame]:
    return {
        name: pl.DataFrame(catalog.load_table(f"vecgen.{name}").scan().to_arrow())  # type: ignore[attr-defined]
        .drop("dt")
        .sort(pl.all())
        for name in ("customers", "loyalty", "customer_changes", "truth")
    }


def test_a_rest_catalog_holds_the_same_tables_as_the_default_one(tmp_path: Path) -> None:
    pytest.importorskip("pyiceberg", reason="pyiceberg is a test dependency")
    from pyiceberg.catalog.rest import RestCatalog
    from pyiceberg.catalog.sql import SqlCatalog

    _days(tmp_path, "default")
    with iceberg_rest_server(f"sqlite:///{tmp_path}/rest.db", f"file://{tmp_path}/wh") as uri:
        _days(tmp_path, "rest", "--iceberg-catalog", uri)
        rest = _tables(RestCatalog("check", uri=uri))
        # Readers given only the output find the catalog it recorded.
        r = run_cli("population-stats", "rest", "--json", cwd=tmp_path)
        assert r.returncode == 0 and '"households"' in r.stdout, r.stderr
        # The output's tables live in that catalog: another one (or none) is refused.
        r = run_cli(*ARGS, "--date", "2026-01-17", "--out", "rest", cwd=tmp_path)
        assert r.returncode != 0 and "live in the catalog http://127.0.0.1" in r.stderr
        assert r.stderr.count("\n") == 1 and "Traceback" not in r.stderr
    assert not (tmp_path / "default" / "_iceberg" / "catalog.json").exists()
    root = tmp_path / "default"
    default = _tables(
        SqlCatalog(
            "vecgen", uri=f"sqlite:///{root}/_iceberg/catalog.db", warehouse=f"file://{root}"
        )
    )
    for name, frame in default.items():
        assert rest[name].equals(frame), name
    assert (tmp_path / "rest" / "_iceberg" / "catalog.json").read_text().strip() == (
        f'{{"uri": "{uri}"}}'
    )


def test_a_rest_catalog_token_comes_from_pyicebergs_configuration(tmp_path: Path) -> None:
    pytest.importorskip("pyiceberg", reason="pyiceberg is a test dependency")
    seen: list[str] = []
    token = "vecgen-canary-token-1234"
    with iceberg_rest_server(
        f"sqlite:///{tmp_path}/rest.db", f"file://{tmp_path}/wh", None, seen
    ) as uri:
        r = run_cli(
            "--customers", "1000", "--format", "iceberg", "--quiet", "--date", DAYS[0],
            "--out", "lake", "--iceberg-catalog", uri, cwd=tmp_path,
            env={"PYICEBERG_CATALOG__VECGEN__TOKEN": token},
        )  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert seen and all(h == f"Bearer {token}" for h in seen)
    assert token not in r.stdout + r.stderr
    assert token not in (tmp_path / "lake" / "_iceberg" / "catalog.json").read_text()


def test_a_sql_catalog_outside_the_output(tmp_path: Path) -> None:
    pytest.importorskip("pyiceberg", reason="pyiceberg is a test dependency")
    from pyiceberg.catalog.sql import SqlCatalog

    uri = f"sqlite:///{tmp_path}/shared.db"
    _days(tmp_path, "lake", "--iceberg-catalog", uri)
    assert not (tmp_path / "lake" / "_iceberg" / "catalog.db").exists()
    table = SqlCatalog("vecgen", uri=uri).load_table("vecgen.customers")
    assert len(table.snapshots()) >= 3  # two days' appends and a MERGE of the changes
    r = run_cli("fuzz-stats", "lake", "--json", cwd=tmp_path)
    assert r.returncode == 0, r.stderr


def test_a_catalog_uri_is_checked_and_never_holds_a_password() -> None:
    with pytest.raises(ConfigError, match="must be a URI"):
        Config(iceberg_catalog="catalog.db")
    with pytest.raises(ConfigError, match="holds a password") as caught:
        Config(iceberg_catalog="postgresql://me:s3cret@db:5432/lake")
    assert "s3cret" not in str(caught.value) and "postgresql://me@db:5432/lake" in str(caught.value)
    assert Config(iceberg_catalog="https://catalog.example:8181/api").iceberg_catalog
    # In a bucket the default catalog (a SQLite file in the output) cannot be: name one.
    with pytest.raises(ConfigError, match="without a catalog"):
        Config(formats=("iceberg",), out="s3://bucket/lake")
    assert Config(formats=("iceberg",), out="s3://bucket/lake", iceberg_catalog="http://h:1")
