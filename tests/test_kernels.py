"""Kernel contract (length, dtype, nulls kept, per-row determinism) and per-kernel semantics."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vecgen.fuzz_vectorized import KERNELS, KernelContext, get_kernel
from vecgen.rng import Stream
from vecgen.vocab import load

VOCAB = load()
POOL = pl.Series(["alpha", "beta", "gamma", "ünïcode"])
DATE_KERNELS = {"date_edit", "blank"}
TEXT_KERNELS = sorted(set(KERNELS) - {"date_edit"})

texts = st.lists(st.one_of(st.none(), st.text(max_size=30)), min_size=0, max_size=40)
dates = st.lists(
    st.one_of(st.none(), st.dates(min_value=dt.date(1901, 1, 1), max_value=dt.date(2100, 12, 31))),
    max_size=40,
)


def ctx(n: int, seed: int = 1, offset: int = 0) -> KernelContext:
    return KernelContext(Stream(seed), np.arange(offset, offset + n, dtype=np.uint64), VOCAB, POOL)


def check_contract(name: str, values: pl.Series) -> pl.Series:
    out = get_kernel(name)(values, ctx(len(values)))
    assert len(out) == len(values)
    assert out.dtype == values.dtype
    assert out.name == values.name
    nulls_in = values.is_null().to_list()
    nulls_out = out.is_null().to_list()
    for was_null, is_null in zip(nulls_in, nulls_out, strict=True):
        if was_null:
            assert is_null, f"{name} turned a null into a value"
    # Same rows, same keys -> same output; a row does not depend on its neighbours.
    again = get_kernel(name)(values, ctx(len(values)))
    assert out.equals(again)
    if len(values) > 1:
        tail = get_kernel(name)(values.slice(1), ctx(len(values) - 1, offset=1))
        assert out.slice(1).equals(tail)
    return out


@pytest.mark.parametrize("name", TEXT_KERNELS)
@settings(max_examples=60, deadline=None)
@given(values=texts)
def test_text_kernel_contract(name: str, values: list[str | None]) -> None:
    out = check_contract(name, pl.Series("f", values, dtype=pl.String))
    for o in out.to_list():  # valid UTF-8 text (polars would have raised otherwise)
        assert o is None or isinstance(o, str)


@pytest.mark.parametrize("name", sorted(DATE_KERNELS))
@settings(max_examples=60, deadline=None)
@given(values=dates)
def test_date_kernel_contract(name: str, values: list[dt.date | None]) -> None:
    check_contract(name, pl.Series("d", values, dtype=pl.Date))


@settings(max_examples=100, deadline=None)
@given(values=st.lists(st.text(min_size=2, max_size=20), min_size=1, max_size=30))
def test_swap_adjacent_permutes_two_neighbouring_characters(values: list[str]) -> None:
    out = get_kernel("swap_adjacent")(pl.Series(values), ctx(len(values))).to_list()
    for before, after in zip(values, out, strict=True):
        assert Counter(before) == Counter(after)
        diff = [i for i, (a, b) in enumerate(zip(before, after, strict=True)) if a != b]
        assert diff == [] or (len(diff) == 2 and diff[1] == diff[0] + 1)


@settings(max_examples=100, deadline=None)
@given(values=st.lists(st.text(min_size=1, max_size=20), min_size=1, max_size=30))
def test_fat_finger_repeats_one_character_never_an_at_sign(values: list[str]) -> None:
    out = get_kernel("fat_finger")(pl.Series(values), ctx(len(values))).to_list()
    for before, after in zip(values, out, strict=True):
        if set(before) == {"@"}:
            assert after == before  # nothing but '@': nothing to repeat
            continue
        assert len(after) == len(before) + 1
        extra = Counter(after) - Counter(before)
        assert sum(extra.values()) == 1
        (char,) = extra
        assert char != "@"


def test_fat_finger_on_emails_keeps_one_at_sign() -> None:
    emails = pl.Series(["a@b.com", "@x.org", "ann@z.net"] * 200)
    out = get_kernel("fat_finger")(emails, ctx(len(emails)))
    assert (out.str.count_matches("@") == 1).all()


def test_initial_upper_and_first3() -> None:
    s = pl.Series(["Robert", "ab", "", None])
    assert get_kernel("initial")(s, ctx(4)).to_list() == ["R", "a", "", None]
    assert get_kernel("upper")(s, ctx(4)).to_list() == ["ROBERT", "AB", "", None]
    assert get_kernel("upper_first3")(s, ctx(4)).to_list() == ["ROBert", "AB", "", None]


def test_replace_always_changes_and_draws_from_the_pool() -> None:
    values = pl.Series(["alpha", "beta", "gamma", "ünïcode"] * 500)
    out = get_kernel("replace")(values, ctx(len(values)))
    assert (out != values).all()
    assert set(out.to_list()) <= set(POOL.to_list())


def test_nickname_uses_the_nickname_table() -> None:
    table = VOCAB.nicknames
    names = table["name"].unique().sort().head(200)
    out = get_kernel("nickname")(names, ctx(len(names)))
    pairs = set(zip(table["name"].to_list(), table["nickname"].to_list(), strict=True))
    assert all((n, o) in pairs for n, o in zip(names.to_list(), out.to_list(), strict=True))
    unknown = pl.Series(["Qwxyz", None])
    assert get_kernel("nickname")(unknown, ctx(2)).to_list() == ["Qwxyz", None]


@settings(max_examples=100, deadline=None)
@given(
    values=st.lists(
        st.dates(min_value=dt.date(1901, 1, 1), max_value=dt.date(2100, 12, 31)),
        min_size=1,
        max_size=40,
    )
)
def test_date_edit_gives_a_different_valid_date_near_or_sentinel(values: list[dt.date]) -> None:
    out = get_kernel("date_edit")(pl.Series(values, dtype=pl.Date), ctx(len(values))).to_list()
    for before, after in zip(values, out, strict=True):
        assert isinstance(after, dt.date) and after != before
        assert abs(after.year - before.year) <= 1 or after.year == 1900


def test_date_edit_covers_every_edit_kind() -> None:
    d = dt.date(1980, 3, 4)
    out = get_kernel("date_edit")(pl.Series([d] * 500, dtype=pl.Date), ctx(500)).to_list()
    assert {
        dt.date(1981, 3, 4),
        dt.date(1979, 3, 4),
        dt.date(1980, 4, 3),
        dt.date(1980, 1, 1),
        dt.date(1900, 3, 4),
    } == set(out)


def test_new_area_code_changes_only_the_area_code() -> None:
    phones = pl.Series(["512-555-0100"] * 300)
    out = get_kernel("new_area_code")(phones, ctx(300)).to_list()
    codes = set(VOCAB.places["area_code"].to_list())
    for p in out:
        assert p[3:] == "-555-0100" and p[:3] != "512" and p[:3] in codes


def test_gender_flip_and_free_mail_domain() -> None:
    assert get_kernel("gender_flip")(pl.Series(["F", "M", None]), ctx(3)).to_list() == [
        "M",
        "F",
        None,
    ]
    emails = pl.Series(["ann@acme.com"] * 50)
    out = get_kernel("free_mail_domain")(emails, ctx(50)).to_list()
    domains = set(VOCAB.free_mail_domain.to_list())
    assert all(e.startswith("ann@") and e.split("@")[1] in domains for e in out)


def test_reverse_words() -> None:
    s = pl.Series(["12 Oak Street", "Austin", None])
    assert get_kernel("reverse_words")(s, ctx(3)).to_list() == ["Street Oak 12", "Austin", None]


def test_unknown_kernel_lists_the_valid_ones() -> None:
    with pytest.raises(KeyError, match="valid kernels: initial"):
        get_kernel("nope")


def test_fat_finger_never_repeats_an_at_sign_in_at_runs() -> None:
    values = pl.Series(["@@a", "a@@", "@@é@@", "@", "", "x@@@@y"] * 50)
    out = get_kernel("fat_finger")(values, ctx(len(values))).to_list()
    for before, after in zip(values.to_list(), out, strict=True):
        assert after.count("@") == before.count("@")
        assert len(after) == len(before) + (0 if set(before) <= {"@"} else 1)


def test_days_from_civil_matches_the_calendar() -> None:
    from vecgen.fuzz_vectorized.kernels import _days_from_civil, _days_in_month

    days = np.arange(-700_000, 100_000, 37)
    dates = [dt.date(1970, 1, 1) + dt.timedelta(days=int(x)) for x in days]
    y = np.array([x.year for x in dates])
    m = np.array([x.month for x in dates])
    d = np.array([x.day for x in dates])
    assert np.array_equal(_days_from_civil(y, m, d), days)
    assert _days_in_month(np.array([1900, 2000, 2024, 2023]), np.array([2, 2, 2, 2])).tolist() == [
        28,
        29,
        29,
        28,
    ]
