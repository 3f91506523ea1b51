"""Per-system completeness: each system captured each person column only so often.

A value a system never captured is null (empty in CSV). Which cells are
missing is keyed by ``(seed, source, column, row key)``, so it does not
depend on batching. A duplicate's corruption log drops the fields its system
did not capture: a missing value is not a corruption. A duplicate keeps a
value when it is its last corruption, so every duplicate still differs from
its original and has a non-empty log.
"""

from __future__ import annotations

import re

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
    # "|field:kernel|field:kernel": an entry is "|" up to the next "|"; one regex per column
    # removes its entries from the rows that miss it.
    work = ("|" + log[logged]).alias(log.name)
    for name, m in miss.items():
        at = np.flatnonzero(m[logged])
        if len(at) == 0:
            continue
        fields = (name, *ADDRESS_PARTS) if name == "addr_ln_1_txt" else (name,)
        # Most rows do not log the column: a literal search finds those that do first
        # (a regex replacement costs about three times as much per row).
        at = at[work[at].str.contains_any([f"|{f}:" for f in fields]).to_numpy()]
        if len(at) == 0:
            continue
        pattern = r"\|(?:" + "|".join(re.escape(f) for f in fields) + r"):[^|]*"
        work = work.scatter(at, work[at].str.replace_all(pattern, ""))
    # Rows left with nothing keep their last logged field (every entry of it).
    empty = np.flatnonzero((work == "").to_numpy())
    if len(empty):
        kept, last = _last_field(log.gather(logged[empty]))
        for column in np.unique(last).tolist():
            miss[column][logged[empty[last == column]]] = False
        work = work.scatter(empty, kept)
    return log.clone().scatter(logged, work.str.slice(1))


def _last_field(logs: pl.Series) -> tuple[pl.Series, np.ndarray]:
    """Keep each log's entries of the column its last entry changed: ``("|" + kept, column)``.

    Examples
    --------
    >>> kept, last = _last_field(pl.Series(["city:a|addr_number:b|phone:c|addr_street:d"]))
    >>> kept.to_list(), last.tolist()
    (['|addr_number:b|addr_street:d'], ['addr_ln_1_txt'])

    """
    parts = ADDRESS_PARTS
    entries = (
        pl.DataFrame({"entry": logs.str.split("|")})
        .with_row_index("row")
        .explode("entry")
        .with_columns(field=pl.col("entry").str.split_exact(":", 1).struct.field("field_0"))
        .with_columns(
            column=pl.when(pl.col("field").is_in(parts))
            .then(pl.lit("addr_ln_1_txt"))
            .otherwise(pl.col("field"))
        )
    )
    last = entries.group_by("row", maintain_order=True).agg(pl.col("column").last())
    kept = (
        entries.filter(pl.col("column") == pl.col("column").last().over("row"))
        .group_by("row", maintain_order=True)
        .agg(pl.col("entry").str.join("|"))
    )
    return "|" + kept["entry"], last["column"].to_numpy()


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
