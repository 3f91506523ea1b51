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


def _logged(column: str) -> tuple[str, ...]:
    """Return the names a corruption of ``column`` is logged under."""
    return (column, *ADDRESS_PARTS) if column == "addr_ln_1_txt" else (column,)


def drop_from_log(log: pl.Series, rows: np.ndarray, column: str) -> pl.Series:
    """Remove ``column``'s entries from the log of ``rows`` (an empty log becomes null).

    Examples
    --------
    >>> log = pl.Series(["city:moved|phone:digit", "phone:digit", "email:blank"])
    >>> drop_from_log(log, np.array([0, 1]), "phone").to_list()
    ['city:moved', None, 'email:blank']

    """
    if len(rows) == 0:
        return log
    names = _logged(column)
    part = pl.element().str.split(":").list.first()
    kept = (
        log.gather(rows)
        .str.split("|")
        .list.eval(pl.element().filter(~part.is_in(list(names))))
        .list.join("|")
    )
    kept = pl.select(pl.when(kept.str.len_chars() > 0).then(kept)).to_series()
    return log.clone().scatter(rows, kept.cast(log.dtype))


def apply_completeness(
    plan: Plan,
    source: str,
    people: pl.DataFrame,
    keys: U64,
    log: pl.Series | None = None,
) -> tuple[pl.DataFrame, pl.Series | None]:
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
    >>> out, _ = apply_completeness(plan, "pos_customers", f, np.arange(1000, dtype=np.uint64))
    >>> 0.8 < out["birth_dt"].null_count() / 1000 < 0.95
    True

    """
    rates = plan.config.completeness_rates(source)
    columns = {}
    for column, fill in rates.items():
        if column not in people.columns or fill >= 100:
            continue
        miss = plan.stream(source, f"missing/{column}").bernoulli(keys, 1.0 - fill / 100.0)
        at = np.flatnonzero(miss)
        if log is not None and len(at):
            # A duplicate keeps the value when it is the only corruption it has left.
            only = (
                drop_from_log(log, at, column).gather(at).is_null() & log.gather(at).is_not_null()
            )
            at = at[~only.to_numpy()]
        if len(at) == 0:
            continue
        columns[column] = people[column].clone().scatter(at, None)
        columns[FULL + column] = people[column].alias(FULL + column)
        if log is not None:
            log = drop_from_log(log, at, column)
    return (people.with_columns(list(columns.values())) if columns else people), log


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
