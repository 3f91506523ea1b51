"""The population model: name frequencies, places, households, per-system completeness."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from tests.conftest import read_source, small_config
from vecgen.catalog import SWITCHABLE
from vecgen.config import Config
from vecgen.engine import run
from vecgen.errors import ConfigError
from vecgen.plan import resolve
from vecgen.score import score
from vecgen.sources.people import child_second, households, person_draws, person_frame
from vecgen.vocab import load

PEOPLE = 100_000
KEEP = ("customers", "pos_customers", "loyalty", "wifi", "truth")
SOME = tuple((s, s in KEEP) for s in SWITCHABLE)


@pytest.fixture(scope="module")
def people() -> pl.DataFrame:
    plan = resolve(Config(customers=PEOPLE, fuzz_profile="medium", date=dt.date(2026, 1, 1)))
    return person_frame(plan, load(), "customers", np.arange(PEOPLE, dtype=np.uint64))


def test_surnames_have_a_census_shape(people: pl.DataFrame) -> None:
    counts = people["name_last"].value_counts(sort=True)["count"]
    assert counts.len() >= 20_000
    assert 0.005 <= counts[0] / PEOPLE <= 0.016
    assert 0.03 <= counts.head(10).sum() / PEOPLE <= 0.09


@pytest.mark.parametrize(("sex", "distinct"), [("F", 5_000), ("M", 4_000)])
def test_first_names_have_a_heavy_head_and_a_long_tail(
    people: pl.DataFrame, sex: str, distinct: int
) -> None:
    names = people.filter(pl.col("gender") == sex)["name_first"]
    counts = names.value_counts(sort=True)["count"]
    assert counts.len() >= distinct
    assert 0.01 <= counts[0] / names.len() <= 0.045


def test_first_names_follow_the_birth_decade(people: pl.DataFrame) -> None:
    year = people["birth_dt"].dt.year()
    old = people.filter((year >= 1940) & (year < 1960))["name_first"]
    young = people.filter(year >= 1995)["name_first"]

    def share(names: pl.Series, name: str) -> float:
        return float((names == name).mean() or 0.0)

    for name in ("Linda", "Barbara", "Robert"):
        assert share(old, name) > 3 * share(young, name), name
    for name in ("Madison", "Tyler", "Brianna"):
        assert share(young, name) > 3 * share(old, name), name


def test_people_live_where_the_population_lives(people: pl.DataFrame) -> None:
    v = load()
    abbr = people["state"].replace(v.states["name"], v.states["abbr"])
    top = abbr.value_counts(sort=True)["state"].head(4).to_list()
    assert set(top) == {"CA", "TX", "FL", "NY"}, top


def test_households_are_keyed_by_block() -> None:
    plan = resolve(Config(customers=5_500, fuzz_profile="hard", date=dt.date(2026, 1, 1)))
    every = households(plan, "customers", np.arange(5_500, dtype=np.uint64))
    some = np.array([4, 999, 1000, 5_499, 2_500, 17], dtype=np.uint64)
    part = households(plan, "customers", some)
    assert (every.head[some] == part.head).all() and (every.member[some] == part.member).all()
    assert (every.head // 1000 == np.arange(5_500) // 1000).all()  # never across blocks
    assert (every.head[every.head] == every.head).all()  # a first member heads itself
    assert ((every.member == 0) == (every.head == np.arange(5_500))).all()


def test_household_roles_partners_and_children() -> None:
    n = 30_000
    plan = resolve(Config(customers=n, fuzz_profile="hard", date=dt.date(2026, 1, 1)))
    idx = np.arange(n, dtype=np.uint64)
    hh = households(plan, "customers", idx)
    d = person_draws(plan, load(), "customers", idx, hh)
    second_child = child_second(plan, "customers", hh.head)
    member, head = hh.member, hh.head
    partner = (member == 1) & ~second_child
    child = (member >= 2) | ((member == 1) & second_child)
    assert partner.sum() > 0 and ((member == 1) & second_child).sum() > 0  # both roles occur
    gap_years = (d["birth"] - d["birth"][head]) / 365.25
    assert (np.abs(gap_years[partner]) <= 6.01).all()  # partners of an age
    assert (gap_years[child] >= 20 - 0.01).all() and (gap_years[child] <= 40.01).all()
    assert (d["last"][child] == d["last"][head[child]]).all()  # children carry the surname
    parents = np.unique(head[child])
    age = (plan.run_date - dt.date(1970, 1, 1)).days - d["birth"][parents]
    assert (age >= 40 * 365.25 - 1).all()  # whoever has an adult child is 40 or older
    for key in ("place", "number", "street", "suffix"):
        assert (d[key] == d[key][head]).all(), key


@pytest.fixture(scope="module")
def hard_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, pl.DataFrame]:
    out = tmp_path_factory.mktemp("hard")
    result = run(small_config(out, customers=20_000, fuzz_profile="hard", sources=SOME))
    return {s: _blanks_null(read_source(result, s)) for s in KEEP}


def _blanks_null(frame: pl.DataFrame) -> pl.DataFrame:
    """A CSV writes a missing value as an empty field: read it back as null."""
    return frame.with_columns(pl.when(pl.col(pl.String) != "").then(pl.col(pl.String)).name.keep())


def _clean(run: dict[str, pl.DataFrame]) -> pl.DataFrame:
    truth = run["truth"].filter(
        (pl.col("source") == "customers") & (pl.col("is_duplicate") == "false")
    )
    return run["customers"].join(
        truth.select(pl.col("record_id").alias("customer_id"), "entity_id", "household_id"),
        on="customer_id",
    )


def test_household_members_share_a_home_and_are_different_people(
    hard_run: dict[str, pl.DataFrame],
) -> None:
    clean = _clean(hard_run)
    homes = clean.group_by("household_id").agg(
        pl.len(),
        pl.col("entity_id").n_unique().alias("people"),
        pl.col("addr_ln_1_txt").drop_nulls().n_unique().alias("addresses"),
        pl.col("postal_code").n_unique().alias("postal_codes"),
    )
    shared = homes.filter(pl.col("len") > 1)
    assert (shared["people"] == shared["len"]).all()  # members are distinct entities
    # Members share the address; a few were given a look-alike's address (hard).
    same = (shared["addresses"] <= 1) & (shared["postal_codes"] == 1)
    assert same.mean() > 0.95, same.mean()
    share = shared["len"].sum() / clean.height
    assert 0.15 <= share <= 0.45, share
    # Some share a landline, and the phone is shared by at least 3% of customers.
    phones = clean.drop_nulls("phone").filter(pl.col("phone").is_duplicated())
    assert phones.height / clean.height >= 0.03
    # Twins: same surname, birth date and address, different people.
    twins = (
        clean.drop_nulls(["birth_dt", "addr_ln_1_txt"])
        .group_by("name_last", "birth_dt", "addr_ln_1_txt", "household_id")
        .agg(pl.col("entity_id").n_unique().alias("n"))
        .filter(pl.col("n") > 1)
    )
    assert twins.height > 0


def test_household_id_agrees_across_sources(hard_run: dict[str, pl.DataFrame]) -> None:
    truth = hard_run["truth"]
    homes = truth.group_by("entity_id").agg(pl.col("household_id").n_unique().alias("homes"))
    assert (homes["homes"] == 1).all()
    assert truth["household_id"].null_count() == 0
    sources = set(truth.filter(pl.col("household_id") != pl.col("entity_id"))["source"])
    assert {"customers", "loyalty", "wifi", "pos_customers"} <= sources


def test_each_system_has_its_own_fill_rates(hard_run: dict[str, pl.DataFrame]) -> None:
    plan_rates = Config(fuzz_profile="hard").completeness_rates
    pos = hard_run["pos_customers"]
    missing = pos["birth_dt"].is_null().mean()
    assert missing == pytest.approx(1 - plan_rates("pos_customers")["birth_dt"] / 100, abs=0.03)
    loyalty = hard_run["loyalty"]
    assert (loyalty["birthdate"].is_null()).mean() == pytest.approx(
        1 - plan_rates("loyalty")["birth_dt"] / 100, abs=0.03
    )
    # The same person is missing a birth date in one system and has it in another.
    assert hard_run["customers"]["birth_dt"].null_count() < pos["birth_dt"].null_count()


def test_a_value_never_captured_is_not_a_corruption(tmp_path: Path) -> None:
    (tmp_path / "vecgen.toml").write_text("")
    config = small_config(
        tmp_path,
        customers=5_000,
        fuzz_profile="hard",
        sources=SOME,
        completeness={"customers": {"phone": 0}},
    )
    result = run(config)
    customers = _blanks_null(read_source(result, "customers"))
    truth = _blanks_null(read_source(result, "truth")).filter(pl.col("source") == "customers")
    rows = customers.join(
        truth.select(pl.col("record_id").alias("customer_id"), "corruptions"), on="customer_id"
    )
    missing = rows.filter(pl.col("phone").is_null())
    assert missing.height > 0.97 * rows.height
    assert not missing["corruptions"].drop_nulls().str.contains(r"(^|\|)phone:").any()
    # The only phones left are duplicates whose one corruption is the phone.
    kept = rows.filter(pl.col("phone").is_not_null())
    assert kept["corruptions"].str.contains(r"^phone:\w+$").all()
    # Other systems still hold the phone: they captured it themselves.
    assert _blanks_null(read_source(result, "loyalty"))["phone"].null_count() < customers.height / 2


def test_easy_and_gensampledata_are_complete_and_alone(tmp_path: Path) -> None:
    for profile in ("easy", "gensampledata"):
        result = run(small_config(tmp_path / profile, fuzz_profile=profile, sources=SOME))
        pos = _blanks_null(read_source(result, "pos_customers"))
        new = pos.filter(pl.col("birth_dt").is_null())
        assert new.height == 0 or (profile == "gensampledata" and new.height < pos.height * 0.05)
        truth = read_source(result, "truth")
        assert (truth["household_id"] == truth["entity_id"]).all()


def test_completeness_settings_are_checked() -> None:
    with pytest.raises(
        ConfigError,
        match=r"\[completeness.pos\] is not a source with fill rates; valid keys: customers, pos_customers",
    ):
        Config(completeness={"pos": {"birth_dt": 10}})
    with pytest.raises(ConfigError, match="no column 'birthdate'; did you mean 'birth_dt'"):
        Config(completeness={"loyalty": {"birthdate": 10}})
    with pytest.raises(ConfigError, match="percent from 0 to 100, got 120"):
        Config(completeness={"wifi": {"postal_code": 120}})


def test_score_at_household_level(hard_run: dict[str, pl.DataFrame], tmp_path: Path) -> None:
    truth = hard_run["truth"].filter(pl.col("source") == "customers")
    truth_path = tmp_path / "truth.csv"
    truth.write_csv(truth_path)
    # Predict: every record of a household in one cluster.
    pred = truth.select(pl.col("record_id"), pl.col("household_id").alias("cluster_id"))
    pred_path = tmp_path / "pred.csv"
    pred.write_csv(pred_path)
    at_home = score(str(truth_path), str(pred_path), level="household")
    as_people = score(str(truth_path), str(pred_path))
    assert at_home["pairwise"]["f1"] == pytest.approx(1.0)
    assert as_people["pairwise"]["precision"] < 0.9


def test_completeness_tables_print_back_as_toml(tmp_path: Path) -> None:
    from vecgen.config import config_toml, load_config

    (tmp_path / "vecgen.toml").write_text("[completeness.pos_customers]\nbirth_dt = 5\n")
    first = load_config(cwd=tmp_path, environ={})
    (tmp_path / "again").mkdir()
    (tmp_path / "again" / "vecgen.toml").write_text(config_toml(first))
    again = load_config(cwd=tmp_path / "again", environ={})
    assert again.completeness == first.completeness
    assert again.completeness_rates("pos_customers")["birth_dt"] == 5.0


def test_every_duplicate_keeps_a_corruption_where_values_go_missing(tmp_path: Path) -> None:
    result = run(
        small_config(
            tmp_path, customers=10_000, fuzz_profile="hard", sources=SOME, formats=("parquet",)
        )
    )
    truth = read_source(result, "truth", "parquet")
    for source in ("customers", "pos_customers", "loyalty", "wifi"):
        dupes = truth.filter((pl.col("source") == source) & pl.col("is_duplicate"))
        assert dupes.height > 0 and dupes["corruptions"].str.len_chars().min() > 0, source


@pytest.mark.parametrize("preset", ["medium", "hard"])  # the default and the hardest
def test_population_stats_measures_a_run(tmp_path: Path, preset: str) -> None:
    import json

    from tests.conftest import run_cli

    run(small_config(tmp_path / "out", customers=20_000, fuzz_profile=preset, sources=SOME))
    r = run_cli("population-stats", str(tmp_path / "out"), "--json", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    stats = json.loads(r.stdout)
    assert stats["customers"] == 20_000
    assert (
        0.5 <= stats["surnames"]["top_percent"] <= 1.6 and stats["surnames"]["top"][0][0] == "Smith"
    )
    assert 15 <= stats["households"]["sharing_percent"] <= 45
    assert stats["shared_percent"]["phone"] >= 3
    assert {s for s, _ in stats["states"][:4]} == {"CA", "TX", "FL", "NY"}
    assert stats["households"]["twin_pairs"] > 0
    expected = Config(fuzz_profile=preset).completeness_rates("pos_customers")["birth_dt"]
    assert stats["fill_percent"]["pos_customers"]["birth_dt"] == pytest.approx(expected, abs=3)
    text = run_cli("population-stats", str(tmp_path / "out"), cwd=tmp_path)
    assert text.returncode == 0 and "households by size" in text.stdout
    wrong = run_cli("population-stats", str(tmp_path / "nothing"), cwd=tmp_path)
    assert (
        wrong.returncode != 0
        and wrong.stderr.count("\n") == 1
        and "no 'customers' file" in wrong.stderr
    )


def test_every_reading_command_reads_a_json_lines_run(tmp_path: Path) -> None:
    from tests.conftest import run_cli

    out = tmp_path / "out"
    run(small_config(out, customers=2_000, fuzz_profile="medium", formats=("jsonl",)))
    truth = next(out.rglob("truth/*/*.json"))
    for args in (
        ("fuzz-stats", str(out)),
        ("population-stats", str(out)),
        ("report", str(out), "--to", str(tmp_path / "report")),
    ):
        r = run_cli(*args, cwd=tmp_path)
        assert r.returncode == 0 and "error" not in r.stderr, (args, r.stderr)
    # A matcher that finds the customers exactly, scored on customers only.
    rows = pl.read_ndjson(truth, infer_schema_length=None).filter(pl.col("source") == "customers")
    pred = tmp_path / "pred.json"
    rows.select("record_id", pl.col("entity_id").alias("cluster_id")).write_ndjson(pred)
    r = run_cli("score", str(truth), str(pred), "--source", "customers", "--json", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    import json

    assert json.loads(r.stdout)["pairwise"]["f1"] == 1.0
    wrong = run_cli("score", str(truth), str(pred), "--source", "custmers", cwd=tmp_path)
    assert wrong.returncode == 2 and "no records of source 'custmers'" in wrong.stderr
    assert wrong.stderr.count("\n") == 1
