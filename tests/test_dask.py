"""The Dask engine on a 2-worker LocalCluster: the same files as ``--parts``, lazily readable."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import distributed
import polars as pl
import pytest

from tests.conftest import DATE, run_cli, small_config, tree_bytes
from vecgen.config import Config
from vecgen.engine import generate_frames
from vecgen.errors import ConfigError

FORMATS = ("csv", "parquet", "jsonl")


@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    with distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
    ) as c:
        yield c


@pytest.fixture(scope="module")
def client(cluster: Any) -> Iterator[Any]:
    with distributed.Client(cluster) as c:
        yield c


def test_the_dask_engine_writes_the_files_of_every_part(tmp_path: Path, client: Any) -> None:
    import vecgen.dask_engine

    args = ("--customers", "9000", "--batch-size", "1000", "--formats", ",".join(FORMATS),
            "--fuzz-profile", "hard")  # fmt: skip
    for k in range(4):
        r = run_cli(*args, "--parts", "4", "--part", str(k), "--date", "2026-11-29",
                    "--out", "parts", "--quiet", cwd=tmp_path)  # fmt: skip
        assert r.returncode == 0, r.stderr
    config = small_config(
        tmp_path / "dask",
        customers=9000,
        batch_size=1000,
        formats=FORMATS,
        seed=0,
        fuzz_profile="hard",
    )
    totals = vecgen.dask_engine.generate(config, client, parts=4)
    parts = tree_bytes(tmp_path / "parts")
    assert len(parts) == 13 * 3 * 4
    assert tree_bytes(tmp_path / "dask") == parts
    single = generate_frames(config)
    assert totals == {name: frame.height for name, frame in single.items()}


def test_read_gives_the_single_run_lazily(client: Any) -> None:
    import vecgen.dask_engine

    config = Config(customers=5000, seed=4, date=DATE, batch_size=1000)
    lazy = vecgen.dask_engine.read(config, "transactions", parts=3)
    assert lazy.npartitions == 3
    got = pl.from_pandas(lazy.compute().reset_index(drop=True))
    want = generate_frames(config)["transactions"]
    assert got.height == want.height
    assert got.equals(want.select(got.columns).cast(dict(got.schema)))  # type: ignore[arg-type]


def test_the_cli_runs_on_a_scheduler_and_refuses_a_run_without_parts(
    tmp_path: Path, cluster: Any
) -> None:
    common = ("--customers", "4000", "--batch-size", "1000", "--date", "2026-11-29", "--quiet")
    dask = ("--engine", "dask", "--scheduler", cluster.scheduler_address)
    r = run_cli(*common, *dask, "--parts", "2", "--out", "d", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    for k in range(2):
        r = run_cli(*common, "--parts", "2", "--part", str(k), "--out", "p", cwd=tmp_path)
        assert r.returncode == 0, r.stderr
    assert tree_bytes(tmp_path / "d") == tree_bytes(tmp_path / "p")

    r = run_cli(*common, *dask, "--out", "none", cwd=tmp_path)
    assert r.returncode == 2 and "set parts (--parts N" in r.stderr, r.stderr
    assert "Traceback" not in r.stderr and not (tmp_path / "none").exists()


def test_an_unreachable_scheduler_is_one_line(tmp_path: Path) -> None:
    from tests.servers import free_port

    args = ("--customers", "100", "--parts", "2", "--engine", "dask", "--out", "o")
    r = run_cli(*args, "--scheduler", f"tcp://127.0.0.1:{free_port()}", cwd=tmp_path)
    assert r.returncode == 2 and "cannot reach the Dask scheduler" in r.stderr, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_unknown_or_disabled_sources_are_refused() -> None:
    import vecgen.dask_engine

    with pytest.raises(ConfigError, match="unknown source 'tickets'"):
        vecgen.dask_engine.read(Config(parts=2), "tickets")
    with pytest.raises(ConfigError, match="switched off"):
        vecgen.dask_engine.read(Config(parts=2, sources=(("wifi", False),)), "wifi")
