from __future__ import annotations

import numpy as np
import pytest

from vecgen.rng import Stream, cumulative, derive_key, tagged


def rows(n: int, start: int = 0) -> np.ndarray:
    return np.arange(start, start + n, dtype=np.uint64)


def test_draws_are_a_pure_function_of_key_and_row() -> None:
    s = Stream.of(5, "customers", "name_first")
    whole = s.integers(rows(10_000), 0, 1000)
    # Any slicing of the rows gives the same values: batch size cannot matter.
    parts = np.concatenate([s.integers(rows(3333, a), 0, 1000) for a in (0, 3333, 6666)])
    assert np.array_equal(whole[:9999], parts)
    shuffled = np.random.default_rng(0).permutation(10_000).astype(np.uint64)
    assert np.array_equal(s.integers(shuffled, 0, 1000), whole[shuffled])


def test_keys_differ_by_seed_source_and_column() -> None:
    keys = {
        derive_key(1, "customers", "a"),
        derive_key(2, "customers", "a"),
        derive_key(1, "transactions", "a"),
        derive_key(1, "customers", "b"),
    }
    assert len(keys) == 4
    a = Stream.of(1, "c", "a").uniform(rows(1000))
    b = Stream.of(1, "c", "b").uniform(rows(1000))
    assert abs(np.corrcoef(a, b)[0, 1]) < 0.1


def test_uniform_and_integers_are_in_range_and_roughly_uniform() -> None:
    s = Stream.of(3, "x", "y")
    u = s.uniform(rows(200_000))
    assert u.min() >= 0.0 and u.max() < 1.0
    counts = np.bincount(s.integers(rows(200_000), 0, 10), minlength=10)
    assert counts.min() > 19_000 and counts.max() < 21_000
    lo = np.array([5, 100], dtype=np.int64)
    assert ((s.integers(rows(2), lo, lo + 1)) == lo).all()


def test_choice_follows_weights() -> None:
    s = Stream.of(3, "x", "choice")
    picks = s.choice(rows(100_000), cumulative([5, 1, 1, 1]))
    share = np.bincount(picks, minlength=4) / 100_000
    assert share[0] == pytest.approx(5 / 8, abs=0.01)
    assert share[3] == pytest.approx(1 / 8, abs=0.01)


def test_triangular_bounds_and_mode() -> None:
    t = Stream.of(3, "x", "tri").triangular(rows(100_000), 100.0, 1050.0, 2000.0)
    assert t.min() >= 100.0 and t.max() <= 2000.0
    assert np.mean(t) == pytest.approx(1050.0, rel=0.01)


@pytest.mark.parametrize("bad", [[], [-1, 2], [0, 0]])
def test_cumulative_rejects_bad_weights(bad: list[float]) -> None:
    with pytest.raises(ValueError, match="weights"):
        cumulative(bad)


def test_a_joined_stream_draws_what_each_stream_draws_for_its_rows() -> None:
    parts = [Stream.of(3, "pos", name) for name in ("shared", "dupes", "third")]
    joined = Stream.joined(*parts).child("field").child("kernel")
    r = [rows(500) + 7, rows(300), rows(40) + 10**9]
    drawn = joined.uniform(np.concatenate([tagged(x, i) for i, x in enumerate(r)]))
    alone = np.concatenate(
        [s.child("field").child("kernel").uniform(x) for s, x in zip(parts, r, strict=True)]
    )
    assert np.array_equal(drawn, alone)
    # The streams differ: the same rows draw differently from each.
    assert not np.array_equal(drawn[:300], drawn[500:800])


def test_joined_streams_refuse_what_they_cannot_draw() -> None:
    joined = Stream.joined(Stream(1), Stream(2))
    with pytest.raises(ValueError, match="joined again"):
        Stream.joined(joined, Stream(3))
    with pytest.raises(ValueError, match="too large"):
        tagged(np.array([1 << 60], dtype=np.uint64), 1)
