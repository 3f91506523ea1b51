"""Shards: --parts N --part K are independent runs whose union is the single run."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from tests.conftest import run_cli, small_config
from vecgen.catalog import SWITCHABLE
from vecgen.config import Config
from vecgen.engine import run
from vecgen.errors import ConfigError


def day_file(root: Path, source: str, part: int, ext: str) -> Path:
    return root / source / "dt=2026-11-29" / f"part-{part:05d}.{ext}"


@pytest.mark.parametrize(
    ("customers", "parts", "profile"),
    [(6500, 4, "gensampledata"), (7000, 3, "hard"), (900, 2, "medium")],
)
def test_union_of_parts_equals_the_single_run(
    tmp_path: Path, customers: int, parts: int, profile: str
) -> None:
    fmts = ("csv", "parquet", "jsonl")
    run(
        small_config(
            tmp_path / "full",
            customers=customers,
            formats=fmts,
            batch_size=2000,
            fuzz_profile=profile,
        )
    )
    for k in range(parts):
        run(
            small_config(
                tmp_path / "parts",
                customers=customers,
                formats=fmts,
                parts=parts,
                part=k,
                batch_size=3000,
                fuzz_profile=profile,
            )
        )
    for source in SWITCHABLE:
        full_csv = day_file(tmp_path / "full", source, 0, "csv").read_bytes()
        pieces = [day_file(tmp_path / "parts", source, k, "csv").read_bytes() for k in range(parts)]
        header = pieces[0].split(b"\n", 1)[0]
        assert all(
            p.startswith(header + b"\n") for p in pieces
        )  # every part file is self-contained
        assert pieces[0] + b"".join(p.split(b"\n", 1)[1] for p in pieces[1:]) == full_csv, source
        full_json = day_file(tmp_path / "full", source, 0, "json").read_bytes()
        assert (
            b"".join(
                day_file(tmp_path / "parts", source, k, "json").read_bytes() for k in range(parts)
            )
            == full_json
        )
        tables = [
            pl.read_parquet(day_file(tmp_path / "parts", source, k, "parquet"))
            for k in range(parts)
        ]
        assert pl.concat(tables).equals(
            pl.read_parquet(day_file(tmp_path / "full", source, 0, "parquet"))
        )


def test_each_part_holds_only_its_own_customers_and_keys_resolve_across_parts(
    tmp_path: Path,
) -> None:
    for k in range(3):
        run(small_config(tmp_path, customers=5000, parts=3, part=k))
    ids = [pl.read_csv(day_file(tmp_path, "customers", k, "csv"))["customer_id"] for k in range(3)]
    assert all(len(i) > 0 for i in ids)
    everyone = pl.concat(ids)
    assert everyone.n_unique() == len(everyone)
    orders = pl.concat(
        [pl.read_csv(day_file(tmp_path, "transactions", k, "csv")) for k in range(3)]
    )
    assert orders["orderid"].n_unique() == orders.height
    assert orders["customer_id"].is_in(everyone.implode()).all()


def test_parts_from_the_command_line_name_their_files(tmp_path: Path) -> None:
    r = run_cli(
        "--customers",
        "3000",
        "--parts",
        "3",
        "--part",
        "2",
        "--date",
        "2026-11-29",
        "--quiet",
        cwd=tmp_path,
    )
    assert r.returncode == 0, r.stderr
    assert day_file(tmp_path / "output", "customers", 2, "csv").exists()
    assert not (tmp_path / ".vecgen").exists()  # shards keep no state
    flat = run_cli(
        "--customers",
        "3000",
        "--parts",
        "3",
        "--part",
        "1",
        "--layout",
        "flat",
        "--date",
        "2026-11-29",
        "--quiet",
        cwd=tmp_path,
    )
    assert (
        flat.returncode == 0
        and (tmp_path / "output" / "2026_11_29Customers-part-00001.csv").exists()
    )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"parts": 4, "part": 4}, "'part' must be below 'parts' \\(4\\), got 4"),
        ({"parts": 2, "state_dir": "/tmp/x"}, "'state' is not available"),
        ({"parts": 2, "state": True}, "'state' is not available"),
        ({"parts": 2, "tracer": True}, "'tracer' is not available"),
    ],
)
def test_part_settings_are_validated(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Config(**kwargs)  # type: ignore[arg-type]
