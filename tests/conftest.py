"""Shared helpers: small seeded runs and a CLI runner."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from vecgen.config import Config
from vecgen.engine import RunResult, run

DATE = dt.date(2026, 11, 29)


def small_config(out: Path, **kw: Any) -> Config:
    """A small, fully pinned config (seed and date fixed)."""
    base: dict[str, Any] = {
        "customers": 3000,
        "seed": 11,
        "date": DATE,
        "out": str(out),
        "quiet": True,
    }
    base.update(kw)
    return Config(**base)


def read_source(result: RunResult, source: str, fmt: str = "csv") -> pl.DataFrame:
    """Read one written file back, every column as text (as a loader would see it)."""
    path = next(f.path for f in result.files if f.source == source and f.fmt == fmt)
    if fmt == "csv":
        return pl.read_csv(path, infer_schema=False)
    if fmt == "parquet":
        return pl.read_parquet(path)
    return pl.read_ndjson(path)


# The output's lock (an empty file every run into a local output takes) and its holder's pid.
LOCK_FILES = frozenset({"_vecgen/lock", "_vecgen/lock.pid"})


def tree_bytes(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` (relative path -> bytes), the output's lock files aside."""
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and str(p.relative_to(root)) not in LOCK_FILES
    }


def run_cli(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m vecgen`` in ``cwd`` and capture its output."""
    import os

    full_env = {k: v for k, v in os.environ.items() if not k.startswith("VECGEN_")}
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "vecgen", *args],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture(scope="session")
def landscape(tmp_path_factory: pytest.TempPathFactory) -> RunResult:
    """One small run shared by read-only tests (CSV and Parquet)."""
    out = tmp_path_factory.mktemp("landscape")
    return run(small_config(out, formats=("csv", "parquet"), batch_size=700))
