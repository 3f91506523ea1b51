"""The Python API, the test fixture, and the JSON Schema of vecgen.toml."""

from __future__ import annotations

import datetime as dt
import json
import tomllib
from pathlib import Path

import jsonschema
import polars as pl
import pytest

import vecgen
from tests.conftest import run_cli
from vecgen.catalog import SWITCHABLE
from vecgen.config import SETTINGS
from vecgen.config_schema import json_schema


def test_generate_returns_what_the_command_writes(tmp_path: Path) -> None:
    r = run_cli(
        "--customers",
        "1500",
        "--seed",
        "4",
        "--date",
        "2026-11-29",
        "--format",
        "parquet",
        "--fuzz-profile",
        "medium",
        "--no-state",
        "--quiet",
        cwd=tmp_path,
    )
    assert r.returncode == 0, r.stderr
    frames = vecgen.generate(
        customers=1500, seed=4, date=dt.date(2026, 11, 29), fuzz_profile="medium"
    )
    assert sorted(frames) == sorted(SWITCHABLE)
    for source, frame in frames.items():
        written = pl.read_parquet(
            tmp_path / "output" / source / "dt=2026-11-29" / "part-00000.parquet"
        )
        assert frame.equals(written), source


def test_generate_keeps_no_state_and_validates(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    vecgen.generate(customers=10, date=dt.date(2026, 1, 1))
    assert not (tmp_path / ".vecgen").exists() and not (tmp_path / "output").exists()
    with pytest.raises(vecgen.ConfigError, match="'customers' must be an integer"):
        vecgen.generate(customers=-1)


def test_the_fixture_gives_a_seeded_landscape(vecgen_landscape: dict[str, pl.DataFrame]) -> None:
    assert vecgen_landscape["customers"].height == 575
    from vecgen.testing import landscape

    assert landscape() is vecgen_landscape  # cached: one generation per settings


def test_schema_covers_every_setting_and_validates_configs(tmp_path: Path) -> None:
    schema = json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    for s in SETTINGS:
        assert s.name in schema["properties"]
    good = tomllib.loads(
        'customers = 10\nformats = ["csv", "parquet"]\nfuzz_profile = "febrl"\ndate = "2026-01-02"\n'
        '[sources]\ntruth = false\n[fuzz]\ncluster_size = "zipf:2"\n[fuzz.fields.state]\nrate = 10\n'
    )
    jsonschema.validate({**good, "date": "2026-01-02"}, schema)
    for bad in (
        {"customers": -5},
        {"dupe_rat": 3},
        {"sources": {"transaction": False}},
        {"formats": ["xml"]},
    ):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(bad, schema)
    r = run_cli("schema", cwd=tmp_path)
    assert r.returncode == 0 and json.loads(r.stdout) == schema
