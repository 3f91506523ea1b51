"""Duplicate realism: preset calibration, clusters, copies of copies, look-alikes, [fuzz] tables."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from tests.conftest import run_cli, small_config
from vecgen.catalog import SWITCHABLE
from vecgen.config import Config, load_config
from vecgen.engine import run
from vecgen.errors import ConfigError
from vecgen.stats import fuzz_stats

CORE = ("customers", "transactions", "truth")
# Only customers and their truth: every other source off.
OFF = tuple((s, False) for s in SWITCHABLE if s not in ("customers", "truth"))


def stats_for(tmp_path: Path, customers: int = 20_000, **kw: Any) -> dict[str, Any]:
    run(small_config(tmp_path, customers=customers, sources=OFF, **kw))
    return fuzz_stats(str(tmp_path))


def test_gensampledata_matches_the_predecessors_measured_rates(tmp_path: Path) -> None:
    s = stats_for(tmp_path, fuzz_profile="gensampledata")
    measured = {  # realism-targets.md: the predecessor's own kernels
        "name_first": 58.0,
        "name_last": 94.6,
        "gender": 28.7,
        "email": 79.0,
        "city": 86.8,
        "state": 79.8,
        "postal_code": 89.4,
        "birth_dt": 78.8,
        "phone": 51.8,
    }
    for field, target in measured.items():
        assert s["field_change_percent"][field] == pytest.approx(target, abs=3), field
    assert s["mean_fields_changed_address_as_one"] == pytest.approx(7.27, abs=0.3)
    for never in ("name_prefix", "account_status", "employment", "job_title"):
        assert s["field_change_percent"][never] == 0
    assert s["unchanged_duplicates"] == 0
    assert s["cluster_sizes"] == {1: 3000}  # the predecessor made pairs only


def test_febrl_matches_the_febrl_targets(tmp_path: Path) -> None:
    s = stats_for(tmp_path, fuzz_profile="febrl")
    targets = {
        "name_first": 32.2,
        "name_last": 32.6,
        "addr_number": 15.5,
        "addr_street": 38.3,
        "city": 24.5,
        "postal_code": 15.6,
        "state": 4.9,
        "birth_dt": 8.9,
    }
    for field, target in targets.items():
        assert s["field_change_percent"][field] == pytest.approx(target, abs=5), field
    hist = s["fields_changed_histogram"]
    assert 0 not in hist and s["unchanged_duplicates"] == 0
    expected = {1: 29.8, 2: 33.8, 3: 23.1, 4: 9.6}
    for k, target in expected.items():
        assert hist.get(k, 0) == pytest.approx(target, abs=5), k
    assert sum(v for k, v in hist.items() if k >= 5) == pytest.approx(3.7, abs=5)


def test_difficulty_dial_orders_the_presets(tmp_path: Path) -> None:
    means = {
        p: stats_for(tmp_path / p, 5000, fuzz_profile=p)["mean_fields_changed"]
        for p in ("easy", "medium", "hard")
    }
    assert means["easy"] < means["medium"] < means["hard"]
    assert means["easy"] == pytest.approx(1.35, abs=0.25)


@pytest.mark.parametrize(
    ("spec", "max_size", "mean"),
    [("fixed:3", 3, 3.0), ("uniform:4", 4, 2.5), ("poisson:2", 10, 2.0), ("zipf:2", 10, 1.9)],
)
def test_cluster_sizes_follow_the_distribution_and_keep_the_rate(
    tmp_path: Path, spec: str, max_size: int, mean: float
) -> None:
    s = stats_for(tmp_path, 20_000, fuzz_profile="febrl", fuzz={"cluster_size": spec})
    sizes = s["cluster_sizes"]
    assert s["duplicates"] == 3000  # the dupe rate holds whatever the cluster sizes
    assert max(sizes) <= max_size
    people = sum(sizes.values())
    assert sum(k * v for k, v in sizes.items()) == 3000
    assert 3000 / people == pytest.approx(mean, rel=0.15)


def test_copies_of_copies_are_recorded(tmp_path: Path) -> None:
    result = run(small_config(tmp_path, customers=10_000, sources=OFF, fuzz_profile="hard"))
    truth = (
        pl.read_parquet(result.files[-1].path)
        if result.files[-1].fmt == "parquet"
        else pl.read_csv(
            next(f.path for f in result.files if f.source == "truth"), infer_schema=False
        )
    )
    dupes = truth.filter((pl.col("source") == "customers") & (pl.col("is_duplicate") == "true"))
    chained = dupes.filter(pl.col("duplicate_of") != pl.col("entity_id"))
    assert chained.height > 100
    # A copy of a copy names a duplicate of the same person as its source.
    parents = dupes.select("record_id", pl.col("entity_id").alias("parent_entity"))
    joined = chained.join(parents, left_on="duplicate_of", right_on="record_id")
    assert joined.height == chained.height
    assert (joined["entity_id"] == joined["parent_entity"]).all()


def clean_customers(result: Any) -> pl.DataFrame:
    customers = pl.read_csv(
        next(f.path for f in result.files if f.source == "customers"), infer_schema=False
    )
    truth = pl.read_csv(
        next(f.path for f in result.files if f.source == "truth"), infer_schema=False
    )
    clean = truth.filter(pl.col("is_duplicate") == "false")
    return customers.join(
        clean.select(pl.col("record_id").alias("customer_id"), "entity_id"), on="customer_id"
    )


def test_hard_adds_lookalikes_labelled_as_different_people(tmp_path: Path) -> None:
    hard = clean_customers(
        run(small_config(tmp_path, customers=10_000, sources=OFF, fuzz_profile="hard"))
    )
    # Different entities (clean records) sharing an e-mail, a phone or a full name.
    for columns in (["email"], ["phone"], ["name_first", "name_last"]):
        shared = hard.group_by(columns).agg(pl.col("entity_id").n_unique().alias("people"))
        assert shared.filter(pl.col("people") > 1).height > 10, columns
    # The same population without look-alikes (households still share landlines).
    alone = clean_customers(
        run(
            small_config(
                tmp_path / "none",
                customers=10_000,
                sources=OFF,
                fuzz_profile="hard",
                fuzz={"lookalikes": 0},
            )
        )
    )

    def shared(frame: pl.DataFrame) -> int:
        return frame.drop_nulls("phone").filter(pl.col("phone").is_duplicated()).height

    assert shared(hard) - shared(alone) > 80, (shared(hard), shared(alone))


def test_events_change_fields_together(tmp_path: Path) -> None:
    s = stats_for(
        tmp_path, 20_000, fuzz_profile="easy", fuzz={"events": {"moved": 30, "married": 30}}
    )
    mix = s["kernel_mix"]
    # 30% of 3,000 duplicates move: address, city and postal code change together.
    moved = [mix.get(f"{f}:moved", 0) for f in ("city", "postal_code", "addr_ln_1_txt")]
    assert min(moved) > 700
    assert mix.get("name_last:married", 0) > 700 and mix.get("email:married", 0) > 300


def test_fuzz_table_edits_a_preset(tmp_path: Path) -> None:
    (tmp_path / "vecgen.toml").write_text(
        'fuzz_profile = "febrl"\n[fuzz]\nfields_changed = {1 = 100}\n'
        '[fuzz.fields.state]\nrate = 100\nkernels = {state_form = 1}\nfallback = "replace"\n'
    )
    cfg = load_config(cwd=tmp_path, environ={})
    assert cfg.fuzz_table()["fields"]["state"]["rate"] == 100
    s = stats_for(tmp_path / "out", 5000, fuzz_profile=cfg.fuzz_profile, fuzz=cfg.fuzz)
    assert s["fields_changed_histogram"] == {1: 100.0}
    # Rates are rescaled to sum to one changed field: state goes from 4.9% to about 31%.
    assert s["field_change_percent"]["state"] == pytest.approx(100 / (100 + 217.6) * 100, abs=4)


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"feilds": {}}, "unknown key 'fuzz.feilds'; did you mean 'fields'"),
        (
            {"fields": {"name_frist": {}}},
            "'fuzz.fields.name_frist' is not a customer field; did you mean 'name_first'",
        ),
        (
            {"fields": {"city": {"kernels": {"typo": 1}}}},
            "'fuzz.fields.city.kernels.typo' is not a fuzz kernel",
        ),
        (
            {"fields": {"city": {"rate": 140}}},
            "'fuzz.fields.city.rate' must be a number from 0 to 100",
        ),
        ({"cluster_size": "gauss:2"}, "'fuzz.cluster_size' must be KIND:NUMBER"),
        ({"events": {"divorced": 3}}, "unknown event 'fuzz.events.divorced'"),
        ({"fields_changed": {"zero": 1}}, "'fuzz.fields_changed' keys must be field counts"),
    ],
)
def test_bad_fuzz_tables_are_clear_errors(table: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        Config(fuzz=table)


def test_fuzz_stats_cli_and_json(tmp_path: Path) -> None:
    assert (
        run_cli(
            "--customers",
            "3000",
            "--quiet",
            "--disable",
            "pos_customers,pos_transactions",
            cwd=tmp_path,
        ).returncode
        == 0
    )
    text = run_cli("fuzz-stats", "output", cwd=tmp_path)
    assert (
        text.returncode == 0
        and "% of duplicates changed" in text.stdout
        and "kernel mix" in text.stdout
    )
    data = json.loads(run_cli("fuzz-stats", "output", "--json", cwd=tmp_path).stdout)
    assert data["duplicates"] == 450 and data["unchanged_duplicates"] == 0
    missing = run_cli("fuzz-stats", "nowhere", cwd=tmp_path)
    assert missing.returncode == 2 and "no 'customers' file under nowhere" in missing.stderr


def test_profile_choice_keeps_determinism(tmp_path: Path) -> None:
    from tests.conftest import tree_bytes

    for bs in (1000, 7000):
        run(
            small_config(
                tmp_path / str(bs), customers=7000, batch_size=bs, fuzz_profile="hard", sources=OFF
            )
        )
    assert tree_bytes(tmp_path / "1000") == tree_bytes(tmp_path / "7000")
