"""Kernel contract (length, dtype, nulls kept, per-row determinism) and per-kernel semantics."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vecgen.fuzz_vectorized import DATE_KERNELS, KERNELS, KernelContext, get_kernel
from vecgen.rng import Stream
from vecgen.vocab import load

VOCAB = load()
POOL = pl.Series(["alpha", "beta", "gamma", "ünïcode"])
TEXT_KERNELS = sorted(set(KERNELS) - DATE_KERNELS | {"blank"})


texts = st.lists(st.one_of(st.none(), st.text(max_size=30)), min_size=0, max_size=40)
dates = st.lists(
    st.one_of(st.none(), st.dates(min_value=dt.date(1901, 1, 1), max_value=dt.date(2100, 12, 31))),
    max_size=40,
)


def ctx(n: int, seed: int = 1, offset: int = 0) -> KernelContext:
    return KernelContext(Stream(seed), np.arange(offset, offset + n, dtype=np.uint64), VOCAB, POOL)


def check_contract(name: str, values: pl.Series) -> pl.Series:
    original = values.clone()
    out = get_kernel(name)(values, ctx(len(values)))
    assert values.equals(original), f"{name} modified its input"

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
    with pytest.raises(KeyError, match="valid kernels: swap_adjacent, fat_finger"):
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


def test_keyboard_substitution_uses_a_neighbouring_key() -> None:
    from vecgen.fuzz_vectorized.text import keyboard_neighbours

    near = keyboard_neighbours()
    values = pl.Series(["Smith", "jones", "Q", "12345"] * 100)
    out = get_kernel("keyboard_substitution")(values, ctx(len(values))).to_list()
    for before, after in zip(values.to_list(), out, strict=True):
        diff = [(a, b) for a, b in zip(before, after, strict=True) if a != b]
        assert len(diff) == 1
        a, b = diff[0]
        assert b.lower() in near[a.lower()]
        assert not b.isalpha() or a.isupper() == b.isupper()  # case kept; digits have none


def test_insert_delete_and_spaces_change_length_by_one() -> None:
    values = pl.Series(["Smith", "New York", "ab"] * 50)
    n = len(values)
    length = values.str.len_chars().cast(pl.Int64)
    ins = get_kernel("insert_char")(values, ctx(n)).str.len_chars().cast(pl.Int64) - length
    dele = get_kernel("delete_char")(values, ctx(n)).str.len_chars().cast(pl.Int64) - length
    sp = get_kernel("space_insert")(values, ctx(n))
    assert (ins == 1).all() and (dele == -1).all()
    assert (sp.str.count_matches(" ") == values.str.count_matches(" ") + 1).all()
    assert not sp.str.starts_with(" ").any() and not sp.str.ends_with(" ").any()
    assert get_kernel("space_remove")(values, ctx(n)).str.contains(" ").sum() == 0


def test_ocr_and_phonetic_apply_one_listed_confusion() -> None:
    out = get_kernel("ocr")(pl.Series(["Barn", "10"] * 50), ctx(100)).to_list()
    # The matching rules: B->8 or rn->m for "Barn"; 1->l or 0->O for "10".
    assert set(out[::2]) == {"8arn", "Bam"}
    assert set(out[1::2]) == {"l0", "1O"}

    ph = get_kernel("phonetic")(pl.Series(["Stephanie", "Philip"] * 50), ctx(100)).to_list()
    assert all(p != v for p, v in zip(ph, ["Stephanie", "Philip"] * 50, strict=True))
    assert "Stefanie" in ph or "Stephany" in ph


def test_formatting_kernels() -> None:
    c = ctx(3)
    assert get_kernel("lower")(pl.Series(["McKay", "A", None]), c).to_list() == ["mckay", "a", None]
    assert get_kernel("title_case")(pl.Series(["MCKAY", "a b", None]), c).to_list() == [
        "Mckay",
        "A B",
        None,
    ]
    mi = get_kernel("middle_initial")(pl.Series(["John", "Ann B.", None]), c).to_list()
    assert (
        mi[0].startswith("John ")
        and mi[0].endswith(".")
        and len(mi[0]) == 7
        and mi[1:] == ["Ann", None]
    )
    sfx = get_kernel("name_suffix")(pl.Series(["Smith"] * 50), ctx(50)).to_list()
    assert {s.split(" ", 1)[1] for s in sfx} <= {"Jr", "Jr.", "Sr", "II", "III"}
    ab = get_kernel("abbreviate")(
        pl.Series(["12 North Oak Street", "4 Elm Ave", "Main"]), c
    ).to_list()
    assert (
        ab[0] in {"12 N Oak Street", "12 North Oak St"}
        and ab[1] == "4 Elm Avenue"
        and ab[2] == "Main"
    )
    punct = get_kernel("punctuation")(pl.Series(["St. John's", "12 Oak St", "X"] * 30), ctx(90))
    assert (punct != pl.Series(["St. John's", "12 Oak St", "X"] * 30)).all()


def test_value_kernels() -> None:
    c = ctx(3)
    assert get_kernel("formal_name")(pl.Series(["Bob", "Robert", None]), c).to_list() == [
        "Robert",
        "Robert",
        None,
    ]
    junk = get_kernel("placeholder")(
        pl.Series(["a@b.com"] * 30),
        KernelContext(Stream(1), np.arange(30, dtype=np.uint64), VOCAB, None, "email"),
    )
    assert set(junk) <= {"test@test.com", "noemail@example.com", "none@none.com", "N/A", "x@x.com"}
    assert get_kernel("state_form")(pl.Series(["TX", "Ohio", "??"]), c).to_list() == [
        "Texas",
        "OH",
        "??",
    ]
    d = get_kernel("digit")(pl.Series(["512-555-0100"] * 100), ctx(100)).to_list()
    for x in d:
        assert (
            len(x) == 12
            and sum(a != b for a, b in zip(x, "512-555-0100", strict=True)) == 1
            and x[3] == "-"
        )
    e = get_kernel("email_local_typo")(pl.Series(["jsmith@acme.com"] * 100), ctx(100)).to_list()
    assert all(x.endswith("@acme.com") and x != "jsmith@acme.com" for x in e)


def test_date_kernels_stay_valid_and_do_what_they_say() -> None:
    d0 = dt.date(1980, 3, 4)
    s = pl.Series([d0] * 200, dtype=pl.Date)
    years = get_kernel("date_year")(s, ctx(200)).to_list()
    assert set(years) == {dt.date(1981, 3, 4), dt.date(1979, 3, 4)}
    shifted = get_kernel("date_shift_days")(s, ctx(200)).to_list()
    assert all(1 <= abs((x - d0).days) <= 30 for x in shifted)
    assert get_kernel("date_swap_day_month")(s, ctx(200)).to_list() == [dt.date(1980, 4, 3)] * 200
    assert get_kernel("date_jan1")(s, ctx(200)).to_list() == [dt.date(1980, 1, 1)] * 200
    assert get_kernel("date_1900")(
        pl.Series([dt.date(1980, 2, 29)], dtype=pl.Date), ctx(1)
    ).to_list() == [dt.date(1900, 2, 28)]


@pytest.mark.parametrize("name", sorted(KERNELS))
def test_every_kernel_has_a_docstring_example(name: str) -> None:
    doc = KERNELS[name].__doc__ or ""
    assert ">>>" in doc, f"kernel {name} needs a runnable example"


@pytest.mark.parametrize("rules", ["OCR_RULES", "PHONETIC_RULES", "ABBREVIATION_RULES"])
@settings(max_examples=60, deadline=None)
@given(values=st.lists(st.text(alphabet="aeiouyclkpshtwnmrzg0158SBOIZ .\nÄé", max_size=20)))
def test_rules_applied_in_python_match_polars_regex(rules: str, values: list[str]) -> None:
    """The text kernels apply a chosen rule in Python; Polars' (Rust) regex is the reference."""
    from vecgen.fuzz_vectorized import text

    table = getattr(text, rules)
    words = ["Street", "St", "St.", "North", "N", "Apartment 5", "Avenue\n", "Tony\n", "Marie\n"]
    series = pl.Series([*values, *words], dtype=pl.String)
    for (pattern, repl), apply in zip(table, text._rule_functions(table), strict=True):
        expected = series.str.replace(pattern, repl, n=1).to_list()
        assert [apply(v) for v in series.to_list()] == expected, (pattern, repl)


@pytest.mark.parametrize("n", [0, 3, 70_000, 300_000])
def test_null_strings_written_to_leave_the_next_ones_null(n: int) -> None:
    from vecgen.fuzz_vectorized.kernels import null_strings

    first = null_strings(n)
    if n:
        first.scatter(np.arange(min(n, 3)), "written")  # in place, on its own buffer
    again = null_strings(n)
    assert len(again) == n and again.null_count() == n and again.dtype == pl.String
    assert first.null_count() == max(n - 3, 0)
