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
    """Drop the logged fields that go missing from the log (one pass over the duplicates).

    A duplicate whose every logged field would go missing keeps the value of
    the last field of its log (``miss`` is cleared there, in place), so every
    duplicate keeps at least one corruption.

    Examples
    --------
    >>> log = pl.Series(["city:moved|phone:digit", "phone:digit", None])
    >>> miss = {"phone": np.array([True, True, True]), "city": np.array([False, True, True])}
    >>> _trim_log(log, miss).to_list(), miss["phone"].tolist(), miss["city"].tolist()
    (['city:moved', 'phone:digit', None], [True, False, True], [False, True, True])

    """
    logged = np.flatnonzero(log.is_not_null().to_numpy())
    if len(logged) == 0:
        return log
    entries = (
        pl.DataFrame({"row": logged, "entry": log.gather(logged)})
        .with_columns(pl.col("entry").str.split("|"))
        .explode("entry")
    )
    field = entries["entry"].str.split_exact(":", 1).struct.field("field_0")
    column = field.replace({part: "addr_ln_1_txt" for part in ADDRESS_PARTS})
    rows = entries["row"].to_numpy()
    names = list(miss)
    code = np.full(len(rows), -1, dtype=np.int64)
    gone = np.zeros(len(rows), dtype=bool)
    for k, name in enumerate(names):
        sel = (column == name).fill_null(False).to_numpy()
        code[sel] = k
        gone[sel] = miss[name][rows[sel]]
    # Rows left with nothing keep their last logged field (entries of a row are contiguous).
    first = np.r_[True, rows[1:] != rows[:-1]]
    group = np.cumsum(first) - 1
    ends = np.r_[np.flatnonzero(first)[1:], len(rows)] - 1
    kept = np.bincount(group, weights=~gone, minlength=len(ends))
    empty = kept[group] == 0
    if empty.any():
        target = code[ends[group]]
        gone[empty & (code == target)] = False
        for k, name in enumerate(names):
            miss[name][rows[ends[(kept == 0) & (code[ends] == k)]]] = False
    trimmed = (
        entries.with_columns(pl.Series("gone", gone))
        .group_by("row", maintain_order=True)
        .agg(pl.col("entry").filter(~pl.col("gone")).str.join("|"))
    )
    return log.clone().scatter(logged, trimmed["entry"].cast(log.dtype))


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
