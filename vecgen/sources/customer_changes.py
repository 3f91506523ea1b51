"""The change feed (``customer_changes``, ``CustomerChanges``): today's updates and deletes.

With ``changes = P``, P percent of the customers known from earlier days change
today. The rows are worked out before the run from the earlier days' files
(:mod:`vecgen.changes`) and written after the generated batches, like the
archival customers; each batch itself gives no rows.
"""

from __future__ import annotations

from typing import ClassVar

import polars as pl

from vecgen.plan import Plan
from vecgen.sources.base import Batch, SourceBatch, WriteOptions
from vecgen.sources.customers import COLUMNS as CUSTOMER_COLUMNS
from vecgen.vocab import Vocab

CHANGE_COLUMNS = ("op", "changed_columns", "change_ts")
COLUMNS = ("customer_id", *CHANGE_COLUMNS, *CUSTOMER_COLUMNS[1:])


def empty(customers: pl.DataFrame) -> pl.DataFrame:
    """Return the file's columns, no rows, typed like ``customers`` (the parent's frame).

    Examples
    --------
    >>> import datetime as dt
    >>> from vecgen.config import Config
    >>> from vecgen.sources.customers import COLUMNS
    >>> frame = pl.DataFrame({c: [] for c in COLUMNS}, schema={c: pl.String for c in COLUMNS})
    >>> empty(frame).columns[:4]
    ['customer_id', 'op', 'changed_columns', 'change_ts']

    """
    return (
        customers.clear()
        .with_columns(
            pl.lit(None, dtype=pl.String).alias("op"),
            pl.lit(None, dtype=pl.String).alias("changed_columns"),
            pl.lit(None, dtype=pl.Datetime("us")).alias("change_ts"),
        )
        .select(COLUMNS)
    )


class CustomerChanges:
    """Moves, marriages, new phones and e-mail addresses, status changes and deletions."""

    name: ClassVar[str] = "customer_changes"
    parents: ClassVar[tuple[str, ...]] = ("customers",)
    write_options: ClassVar[WriteOptions] = WriteOptions(date_format="%m/%d/%Y")  # as customers

    def describe(self, plan: Plan) -> str:
        """Rows per run."""
        if not plan.config.changes:
            return "with changes = P: P% of the customers known from earlier days"
        return f"{plan.config.changes:g}% of the customers known from earlier days"

    def generate(self, plan: Plan, vocab: Vocab, batch: Batch) -> SourceBatch:
        """No rows per batch (the change rows come after the batches); the columns only."""
        return SourceBatch(empty(batch.upstream["customers"].select(CUSTOMER_COLUMNS)))
