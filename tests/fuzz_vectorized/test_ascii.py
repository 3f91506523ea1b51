"""The byte-level typing kernels give the text the per-row, per-character edits give.

Each reference below is the kernel's per-row Python on characters (what the
kernels ran before their ASCII rows moved to NumPy); both read the same
draws, so every row must come out the same, whatever its characters.
"""

from __future__ import annotations

import numpy as np
import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from vecgen.fuzz_vectorized import KERNELS, KernelContext
from vecgen.fuzz_vectorized.ascii import Column
from vecgen.fuzz_vectorized.text import _neighbour  # the per-character pick
from vecgen.rng import Stream
from vecgen.vocab import load


def _draws(ctx: KernelContext, texts: list[str | None], span: int) -> list[int]:
    n = np.array([len(t) if t is not None else 0 for t in texts], dtype=np.int64)
    return ctx.stream.child("pos").integers(ctx.rows, 0, np.maximum(n - span, 1)).tolist()


def _swap(texts: list[str | None], ctx: KernelContext) -> list[str | None]:
    pos = _draws(ctx, texts, 1)
    return [
        None if t is None else t[:i] + t[i + 1 : i + 2] + t[i : i + 1] + t[i + 2 :]
        for t, i in zip(texts, pos, strict=True)
    ]


def _keyboard(texts: list[str | None], ctx: KernelContext) -> list[str | None]:
    pos, keys = _draws(ctx, texts, 0), ctx.stream.child("key").uniform(ctx.rows).tolist()
    return [
        None if t is None else t[:i] + _neighbour(t[i : i + 1], u) + t[i + 1 :]
        for t, i, u in zip(texts, pos, keys, strict=True)
    ]


def _insert(texts: list[str | None], ctx: KernelContext) -> list[str | None]:
    pos, keys = _draws(ctx, texts, 0), ctx.stream.child("key").uniform(ctx.rows).tolist()
    return [
        None if t is None else t[: i + 1] + _neighbour(t[i : i + 1], u) + t[i + 1 :]
        for t, i, u in zip(texts, pos, keys, strict=True)
    ]


def _delete(texts: list[str | None], ctx: KernelContext) -> list[str | None]:
    pos = _draws(ctx, texts, 0)
    return [
        t if t is None or len(t) < 2 else t[:i] + t[i + 1 :]
        for t, i in zip(texts, pos, strict=True)
    ]


def _digit(texts: list[str | None], ctx: KernelContext) -> list[str | None]:
    pos, plus = _draws(ctx, texts, 0), ctx.stream.child("delta").integers(ctx.rows, 1, 10).tolist()
    out: list[str | None] = []
    for t, i, d in zip(texts, pos, plus, strict=True):
        if t is None:
            out.append(None)
            continue
        j = i if "0" <= t[i : i + 1] <= "9" else i + 1
        ch = t[j : j + 1]
        ok = len(ch) == 1 and "0" <= ch <= "9"
        out.append(t[:j] + str((int(ch) + d) % 10) + t[j + 1 :] if ok else t)
    return out


REFERENCES = {
    "swap_adjacent": _swap,
    "keyboard_substitution": _keyboard,
    "insert_char": _insert,
    "delete_char": _delete,
    "digit": _digit,
}

# ASCII letters, digits, punctuation and space, with a few other characters mixed in.
TEXT = st.text(
    alphabet=st.sampled_from([*"aZqM09 -@.,'", "é", "ß", "Ж", "字", "\U0001f600"]), max_size=9
)


@settings(max_examples=150, deadline=None)
@given(
    name=st.sampled_from(sorted(REFERENCES)),
    texts=st.lists(st.none() | TEXT, min_size=0, max_size=30),
    seed=st.integers(0, 2**32),
    cut=st.integers(0, 3),
)
def test_byte_kernels_match_character_edits(
    name: str, texts: list[str | None], seed: int, cut: int
) -> None:
    """Every row equals the per-character edit, for sliced and chunked columns too."""
    padded = ["x" * cut, *texts]
    whole = pl.concat(
        [pl.Series(padded[:2], dtype=pl.String), pl.Series(padded[2:], dtype=pl.String)],
        rechunk=False,
    )
    values = whole.slice(1) if cut else whole  # a slice: the Arrow array has an offset
    rows = np.arange(values.len(), dtype=np.uint64) * 7 + 3
    ctx = KernelContext(Stream(seed), rows, load(), None, "name")
    got = KERNELS[name](values, ctx)
    assert got.dtype == pl.String
    assert got.to_list() == REFERENCES[name](values.to_list(), ctx)


def test_column_reads_bytes_and_characters() -> None:
    """Offsets, ASCII rows and character lengths come from the Arrow buffers."""
    column = Column.of(pl.Series(["ab", None, "", "é1", "xyz"]).slice(1))
    assert column.ascii.tolist() == [False, True, False, True]
    assert column.chars.tolist() == [0, 0, 2, 3]
    assert column.lengths.tolist() == [0, 0, 3, 3]
    data, lengths = column.delete(np.array([False, False, False, True]), np.array([0, 0, 0, 1]))
    assert column.series(data, lengths).to_list() == [None, "", "é1", "xz"]
