from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from vecgen.fuzz_vectorized import fuzz_field, fuzz_frame
from vecgen.fuzz_vectorized.profiles import GENSAMPLEDATA, FieldMix, Profile, get_profile
from vecgen.rng import Stream
from vecgen.vocab import load

VOCAB = load()


def rows(n: int) -> np.ndarray:
    return np.arange(n, dtype=np.uint64)


def test_field_mix_follows_weights_and_logs_only_changes() -> None:
    n = 40_000
    values = pl.Series(["F", "M"] * (n // 2))
    mix = FieldMix("gender", (("gender_flip", 9), ("keep", 22)))
    out, log = fuzz_field(values, mix, Stream(1), rows(n), VOCAB)
    changed = out != values
    assert changed.mean() == pytest.approx(9 / 31, abs=0.01)
    assert (log.is_not_null() == changed).all()
    assert set(log.drop_nulls().unique()) == {"gender:gender_flip"}


def test_fuzz_frame_every_row_differs_and_log_names_exactly_the_changed_fields() -> None:
    n = 5000
    frame = pl.DataFrame(
        {
            "name_first": ["Robert"] * n,
            "name_last": ["Smith"] * n,
            "gender": ["M"] * n,
            "untouched": ["x"] * n,
        }
    )
    # A profile that leaves most rows unchanged, to exercise the fallback.
    profile = Profile(
        "test",
        (
            FieldMix("name_first", (("upper", 1), ("keep", 9))),
            FieldMix("gender", (("gender_flip", 1), ("keep", 9))),
        ),
        fallback=("name_last", "replace"),
    )
    out, log = fuzz_frame(frame, profile, Stream(2), rows(n), VOCAB, {"name_last": VOCAB.last_name})
    assert out.columns == frame.columns
    assert (out["untouched"] == "x").all()
    differs = pl.DataFrame({c: out[c] != frame[c] for c in frame.columns})
    assert differs.select(pl.any_horizontal(pl.all())).to_series().all()
    for i in range(0, n, 97):
        logged = {item.split(":")[0] for item in log[i].split("|")}
        actual = {c for c in frame.columns if out[c][i] != frame[c][i]}
        assert logged == actual
    assert "name_last:replace" in log.to_list()


def test_gensampledata_profile_covers_the_predecessor_fields() -> None:
    fields = {m.field for m in GENSAMPLEDATA.fields}
    assert fields == {
        "name_first",
        "name_last",
        "gender",
        "email",
        "addr_ln_1_txt",
        "city",
        "state",
        "postal_code",
        "birth_dt",
        "phone",
    }
    with pytest.raises(KeyError, match="valid profiles: gensampledata"):
        get_profile("nope")


@pytest.mark.parametrize("event", ["moved", "married", "swap_names"])
def test_an_event_reads_and_changes_only_its_declared_columns(event: str) -> None:
    """fuzz_frame hands an event only EVENT_COLUMNS: it must not need or change any other."""
    import datetime as dt

    from vecgen.config import Config
    from vecgen.fuzz_vectorized.events import EVENT_COLUMNS, EVENT_FUNCTIONS
    from vecgen.plan import resolve
    from vecgen.sources.people import person_frame, replacement_pools

    vocab = load()
    plan = resolve(Config(fuzz_profile="medium", date=dt.date(2026, 1, 1)))
    people = person_frame(plan, vocab, "customers", np.arange(300, dtype=np.uint64))
    rows = np.arange(300, dtype=np.uint64)
    whole = EVENT_FUNCTIONS[event](people, Stream(3), rows, vocab, replacement_pools(vocab))
    changed = {c for c in people.columns if not whole[c].equals(people[c])}
    assert changed and changed <= set(EVENT_COLUMNS[event])
    own = people.select(EVENT_COLUMNS[event])
    alone = EVENT_FUNCTIONS[event](own, Stream(3), rows, vocab, replacement_pools(vocab))
    assert alone.equals(whole.select(EVENT_COLUMNS[event]))


def test_one_call_on_a_joined_stream_fuzzes_as_separate_calls_do() -> None:
    from vecgen.config import Config
    from vecgen.plan import resolve
    from vecgen.rng import tagged
    from vecgen.sources.people import person_frame, replacement_pools

    plan = resolve(Config(customers=10_000, seed=4, fuzz_profile="hard"))
    people = person_frame(plan, VOCAB, "customers", rows(3000))
    pools = replacement_pools(VOCAB)
    a, b = Stream.of(4, "pos", "shared"), Stream.of(4, "pos", "dupes")
    first, second = people.slice(0, 1800), people.slice(1800)
    rows_a, rows_b = rows(1800) + 11, rows(1200) + 5
    out_a, log_a = fuzz_frame(first, plan.profile, a, rows_a, VOCAB, pools)
    out_b, log_b = fuzz_frame(second, plan.profile, b, rows_b, VOCAB, pools)
    both, log = fuzz_frame(
        people,
        plan.profile,
        Stream.joined(a, b),
        np.concatenate([tagged(rows_a, 0), tagged(rows_b, 1)]),
        VOCAB,
        pools,
    )
    assert both.equals(pl.concat([out_a, out_b]))
    assert log.to_list() == log_a.to_list() + log_b.to_list()
    assert not both.equals(people)
