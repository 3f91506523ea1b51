"""Per-system completeness: each system captured each person column only so often.

A value a system never captured is null (empty in CSV). Which cells are
missing is keyed by ``(seed, source, column, row key)``, so it does not
depend on batching. A duplicate's corruption log drops the fields its system
did not capture: a missing value is not a corruption. A duplicate keeps a
value when it is its last corruption, so every duplicate still differs from
its original and has a non-empty log.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from vecgen.catalog import ADDRESS_PARTS
from vecgen.plan import Plan
from vecgen.rng import U64

ADDRESS = "addr_ln_1_txt"  # the column whose parts (ADDRESS_PARTS) a log may name


def apply_completeness(
    plan: Plan,
    source: str,
    people: pl.DataFrame,
    keys: U64,
    log: pl.Series,
) -> tuple[pl.DataFrame, pl.Series]:
    """Blank the values ``source`` did not capture; return the frame and the trimmed log.

    ``keys`` are the rows' keys (file positions); ``log`` is the corruption log
    of every row (null for clean records). The complete values stay in hidden
    ``__full_<column>`` columns: other systems copy the person, not this
    system's record of them (see :func:`complete`).

    Examples
    --------
    >>> import datetime as dt
    >>> from vecgen.config import Config
    >>> from vecgen.plan import resolve
    >>> plan = resolve(Config(fuzz_profile="medium", date=dt.date(2026, 1, 1)))
    >>> f = pl.DataFrame({"birth_dt": [dt.date(1980, 1, 1)] * 1000})
    >>> clean = pl.Series([None] * 1000, dtype=pl.String)  # no corruptions: clean records
    >>> out, _ = apply_completeness(plan, "pos_customers", f, np.arange(1000, dtype=np.uint64), clean)
    >>> 0.8 < out["birth_dt"].null_count() / 1000 < 0.95
    True

    """
    rates = plan.config.completeness_rates(source)
    miss = {
        column: plan.stream(source, f"missing/{column}").bernoulli(keys, 1.0 - fill / 100.0)
        for column, fill in rates.items()
        if column in people.columns and fill < 100
    }
    if not miss:
        return people, log
    log = _trim_log(log, miss)
    columns = []
    for column, m in miss.items():
        at = np.flatnonzero(m)
        if len(at):
            columns.append(people[column].clone().scatter(at, None))
            columns.append(people[column].alias(FULL + column))
    return (people.with_columns(columns) if columns else people), log


def _trim_log(log: pl.Series, miss: dict[str, np.ndarray]) -> pl.Series:
    """Drop the logged fields that go missing from the log (one pass over the entries).

    A duplicate whose every logged field would go missing keeps the entries of
    the column its last entry changed (``miss`` is cleared there, in place), so
    every duplicate keeps at least one corruption.

    Examples
    --------
    >>> log = pl.Series(["city:moved|phone:digit", "phone:digit", None])
    >>> miss = {"phone": np.array([True, True, True]), "city": np.array([False, True, True])}
    >>> _trim_log(log, miss).to_list(), miss["phone"].tolist(), miss["city"].tolist()
    (['city:moved', 'phone:digit', None], [True, False, True], [False, True, True])
    >>> miss = {"addr_ln_1_txt": np.array([True])}
    >>> _trim_log(pl.Series(["city:a|addr_number:b|phone:c|addr_street:d"]), miss).to_list()
    ['city:a|phone:c']

    """
    logged = np.flatnonzero(log.is_not_null().to_numpy())
    if len(logged) == 0:
        return log
    # Every entry ("field:kernel") of every logged row, rows in order: its row and its field
    # (found once per distinct entry: a few hundred).
    lists = log.gather(logged).str.split("|")
    lengths = lists.list.len().to_numpy().astype(np.int64)
    entries = lists.explode()
    row = np.repeat(np.arange(len(logged)), lengths)
    names = sorted({*miss, *ADDRESS_PARTS})
    distinct = entries.unique().to_list()
    code = np.asarray(
        entries.replace_strict(
            distinct,
            [names.index(f) if (f := e.split(":")[0]) in names else -1 for e in distinct],
            return_dtype=pl.Int32,
        ).to_numpy(),
        dtype=np.int64,
    )
    # An entry goes when its row misses its column (an address part's column is the address).
    dropped = np.zeros(len(code), dtype=bool)
    for name, m in miss.items():
        logged_as = np.zeros(len(names) + 1, dtype=bool)  # by code (-1, the last: none)
        parts = ADDRESS_PARTS if name == ADDRESS else ()
        logged_as[[names.index(f) for f in (name, *parts)]] = True
        dropped |= logged_as[code] & m[logged][row]
    if not dropped.any():
        return log
    starts = np.cumsum(lengths) - lengths
    # Rows left with nothing keep their last entry's column (every entry of it).
    empty = np.flatnonzero(np.add.reduceat(~dropped, starts) == 0)
    if len(empty):
        is_part = np.zeros(len(names) + 1, dtype=bool)
        is_part[[names.index(f) for f in ADDRESS_PARTS]] = True
        column = np.where(is_part[code], -2, code)  # -2: the address, whichever part
        last = column[starts[empty] + lengths[empty] - 1]
        keep = np.full(len(logged), -3, dtype=np.int64)  # -3: no column (rows not emptied)
        keep[empty] = last
        dropped &= column != keep[row]
        for value in np.unique(last).tolist():
            miss[ADDRESS if value == -2 else names[value]][logged[empty[last == value]]] = False
    # The rows that lost an entry, their entries joined again (a list column from its offsets).
    import pyarrow as pa  # (loaded by the run's warm-up, not at start-up)

    changed = np.flatnonzero(np.add.reduceat(dropped, starts) > 0)
    counts = np.add.reduceat(~dropped, starts)[changed]
    values = entries.filter(pl.Series(~dropped & np.isin(row, changed))).to_arrow()
    offsets = pa.array(np.concatenate([[0], np.cumsum(counts)]).astype(np.int32))
    joined = pl.Series(pa.ListArray.from_arrays(offsets, values)).list.join("|")
    return log.clone().scatter(logged[changed], joined)


FULL = "__full_"


def complete(frame: pl.DataFrame) -> pl.DataFrame:
    """Put back the values a system did not capture (for systems that copy its people).

    Examples
    --------
    >>> f = pl.DataFrame({"phone": [None, "1"], "__full_phone": ["0", "1"]})
    >>> complete(f)["phone"].to_list()
    ['0', '1']

    """
    full = [c for c in frame.columns if c.startswith(FULL)]
    if not full:
        return frame
    return frame.with_columns(pl.col(c).alias(c[len(FULL) :]) for c in full)
