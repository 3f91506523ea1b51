"""Primary transactions (``CustomersTransactions``): 1..N per customer row, duplicates included.

A customer's transaction count is keyed by its file position; every other
column is keyed by the transaction's global index, so IDs and values do not
depend on how the run is batched.
"""

from __future__ import annotations

import datetime as dt
from typing import ClassVar

import numpy as np
import polars as pl

from vecgen.catalog import TRANSACTION_COLUMNS
from vecgen.plan import Plan
from vecgen.sources.base import Batch, SourceBatch, WriteOptions
from vecgen.vocab import Vocab

COLUMNS = TRANSACTION_COLUMNS
FULL_WINDOW = dt.timedelta(days=5 * 365)
DAILY_WINDOW = dt.timedelta(hours=24)


def transaction_frame(
    plan: Plan,
    namespace: str,
    customer_ids: pl.Series,
    positions: np.ndarray,
    offset: int,
    id_start: int,
) -> pl.DataFrame:
    """Transactions for customers at file ``positions``; the first gets global index ``offset``.

    Shared by every source of transactions (web shop, point of sale); ``orderid``
    is ``id_start + index + 1``. The per-customer count is keyed by position, as
    :meth:`~vecgen.plan.Plan.fan_out_total` computes it.
    """
    cfg = plan.config
    counts = plan.stream(namespace, "count").integers(
        positions.astype(np.uint64), 1, cfg.max_trans_per_customer + 1
    )
    total = int(counts.sum())
    t = np.arange(offset, offset + total, dtype=np.uint64)

    s = plan.streams(namespace)
    window = FULL_WINDOW if cfg.trans_type == "full" else DAILY_WINDOW
    window_us = int(window.total_seconds()) * 1_000_000
    ago_us = s("purchasedate").integers(t, 1, window_us // 1_000_000 + 1) * 1_000_000
    amount = np.round(s("transactiontotal").triangular(t, 100.0, 1050.0, 2000.0), 2)
    items = s("numberofitems").integers(t, 1, 16)
    code = s("productcode").integers(t, 700_000_000, 900_000_001)
    return (
        pl.DataFrame(
            {
                "customer_id": customer_ids.gather(np.repeat(np.arange(len(counts)), counts)),
                "orderid": pl.Series(id_start + 1 + t.astype(np.int64), dtype=pl.Int64),
                "purchasedate": pl.Series(ago_us).cast(pl.Duration("us")),
                "transactiontotal": amount,
                "pointsearned": np.round(amount * cfg.points_earned / 100).astype(np.int64),
                "numberofitems": items,
                "avgitemprice": np.round(amount / items, 2),
                "productcode": code,
                # "PR" and the code's first three digits (codes have nine), by look-up.
                "productcategory": _CATEGORIES[code // 1_000_000 - 700],
                "storeorwebid": s("storeorwebid").integers(t, 100, 301),
            }
        )
        .with_columns(
            purchasedate=pl.lit(plan.run_ts) - pl.col("purchasedate"),
        )
        .select(COLUMNS)
    )


_CATEGORIES = pl.Series([f"PR{k}" for k in range(700, 901)], dtype=pl.String)


class Transactions:
    """The web shop's transactions for every customer row."""

    name: ClassVar[str] = "transactions"
    parents: ClassVar[tuple[str, ...]] = ("customers",)
    write_options: ClassVar[WriteOptions] = WriteOptions(
        float_precision=2, money=("transactiontotal", "avgitemprice")
    )

    def describe(self, plan: Plan) -> str:
        """Rows per customer."""
        return f"1..{plan.config.max_trans_per_customer} per customer row (duplicates included)"

    def rows_between(self, plan: Plan, lo: int, hi: int) -> int:
        """Transactions of the customer rows of the blocks from clean index ``lo`` to ``hi`` (from the plan)."""
        first, stop = (int(p) for p in np.array([lo, hi]) + plan.dupes_before(np.array([lo, hi])))
        return plan.fan_out_total(
            self.name, "count", stop, 1, plan.config.max_trans_per_customer, first
        )

    def generate(self, plan: Plan, vocab: Vocab, batch: Batch) -> SourceBatch:
        """Transactions of this batch's customers, numbered after the earlier batches'."""
        customers = batch.upstream["customers"]
        frame = transaction_frame(
            plan,
            self.name,
            customers["customer_id"],
            customers["__pos"].to_numpy(),
            batch.offsets[self.name],
            plan.transaction_id_start,
        )
        return SourceBatch(frame)
