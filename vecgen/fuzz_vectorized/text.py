"""Character-level kernels: typing slips, reading/hearing confusions and formatting noise.

Same contract as :mod:`vecgen.fuzz_vectorized.kernels`: a String column in, a
String column of the same length out, nulls kept, positions in characters.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable

import numpy as np
import polars as pl

from vecgen.fuzz_vectorized.ascii import with_others
from vecgen.fuzz_vectorized.kernels import (
    KernelContext,
    _column_and_positions,
    _frame,
    _positions,
)

# QWERTY rows; a key's neighbours are its row neighbours and the keys above/below it.
_ROWS = ("1234567890", "qwertyuiop", "asdfghjkl", "zxcvbnm")


@functools.cache
def keyboard_neighbours() -> dict[str, str]:
    """Return each key's QWERTY neighbours (lower case letters and digits).

    Examples
    --------
    >>> keyboard_neighbours()["s"]
    'adwezx'

    """
    out: dict[str, str] = {}
    for r, row in enumerate(_ROWS):
        for i, ch in enumerate(row):
            near = [row[j] for j in (i - 1, i + 1) if 0 <= j < len(row)]
            if r > 0:
                near += [_ROWS[r - 1][j] for j in (i, i + 1) if 0 <= j < len(_ROWS[r - 1])]
            if r + 1 < len(_ROWS):
                near += [_ROWS[r + 1][j] for j in (i - 1, i) if 0 <= j < len(_ROWS[r + 1])]
            out[ch] = "".join(near)
    return out


def _splice(values: pl.Series, p: pl.Series, middle: pl.Expr, skip: int) -> pl.Series:
    """Return ``v[:p] + middle + v[p+skip:]`` per row (``middle`` may use ``pl.col("v")``)."""
    v, i = pl.col("v"), pl.col("p")
    return (
        _frame(values, p=p)
        .select(v.str.slice(0, i) + middle + v.str.slice(i + skip))
        .to_series()
        .alias(values.name)
    )


def _neighbour(char: str, u: float) -> str:
    """Return a random QWERTY neighbour of ``char`` (same case), or ``char`` if it has none."""
    lower = char.lower()
    near = keyboard_neighbours().get(lower, "")
    if not near:
        return char
    pick = near[math.floor(u * len(near))]
    return pick.upper() if char != lower else pick


@functools.cache
def _neighbour_table() -> tuple[np.ndarray, np.ndarray]:
    """Per ASCII byte: its QWERTY neighbours (in the byte's case) and how many it has."""
    near = keyboard_neighbours()
    width = max(len(v) for v in near.values())
    table = np.zeros((128, width), dtype=np.uint8)
    count = np.zeros(128, dtype=np.int64)
    for b in range(128):
        char = chr(b)
        keys = near.get(char.lower(), "")
        keys = keys.upper() if char != char.lower() else keys
        count[b] = len(keys)
        table[b, : len(keys)] = np.frombuffer(keys.encode(), dtype=np.uint8)
    return table, count


def _neighbour_bytes(chars: np.ndarray, u: np.ndarray) -> np.ndarray:
    """:func:`_neighbour` for ASCII bytes: the same pick for the same ``u``."""
    table, count = _neighbour_table()
    c = chars.astype(np.int64) & 0x7F
    n = count[c]
    pick = np.floor(u * n).astype(np.int64)
    return np.where(n > 0, table[c, np.minimum(pick, table.shape[1] - 1)], chars).astype(np.uint8)


def keyboard_substitution(values: pl.Series, ctx: KernelContext) -> pl.Series:
    """Replace one character by a neighbouring key on a QWERTY keyboard (case kept).

    Characters without a neighbour (punctuation, non-Latin letters) stay.

    Examples
    --------
    >>> import numpy as np, polars as pl
    >>> from vecgen.rng import Stream
    >>> from vecgen.vocab import load
    >>> ctx = KernelContext(Stream(1), np.arange(3, dtype=np.uint64), load())
    >>> keyboard_substitution(pl.Series(["Smith", None, "é"]), ctx).to_list()
    ['Wmith', None, 'é']

    """
    column, positions = _column_and_positions(values, ctx, 0)
    keys = ctx.stream.child("key").uniform(ctx.rows)
    new = _neighbour_bytes(column.byte_at(positions), keys)
    rows = column.ascii & (column.chars > 0)  # an empty value stays empty
    out = column.series(column.replace(rows, positions, new), column.lengths)

    def edit(t: str, r: int) -> str:
        i = int(positions[r])
        return t[:i] + _neighbour(t[i : i + 1], float(keys[r])) + t[i + 1 :]

    return with_others(column, values, out, edit)


def insert_char(values: pl.Series, ctx: KernelContext) -> pl.Series:
    """Insert a neighbouring key's character after a random character (a slipped finger).

    Examples
    --------
    >>> import numpy as np, polars as pl
    >>> from vecgen.rng import Stream
    >>> from vecgen.vocab import load
    >>> ctx = KernelContext(Stream(1), np.arange(2, dtype=np.uint64), load())
    >>> insert_char(pl.Series(["Smith", None]), ctx).to_list()
    ['SWmith', None]

    """
    column, positions = _column_and_positions(values, ctx, 0)
    keys = ctx.stream.child("key").uniform(ctx.rows)
    # An empty value stays empty (there is no character to slip from).
    rows = column.ascii & (column.chars > 0)
    new = _neighbour_bytes(column.byte_at(positions), keys)
    data, lengths = column.insert(rows, positions + 1, new)
    out = column.series(data, lengths)

    def edit(t: str, r: int) -> str:
        i = int(positions[r])
        return t[: i + 1] + _neighbour(t[i : i + 1], float(keys[r])) + t[i + 1 :]

    return with_others(column, values, out, edit)


def delete_char(values: pl.Series, ctx: KernelContext) -> pl.Series:
    """Drop one character (values of one character or less stay).

    Examples
    --------
    >>> import numpy as np, polars as pl
    >>> from vecgen.rng import Stream
    >>> from vecgen.vocab import load
    >>> ctx = KernelContext(Stream(1), np.arange(3, dtype=np.uint64), load())
    >>> delete_char(pl.Series(["Smith", None, "A"]), ctx).to_list()
    ['mith', None, 'A']

    """
    column, positions = _column_and_positions(values, ctx, 0)
    data, lengths = column.delete(column.ascii & (column.chars >= 2), positions)
    out = column.series(data, lengths)

    def edit(t: str, r: int) -> str:
        i = int(positions[r])
        return t if len(t) < 2 else t[:i] + t[i + 1 :]

    return with_others(column, values, out, edit)


def space_insert(values: pl.Series, ctx: KernelContext) -> pl.Series:
    """Insert a space inside the value (never at either end).

    Examples
    --------
    >>> import numpy as np, polars as pl
    >>> from vecgen.rng import Stream
    >>> from vecgen.vocab import load
    >>> ctx = KernelContext(Stream(1), np.arange(3, dtype=np.uint64), load())
    >>> space_insert(pl.Series(["McDonald", None, "A"]), ctx).to_list()
    ['Mc Donald', None, 'A']

    """
    p = pl.Series(_positions(values, ctx, 1).to_numpy() + 1)
    out = _splice(values, p, pl.lit(" "), 0)
    return (
        pl.select(pl.when(values.str.len_chars() < 2).then(values).otherwise(out))
        .to_series()
        .alias(values.name)
    )


def space_remove(values: pl.Series, ctx: KernelContext) -> pl.Series:
    """Remove the first space (``"New York"`` -> ``"NewYork"``).

    Examples
    --------
    >>> import numpy as np, polars as pl
    >>> from vecgen.rng import Stream
    >>> from vecgen.vocab import load
    >>> ctx = KernelContext(Stream(1), np.arange(2, dtype=np.uint64), load())
    >>> space_remove(pl.Series(["New York Mills", None]), ctx).to_list()
    ['NewYork Mills', None]

    """
    return values.str.replace(" ", "", literal=True, n=1)


def _apply_rules(
    values: pl.Series,
    ctx: KernelContext,
    rules: tuple[tuple[str, str], ...],
    words: tuple[str, dict[str, int]] | None = None,
) -> pl.Series:
    """Apply one rule (regex, replacement) chosen at random among those that match, once.

    Values no rule matches stay unchanged. ``words`` (a regex finding whole
    words, and each word's rule) finds which rules match in one pass, for rules
    that each match exactly one word.
    """
    n = len(values)
    if words is not None and n:
        pattern, rule_of = words
        found = (
            pl.DataFrame({"v": values})
            .with_row_index("row")
            .select("row", pl.col("v").str.extract_all(pattern).alias("w"))
            .explode("w")
            .drop_nulls("w")
            .with_columns(pl.col("w").replace_strict(rule_of, default=None, return_dtype=pl.Int64))
            .drop_nulls("w")
        )
        pair = np.unique(
            found["row"].to_numpy().astype(np.int64) * len(rules) + found["w"].to_numpy()
        )
        hit_row, hit_rule = pair // len(rules), pair % len(rules)
    elif n:
        # Every rule's matches in one query (one call, the patterns run in parallel).
        v = pl.col("v")
        matches = (
            pl.DataFrame({"v": values})
            .select(
                (
                    v.str.contains(_literal(p) or "", literal=True)
                    if _literal(p) is not None
                    else v.str.contains(p)
                )
                .fill_null(False)
                .alias(str(r))
                for r, (p, _) in enumerate(rules)
            )
            .to_numpy()
            .astype(bool)
        )
        hit_row, hit_rule = np.nonzero(matches)  # by row, then rule
    else:
        hit_row = hit_rule = np.zeros(0, dtype=np.int64)
    # The k-th matching rule of each row (rules in their order), k drawn per row.
    count = np.bincount(hit_row, minlength=n)
    first = np.cumsum(count) - count
    k = (ctx.stream.child("rule").uniform(ctx.rows) * count).astype(np.int64)
    chosen = np.full(n, -1, dtype=np.int64)
    has = np.flatnonzero(count > 0)
    chosen[has] = hit_rule[first[has] + k[has]]
    at = np.flatnonzero(chosen >= 0)
    if len(at) == 0:
        return values.clone().alias(values.name)
    # The chosen rule of each row, applied in Python: a few hundred rows per call, where a
    # Polars query would evaluate every chosen rule on every row (one branch per rule).
    apply = _rule_functions(rules)
    changed = [
        apply[r](text) for text, r in zip(values[at].to_list(), chosen[at].tolist(), strict=True)
    ]
    out = values.clone()  # scatter works in place: never touch the input
    return out.scatter(at, pl.Series(changed, dtype=pl.String)).alias(values.name)


@functools.cache
def _rule_functions(rules: tuple[tuple[str, str], ...]) -> tuple[Callable[[str], str], ...]:
    r"""Return each rule as a function replacing its first match (Rust regex read as Python's).

    The rules' patterns use the syntax both engines share; ``$`` (end of text in
    Rust) becomes ``\Z`` (Python's ``$`` also matches before a final newline),
    and ``$1`` / ``${1}`` in a replacement become ``\g<1>``.

    Examples
    --------
    >>> [f("cathy") for f in _rule_functions((("c([aou])", "k$1"), ("y$", "ie")))]
    ['kathy', 'cathie']

    """

    def one(pattern: str, repl: str) -> Callable[[str], str]:
        plain = _literal(pattern)
        if plain is not None and "$" not in repl:
            return lambda text: text.replace(plain, repl, 1)
        regex = re.compile(re.sub(r"(?<!\\)\$$", r"\\Z", pattern))
        template = re.sub(r"\$\{?(\d+)\}?", r"\\g<\1>", repl)
        return lambda text: regex.sub(template, text, count=1)

    return tuple(one(pattern, repl) for pattern, repl in rules)


@functools.cache
def _literal(pattern: str) -> str | None:
    """Return the text a regex ``pattern`` matches if it is a plain (escaped) string, else None.

    Examples
    --------
    >>> _literal("ph"), _literal(re.escape("5.")), _literal("ie$")
    ('ph', '5.', None)

    """
    plain = re.sub(r"\\(.)", r"\1", pattern)
    return plain if re.escape(plain) == pattern else None


OCR_RULES: tuple[tuple[str, str], ...] = tuple(
    (re.escape(a), b)
    for a, b in (
        ("0", "O"),
        ("O", "0"),
        ("1", "l"),
        ("l", "1"),
        ("rn", "m"),
        ("m", "rn"),
        ("5", "S"),
        ("S", "5"),
        ("8", "B"),
        ("B", "8"),
        ("cl", "d"),
        ("d", "cl"),
        ("vv", "w"),
        ("w", "vv"),
        ("I", "l"),
        ("6", "G"),
        ("2", "Z"),
        ("e", "c"),
        ("h", "b"),
        ("u", "v"),
    )
)

PHONETIC_RULES: tuple[tuple[str, str], ...] = (
    ("ph", "f"),
    ("f", "ph"),
    ("ck", "k"),
    ("c([aou])", "k$1"),
    ("k", "c"),
    ("ie$", "y"),
    ("y$", "ie"),
    ("ee", "ea"),
    ("ea", "ee"),
    ("ou", "ow"),
    ("z", "s"),
    ("s([aeiou])", "z$1"),
    ("ll", "l"),
    ("tt", "t"),
    ("nn", "n"),
    ("ss", "s"),
    ("mm", "m"),
    ("rr", "r"),
    ("([aeiou])l([aeiou])", "${1}ll$2"),
    ("([aeiou])t([aeiou])", "${1}tt$2"),
    ("ei", "ie"),
    ("ie", "ei"),
    ("th", "t"),
    ("gh", "g"),
    ("w", "v"),
    ("ai", "ay"),
    ("ay", "ai"),
)


def ocr(values: pl.Series, ctx: KernelContext) -> pl.Series:
    """One optical-character-recognition confusion (0/O, 1/l, rn/m, 5/S, cl/d, ...).

    Examples
    --------
    >>> import numpy as np, polars as pl
    >>> from vecgen.rng import Stream
    >>> from vecgen.vocab import load
    >>> ctx = KernelContext(Stream(1), np.arange(3, dtype=np.uint64), load())
    >>> ocr(pl.Series(["Barnes", None, "10 Main"]), ctx).to_list()
    ['8arnes', None, 'l0 Main']

    """
    return _apply_rules(values, ctx, OCR_RULES)


def phonetic(values: pl.Series, ctx: KernelContext) -> pl.Series:
    """One spelling-by-ear variant (ph/f, c/k, -ie/-y, doubled or single letters, ...).

    Examples
    --------
    >>> import numpy as np, polars as pl
    >>> from vecgen.rng import Stream
    >>> from vecgen.vocab import load
    >>> ctx = KernelContext(Stream(1), np.arange(3, dtype=np.uint64), load())
    >>> phonetic(pl.Series(["Stephanie", None, "Qx"]), ctx).to_list()
    ['Stephany', None, 'Qx']

    """
    return _apply_rules(values, ctx, PHONETIC_RULES)


def lower(values: pl.Series, ctx: KernelContext) -> pl.Series:
    """Lower-case the whole value.

    Examples
    --------
    >>> import numpy as np, polars as pl
    >>> from vecgen.rng import Stream
    >>> from vecgen.vocab import load
    >>> lower(pl.Series(["McKay", None]), KernelContext(Stream(1), np.arange(2, dtype=np.uint64), load())).to_list()
    ['mckay', None]

    """
    return values.str.to_lowercase()


def title_case(values: pl.Series, ctx: KernelContext) -> pl.Series:
    """Title-case the value (``"MCKAY"`` -> ``"Mckay"``).

    Examples
    --------
    >>> import numpy as np, polars as pl
    >>> from vecgen.rng import Stream
    >>> from vecgen.vocab import load
    >>> c = KernelContext(Stream(1), np.arange(2, dtype=np.uint64), load())
    >>> title_case(pl.Series(["McKay", None]), c).to_list()
    ['Mckay', None]

    """
    return values.str.to_titlecase()


def middle_initial(values: pl.Series, ctx: KernelContext) -> pl.Series:
    """Add a middle initial, or drop one that is there (``"John"`` <-> ``"John Q."``).

    Examples
    --------
    >>> import numpy as np, polars as pl
    >>> from vecgen.rng import Stream
    >>> from vecgen.vocab import load
    >>> c = KernelContext(Stream(1), np.arange(3, dtype=np.uint64), load())
    >>> middle_initial(pl.Series(["John", "Ann B.", None]), c).to_list()
    ['John M.', 'Ann', None]

    """
    letters = pl.Series(list("ABCDEFGHIJKLMNOPRSTW")).gather(
        ctx.stream.child("letter").integers(ctx.rows, 0, 20)
    )
    has = values.str.contains(r"\s[A-Za-z]\.?$").fill_null(False)
    added = _frame(values, x=letters).select(pl.col("v") + " " + pl.col("x") + ".").to_series()
    dropped = values.str.replace(r"\s+[A-Za-z]\.?$", "")
    return dropped.zip_with(has, added).alias(values.name)


def name_suffix(values: pl.Series, ctx: KernelContext) -> pl.Series:
    """Append a generational suffix: Jr, Jr., Sr, II or III.

    Examples
    --------
    >>> import numpy as np, polars as pl
    >>> from vecgen.rng import Stream
    >>> from vecgen.vocab import load
    >>> c = KernelContext(Stream(1), np.arange(2, dtype=np.uint64), load())
    >>> name_suffix(pl.Series(["Smith", None]), c).to_list()
    ['Smith Sr', None]

    """
    sfx = pl.Series([" Jr", " Jr.", " Sr", " II", " III"]).gather(
        ctx.stream.child("sfx").integers(ctx.rows, 0, 5)
    )
    return _frame(values, s=sfx).select(pl.col("v") + pl.col("s")).to_series().alias(values.name)


def punctuation(values: pl.Series, ctx: KernelContext) -> pl.Series:
    """Punctuation or whitespace noise: a trailing period, a doubled space, or marks removed.

    Examples
    --------
    >>> import numpy as np, polars as pl
    >>> from vecgen.rng import Stream
    >>> from vecgen.vocab import load
    >>> c = KernelContext(Stream(2), np.arange(3, dtype=np.uint64), load())
    >>> punctuation(pl.Series(["St. John's", "12 Oak St", None]), c).to_list()
    ["St. John's.", '12 Oak St.', None]

    """
    which = pl.Series(ctx.stream.child("kind").integers(ctx.rows, 0, 3))
    v, w = pl.col("v"), pl.col("w")
    stripped = v.str.replace_all(r"[.,'\-]", "")
    doubled = v.str.replace(" ", "  ", literal=True, n=1)
    period = v + "."
    return (
        _frame(values, w=which)
        .select(
            pl.when((w == 0) & (stripped != v))
            .then(stripped)
            .when((w == 1) & v.str.contains(" ", literal=True))
            .then(doubled)
            .otherwise(period)
        )
        .to_series()
        .alias(values.name)
    )


ABBREVIATIONS: tuple[tuple[str, str], ...] = (
    ("Street", "St"),
    ("Avenue", "Ave"),
    ("Road", "Rd"),
    ("Drive", "Dr"),
    ("Boulevard", "Blvd"),
    ("Lane", "Ln"),
    ("Court", "Ct"),
    ("Place", "Pl"),
    ("Terrace", "Ter"),
    ("Parkway", "Pkwy"),
    ("Highway", "Hwy"),
    ("Circle", "Cir"),
    ("Square", "Sq"),
    ("Trail", "Trl"),
    ("Mount", "Mt"),
    ("Saint", "St"),
    ("North", "N"),
    ("South", "S"),
    ("East", "E"),
    ("West", "W"),
    ("Apartment", "Apt"),
    ("Suite", "Ste"),
    ("Heights", "Hts"),
    ("Junction", "Jct"),
)
ABBREVIATION_RULES: tuple[tuple[str, str], ...] = tuple(
    (rf"\b{long}\b", short) for long, short in ABBREVIATIONS
) + tuple(
    (rf"\b{short}\b\.?", long)
    for long, short in ABBREVIATIONS
    if short not in ("St", "S", "N", "E", "W")
)
# Each rule matches one whole word: which rules match is found with one regex.
_ABBREVIATION_WORDS: dict[str, int] = {
    **{long: i for i, (long, _) in enumerate(ABBREVIATIONS)},
    **{
        short: len(ABBREVIATIONS) + j
        for j, short in enumerate(
            s for _, s in ABBREVIATIONS if s not in ("St", "S", "N", "E", "W")
        )
    },
}
_ABBREVIATION_FINDER = (
    r"\b(?:" + "|".join(sorted(_ABBREVIATION_WORDS, key=lambda w: (-len(w), w))) + r")\b"
)


def abbreviate(values: pl.Series, ctx: KernelContext) -> pl.Series:
    """Abbreviate a word (Street -> St, North -> N, ...) or spell an abbreviation out.

    Examples
    --------
    >>> import numpy as np, polars as pl
    >>> from vecgen.rng import Stream
    >>> from vecgen.vocab import load
    >>> c = KernelContext(Stream(1), np.arange(3, dtype=np.uint64), load())
    >>> abbreviate(pl.Series(["12 North Oak Street", "4 Elm Ave", None]), c).to_list()
    ['12 N Oak Street', '4 Elm Avenue', None]

    """
    return _apply_rules(
        values, ctx, ABBREVIATION_RULES, (_ABBREVIATION_FINDER, _ABBREVIATION_WORDS)
    )
