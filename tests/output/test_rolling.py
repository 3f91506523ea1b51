"""Large Parquet files roll on to the next piece (``parquet_file_rows``): memory stays flat.

A writer keeps every row group's metadata until its file closes; a lake file
that reaches ``parquet_file_rows`` rows closes and the next rows go to
``part-NNNNN_00001.parquet`` and on. The pieces together hold what one file
would, whatever the batching, and every command reads them.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq
import pytest

from tests.conftest import run_cli

DAY = "2026-01-15"
# Row groups of 1,000 rows, files of 3,000: truth (~44,000 rows) rolls into 15 pieces.
SMALL = ("--parquet-row-group-rows", "1000", "--parquet-file-rows", "3000")
ARGS = ("--customers", "5000", "--seed", "3", "--date", DAY, "--quiet")


def run(cwd: Path, *args: str, env: dict[str, str] | None = None, state: bool = False) -> None:
    r = run_cli(*ARGS, *args, *(("--state",) if state else ("--no-state",)), cwd=cwd, env=env)
    assert r.returncode == 0 and "Traceback" not in r.stderr, r.stderr


def day_files(root: Path, source: str) -> list[Path]:
    return sorted((root / source / f"dt={DAY}").glob("part-*.parquet"))


def read(files: list[Path]) -> pl.DataFrame:
    return pl.concat([pl.read_parquet(f) for f in files])


def test_a_large_file_rolls_into_pieces_that_hold_what_one_file_would(tmp_path: Path) -> None:
    run(tmp_path, "--format", "parquet", "--out", "rolled", *SMALL)
    run(tmp_path, "--format", "parquet", "--out", "one", *SMALL[:2], "--parquet-file-rows", "0")
    for source in ("truth", "customers", "transactions"):
        pieces = day_files(tmp_path / "rolled", source)
        assert [p.name for p in pieces[:2]] == ["part-00000.parquet", "part-00000_00001.parquet"]
        rows = [pq.ParquetFile(p).metadata.num_rows for p in pieces]
        assert all(r == 3000 for r in rows[:-1]) and 0 < rows[-1] <= 3000, (source, rows)
        (one,) = day_files(tmp_path / "one", source)
        assert read(pieces).equals(pl.read_parquet(one)), source
    assert len(day_files(tmp_path / "rolled", "truth")) == 15


def test_the_pieces_do_not_depend_on_batches_or_workers(tmp_path: Path) -> None:
    run(tmp_path, "--format", "parquet", "--out", "a", *SMALL)
    run(tmp_path, "--format", "parquet", "--out", "b", *SMALL, "--batch-size", "777")
    run(tmp_path, "--format", "parquet", "--out", "c", *SMALL, "--workers", "2")
    for source in ("truth", "clickstream"):
        a = [p.read_bytes() for p in day_files(tmp_path / "a", source)]
        assert len(a) > 1
        assert a == [p.read_bytes() for p in day_files(tmp_path / "b", source)], source
        assert a == [p.read_bytes() for p in day_files(tmp_path / "c", source)], source


def test_flat_files_and_text_formats_never_roll(tmp_path: Path) -> None:
    run(tmp_path, "--format", "parquet", "--layout", "flat", "--out", "flat", *SMALL)
    assert sorted(p.name for p in (tmp_path / "flat").glob("*Truth*")) == [
        "2026_01_15Truth.parquet"
    ]
    run(tmp_path, "--format", "csv", "--out", "csv", *SMALL)
    assert [p.name for p in (tmp_path / "csv" / "truth" / f"dt={DAY}").iterdir()] == [
        "part-00000.csv"
    ]


def test_truncate_removes_the_pieces_of_the_run_before(tmp_path: Path) -> None:
    lake = ("--format", "parquet", "--out", "lake")
    run(tmp_path, *lake, *SMALL, state=True)
    assert len(day_files(tmp_path / "lake", "truth")) == 15
    # Again with larger files: fewer pieces; none of the first run's are left.
    larger = (*SMALL[:2], "--parquet-file-rows", "20000")
    run(tmp_path, *lake, *larger, "--load-type", "truncate", state=True)
    names = [p.name for p in day_files(tmp_path / "lake", "truth")]
    assert names == ["part-00000.parquet", "part-00000_00001.parquet", "part-00000_00002.parquet"]
    # Append adds the next part, after every piece.
    run(tmp_path, *lake, *SMALL, "--load-type", "append", state=True)
    assert day_files(tmp_path / "lake", "truth")[3].name == "part-00001.parquet"


def test_a_shard_replaces_only_its_own_pieces(tmp_path: Path) -> None:
    shard = ("--format", "parquet", "--out", "lake", "--parts", "2")
    run(tmp_path, *shard, "--part", "0", *SMALL)
    run(tmp_path, *shard, "--part", "1", *SMALL)
    before = {p.name for p in day_files(tmp_path / "lake", "truth")}
    assert {"part-00000_00003.parquet", "part-00001_00003.parquet"} <= before
    big = (*SMALL[:2], "--parquet-file-rows", "10000", "--load-type", "truncate")
    run(tmp_path, *shard, "--part", "0", *big)
    after = {p.name for p in day_files(tmp_path / "lake", "truth")}
    mine = sorted(n for n in after if n.startswith("part-00000"))
    assert 1 < len(mine) < len([n for n in before if n.startswith("part-00000")])
    assert mine == ["part-00000.parquet"] + [
        f"part-00000_{k:05d}.parquet" for k in range(1, len(mine))
    ]
    assert {n for n in after if n.startswith("part-00001")} == {
        n for n in before if n.startswith("part-00001")
    }


@pytest.mark.parametrize("fmt", ["delta", "iceberg"])
def test_tables_commit_every_piece_and_merge_a_rolled_feed(tmp_path: Path, fmt: str) -> None:
    from tests.output.test_tables import iceberg

    for day in (DAY, "2026-01-16"):
        for out, extra in (("rolled", ("--parquet-file-rows", "2000")), ("one", ())):
            r = run_cli(
                "--customers", "3000", "--seed", "3", "--date", day, "--changes", "20",
                "--format", fmt, "--out", out, "--quiet",
                "--parquet-row-group-rows", "1000", *extra, cwd=tmp_path,
            )  # fmt: skip
            assert r.returncode == 0, r.stderr
    assert len(list((tmp_path / "rolled" / "truth" / "dt=2026-01-16").glob("*.parquet"))) > 1

    def table(out: str, source: str) -> pl.DataFrame:
        if fmt == "delta":
            return pl.read_delta(str(tmp_path / out / source))
        frame = pl.DataFrame(iceberg(tmp_path / out / source).scan().to_arrow())
        assert isinstance(frame, pl.DataFrame)
        return frame

    for source in ("truth", "customers", "customer_changes"):
        rolled, one = table("rolled", source), table("one", source)
        key = rolled.columns
        assert rolled.height == one.height and rolled.height > 0, source
        assert rolled.sort(key, nulls_last=True).equals(one.sort(key, nulls_last=True)), source


def test_a_failed_run_leaves_no_piece_behind(tmp_path: Path) -> None:
    env = {"VECGEN_TEST_FAULTS": "1", "VECGEN_FAULT": "outputs.finished:1:TERM"}
    r = run_cli(*ARGS, "--format", "parquet", "--out", "lake", *SMALL, cwd=tmp_path, env=env)
    assert r.returncode == 128 + signal.SIGTERM, r.stderr
    left = [name for _, _, names in os.walk(tmp_path / "lake") for name in names]
    assert left == [], left
