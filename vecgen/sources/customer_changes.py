"""The change feeds: today's updates and deletes of the records of earlier days.

- ``customer_changes`` (``CustomerChanges``): with ``changes = P``, P percent of
  the customers known from earlier days change today.
- ``loyalty_changes`` (``CustomersLmsChanges``) and ``pos_customer_changes``
  (``CustomersPosChanges``): the loyalty and POS systems record those changes
  in their own copies of the person on later days, each after its own delay.

The rows are worked out before the run from the earlier days' files
(:mod:`vecgen.changes`) and written after the generated batches, like the
archival customers; each batch itself gives no rows. A feed's columns are its
system's key, ``op``, ``changed_columns``, ``change_ts`` and the rest of the
system's record.
"""

from __future__ import annotations

from typing import ClassVar

import polars as pl

from vecgen.catalog import CHANGE_FEEDS
from vecgen.plan import Plan
from vecgen.sources.base import Batch, SourceBatch, WriteOptions
from vecgen.sources.customers import COLUMNS as CUSTOMER_COLUMNS
from vecgen.sources.loyalty import COLUMNS as LOYALTY_COLUMNS
from vecgen.vocab import Vocab

CHANGE_COLUMNS = ("op", "changed_columns", "change_ts")
SYSTEM_COLUMNS: dict[str, tuple[str, ...]] = {  # a system's record, its key first
    "customers": CUSTOMER_COLUMNS,
    "loyalty": LOYALTY_COLUMNS,
    "pos_customers": CUSTOMER_COLUMNS,
}


def feed_columns(system: str) -> tuple[str, ...]:
    """Return the columns of ``system``'s change feed: key, the change, the record.

    Examples
    --------
    >>> feed_columns("loyalty")[:5]
    ('lm_id', 'op', 'changed_columns', 'change_ts', 'name_first')

    """
    record = SYSTEM_COLUMNS[system]
    return (record[0], *CHANGE_COLUMNS, *record[1:])


COLUMNS = feed_columns("customers")


def empty(records: pl.DataFrame, system: str = "customers") -> pl.DataFrame:
    """Return the feed's columns, no rows, typed like ``records`` (the system's frame).

    Examples
    --------
    >>> from vecgen.sources.customers import COLUMNS
    >>> frame = pl.DataFrame({c: [] for c in COLUMNS}, schema={c: pl.String for c in COLUMNS})
    >>> empty(frame).columns[:4]
    ['customer_id', 'op', 'changed_columns', 'change_ts']

    """
    return (
        records.clear()
        .with_columns(
            pl.lit(None, dtype=pl.String).alias("op"),
            pl.lit(None, dtype=pl.String).alias("changed_columns"),
            pl.lit(None, dtype=pl.Datetime("us")).alias("change_ts"),
        )
        .select(feed_columns(system))
    )


class _ChangeFeed:
    """A system's updates and deletes of its records (rows come after the batches)."""

    name: ClassVar[str]
    parents: ClassVar[tuple[str, ...]]
    write_options: ClassVar[WriteOptions] = WriteOptions(date_format="%m/%d/%Y")  # as its system

    def generate(self, plan: Plan, vocab: Vocab, batch: Batch) -> SourceBatch:
        """No rows per batch (the change rows come after the batches); the columns only."""
        system = CHANGE_FEEDS[self.name]
        records = batch.upstream[system].select(SYSTEM_COLUMNS[system])
        return SourceBatch(empty(records, system))


class CustomerChanges(_ChangeFeed):
    """Moves, marriages, new phones and e-mail addresses, status changes and deletions."""

    name: ClassVar[str] = "customer_changes"
    parents: ClassVar[tuple[str, ...]] = ("customers",)

    def describe(self, plan: Plan) -> str:
        """Rows per run."""
        if not plan.config.changes:
            return "with changes = P: P% of the customers known from earlier days"
        return f"{plan.config.changes:g}% of the customers known from earlier days"


class LoyaltyChanges(_ChangeFeed):
    """The loyalty system catching up with earlier days' customer changes."""

    name: ClassVar[str] = "loyalty_changes"
    parents: ClassVar[tuple[str, ...]] = ("loyalty",)

    def describe(self, plan: Plan) -> str:
        """Rows per run."""
        return "earlier days' customer changes, due today in the loyalty system"


class PosCustomerChanges(_ChangeFeed):
    """The point-of-sale system catching up with earlier days' customer changes."""

    name: ClassVar[str] = "pos_customer_changes"
    parents: ClassVar[tuple[str, ...]] = ("pos_customers",)

    def describe(self, plan: Plan) -> str:
        """Rows per run."""
        return "earlier days' customer changes, due today in the POS system"
