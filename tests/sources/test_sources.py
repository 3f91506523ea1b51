"""Content and distributions of customers and transactions (the predecessor's columns)."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata

import numpy as np
import polars as pl
import pytest

from tests.conftest import DATE
from vecgen.config import Config
from vecgen.engine import RunResult
from vecgen.plan import resolve
from vecgen.sources import SOURCES, Batch
from vecgen.sources.customers import COLUMNS as CUSTOMER_COLUMNS
from vecgen.sources.transactions import COLUMNS as TRANSACTION_COLUMNS
from vecgen.vocab import load

VOCAB = load()


@pytest.fixture(scope="module")
def big() -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    # The predecessor's people (everybody alone and complete): its column contract.
    plan = resolve(Config(customers=20_000, seed=3, date=DATE, fuzz_profile="gensampledata"))
    cust = SOURCES["customers"].generate(plan, VOCAB, Batch(0, 0, 20_000, {}))
    trans = SOURCES["transactions"].generate(
        plan, VOCAB, Batch(0, 0, 20_000, {"transactions": 0}, {"customers": cust.frame})
    )
    assert cust.truth is not None
    return cust.frame, cust.truth, trans.frame


def clean(frame: pl.DataFrame, truth: pl.DataFrame) -> pl.DataFrame:
    keep = truth.filter(~pl.col("is_duplicate"))["record_id"].cast(pl.Int64)
    return frame.filter(pl.col("customer_id").is_in(keep.implode()))


def test_registry_matches_catalog() -> None:
    assert list(SOURCES) == [
        "customers",
        "transactions",
        "pos_customers",
        "pos_transactions",
        "loyalty",
        "email_campaign",
        "clickstream",
        "mobile",
        "wifi",
        "safety_reports",
        "locations",
        "custom_object",
        "customer_changes",
        "loyalty_changes",
        "pos_customer_changes",
        "truth",
    ]


def test_customer_columns_in_the_predecessor_order(landscape: RunResult) -> None:
    from tests.conftest import read_source

    assert read_source(landscape, "customers").columns == list(CUSTOMER_COLUMNS)
    assert CUSTOMER_COLUMNS == (
        "customer_id",
        "name_prefix",
        "name_first",
        "name_last",
        "gender",
        "email",
        "account_status",
        "addr_ln_1_txt",
        "city",
        "state",
        "postal_code",
        "birth_dt",
        "employment",
        "job_title",
        "phone",
        "dtUpdateDate",
    )
    assert read_source(landscape, "transactions").columns == list(TRANSACTION_COLUMNS)


def test_customer_distributions(big: tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]) -> None:
    frame, truth, _ = big
    c = clean(frame, truth)
    assert c.height == 20_000
    assert (c["gender"] == "F").mean() == pytest.approx(0.54, abs=0.015)
    status = c["account_status"].value_counts(normalize=True).sort("account_status")
    assert dict(zip(status["account_status"], status["proportion"], strict=True)) == pytest.approx(
        {"Active": 5 / 8, "Closed": 1 / 8, "DNC": 1 / 8, "Remarket": 1 / 8}, abs=0.015
    )
    females = c.filter(pl.col("gender") == "F")
    assert set(females["name_prefix"].unique()) <= set(VOCAB.prefix_female)
    assert set(females["name_first"].unique()) <= set(VOCAB.first_female)
    # Birth dates 18-90 years before the run date.
    age_days = (pl.lit(DATE) - c["birth_dt"]).dt.total_days()
    ages = c.select(age_days / 365.25).to_series()
    assert ages.min() >= 17.99 and ages.max() <= 90.01
    # Addresses <100-9999> <street>; phone NNN-NNN-NNNN.
    assert c["addr_ln_1_txt"].str.contains(r"^[1-9]\d{2,3} \S").all()
    assert c["phone"].str.contains(r"^\d{3}-\d{3}-\d{4}$").all()


def test_email_patterns_come_from_name_and_employer(
    big: tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame],
) -> None:
    frame, truth, _ = big
    c = clean(frame, truth).head(2000)
    seen = set()
    for first, last, company, email in c.select(
        "name_first", "name_last", "employment", "email"
    ).iter_rows():
        f, la, com = (  # accents dropped, as an e-mail address does (Aéropostale -> aeropostale)
            unicodedata.normalize("NFKD", v).encode("ascii", "ignore").decode().lower()
            for v in (first, last, company)
        )
        f, la, dom = re.sub("[^a-z]", "", f), re.sub("[^a-z]", "", la), re.sub("[^a-z0-9]", "", com)
        local, domain = email.split("@")
        assert domain.rsplit(".", 1)[0] == dom
        assert domain.rsplit(".", 1)[1] in set(VOCAB.tld)
        kinds = {
            "first": local == f,
            "firstlast": local == f + la,
            "flast123": re.fullmatch(re.escape(f[0] + la) + r"\d{3}", local) is not None,
            "flast": local == f[0] + la,
        }
        assert any(kinds.values()), email
        seen |= {k for k, v in kinds.items() if v}
    assert seen == {"first", "firstlast", "flast123", "flast"}


def test_city_state_postal_code_and_area_code_agree(
    big: tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame],
) -> None:
    frame, truth, _ = big
    c = clean(frame, truth)
    places = VOCAB.places
    joined = c.join(places, on="postal_code", how="left", suffix="_ref")
    assert joined["city_ref"].null_count() == 0
    assert (joined["city"] == joined["city_ref"]).all()
    assert (
        (joined["state"] == joined["state_ref"]) | (joined["state"] == joined["state_name"])
    ).all()
    assert (joined["phone"].str.slice(0, 3) == joined["area_code"]).all()
    abbr_share = (joined["state"] == joined["state_ref"]).mean()
    assert abbr_share == pytest.approx(0.5, abs=0.02)


def test_transaction_rules(big: tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]) -> None:
    frame, _, t = big
    per_customer = t.group_by("customer_id").len()
    assert per_customer.height == frame.height  # every customer row, duplicates included
    assert per_customer["len"].min() == 1 and per_customer["len"].max() == 4
    assert t["orderid"].to_list() == list(range(100_000_000_001, 100_000_000_001 + t.height))
    assert t["transactiontotal"].min() >= 100 and t["transactiontotal"].max() <= 2000
    assert t["numberofitems"].min() == 1 and t["numberofitems"].max() == 15
    assert (t["pointsearned"] == (t["transactiontotal"] * 2 / 100).round(0).cast(pl.Int64)).all()
    assert (
        (t["avgitemprice"] - t["transactiontotal"] / t["numberofitems"]).abs() <= 0.005 + 1e-9
    ).all()
    assert t["productcode"].min() >= 700_000_000 and t["productcode"].max() <= 900_000_000
    assert (t["productcategory"] == "PR" + t["productcode"].cast(pl.String).str.slice(0, 3)).all()
    assert t["storeorwebid"].min() == 100 and t["storeorwebid"].max() == 300
    run_ts = dt.datetime.combine(DATE, dt.time())
    assert t["purchasedate"].max() < run_ts
    assert t["purchasedate"].min() >= run_ts - dt.timedelta(days=5 * 365)
    assert (t["purchasedate"].dt.microsecond() == 0).all()


def test_daily_transactions_are_in_the_last_24_hours() -> None:
    plan = resolve(Config(customers=2000, seed=3, date=DATE, trans_type="daily"))
    cust = SOURCES["customers"].generate(plan, VOCAB, Batch(0, 0, 2000, {}))
    t = (
        SOURCES["transactions"]
        .generate(plan, VOCAB, Batch(0, 0, 2000, {"transactions": 0}, {"customers": cust.frame}))
        .frame
    )
    run_ts = dt.datetime.combine(DATE, dt.time())
    assert t["purchasedate"].min() >= run_ts - dt.timedelta(hours=24)
    assert t["purchasedate"].max() < run_ts


def test_alpha_key_ids_are_unique_and_shaped() -> None:
    plan = resolve(Config(customers=5000, seed=3, date=DATE, alpha_key=True))
    frame = SOURCES["customers"].generate(plan, VOCAB, Batch(0, 0, 5000, {})).frame
    ids = frame["customer_id"]
    assert ids.dtype == pl.String
    assert ids.str.contains(r"^\d+-[a-z0-9]{8}$").all()
    assert ids.n_unique() == len(ids)
    numbers = ids.str.split("-").list.first().cast(pl.Int64)
    assert numbers.to_list() == list(range(1_000_000_001, 1_000_000_001 + len(ids)))


def test_duplicates_follow_their_block(
    big: tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame],
) -> None:
    _, truth, _ = big
    # The file is blocks of 1000 clean records, each followed by 15% duplicates of that block.
    is_dupe = truth["is_duplicate"].to_numpy()
    assert not is_dupe[:1000].any() and is_dupe[1000:1150].all() and not is_dupe[1150]
    orig = truth.filter(pl.col("is_duplicate"))["duplicate_of"].cast(pl.Int64).to_numpy()
    block_of_dupe = np.flatnonzero(is_dupe) // 1150
    block_of_orig = (orig - 1_000_000_001) // 1150
    assert np.array_equal(block_of_dupe, block_of_orig)


def test_children_copy_people_from_the_batch_as_person_frame_makes_them() -> None:
    from vecgen.catalog import PERSON_COLUMNS
    from vecgen.sources.customers import clean_people, clean_rows, rows_of_people
    from vecgen.sources.people import person_frame

    # hard: look-alikes swap field groups between people; they must survive the copy.
    plan = resolve(Config(customers=5000, seed=5, date=DATE, fuzz_profile="hard"))
    cust = SOURCES["customers"].generate(plan, VOCAB, Batch(0, 2000, 5000, {}))
    people = np.random.default_rng(1).choice(np.arange(2000, 5000), 700)
    columns = list(PERSON_COLUMNS)
    made = person_frame(plan, VOCAB, "customers", people.astype(np.uint64))
    assert clean_people(clean_rows(cust.frame), people, columns).equals(made.select(columns))
    with pytest.raises(AssertionError, match="not in its batch"):
        rows_of_people(np.arange(2000, 5000), np.array([1999]))


def test_clean_rows_are_kept_while_their_batch_lives_and_no_longer() -> None:
    """Nine sources ask for a batch's clean rows; a finished batch is not kept in memory."""
    import gc

    from vecgen.sources import customers as c

    plan = resolve(Config(customers=2000, seed=5, date=DATE, fuzz_profile="medium"))
    frame = SOURCES["customers"].generate(plan, VOCAB, Batch(0, 0, 2000, {})).frame
    first = c.clean_rows(frame)
    assert c.clean_rows(frame) is first  # the same answer for every child source
    assert first.height == frame.filter(~pl.col("__dupe")).height
    key = id(frame)
    del frame
    gc.collect()
    assert key not in c._CLEAN_MEMO


def test_uuid4_spells_the_random_bytes_as_pythons_uuid_does() -> None:
    import uuid

    from vecgen.rng import Stream
    from vecgen.sources.columns import random_bytes, uuid4

    rows = np.arange(5000, dtype=np.uint64)
    raw = random_bytes(Stream(11), rows, 16)
    expected = [str(uuid.UUID(bytes=bytes(r), version=4)) for r in raw]
    assert uuid4(Stream(11), rows).to_list() == expected
