"""Ground truth (``truth``): one row per person-bearing record of every source.

The other sources produce their truth rows; this source only collects them, in
source order, so the file is written like any other.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import polars as pl

from vecgen.plan import Plan
from vecgen.sources.base import TRUTH_SCHEMA, Batch, SourceBatch, WriteOptions
from vecgen.vocab import Vocab

TRUTH_PREFIX = "truth:"


class Truth:
    """Which records are the same person, and how each duplicate was corrupted."""

    name: ClassVar[str] = "truth"
    parents: ClassVar[tuple[str, ...]] = ()
    write_options: ClassVar[WriteOptions] = WriteOptions()

    def describe(self, plan: Plan) -> str:
        """Rows per customer."""
        return "1 per person-bearing record of every source"

    def generate(self, plan: Plan, vocab: Vocab, batch: Batch) -> SourceBatch:
        """Collect the truth rows the other sources made for this batch.

        Rows are ordered by (block, source, row): batches hold whole blocks, so
        the file's order does not depend on the batch size.
        """
        parts = [f for k, f in batch.upstream.items() if k.startswith(TRUTH_PREFIX)]
        if not parts:
            return SourceBatch(pl.DataFrame(schema=TRUTH_SCHEMA))
        # The order: block, then source, then row (a stable sort of the blocks, parts in
        # source order). Each column is gathered on its own, so no second copy of the
        # batch's whole truth is held: sorting the concatenated frame peaked ~65 MiB
        # higher at 100,000 customers a batch (benchmarks/RESULTS.md, session 13).
        blocks = np.concatenate([f["__block"].to_numpy() for f in parts])
        order = pl.Series(np.argsort(blocks, kind="stable"))
        frame = pl.DataFrame(
            [pl.concat([f[c] for f in parts], rechunk=True).gather(order) for c in TRUTH_SCHEMA]
        )
        return SourceBatch(with_households(frame, batch))


def with_households(truth: pl.DataFrame, batch: Batch) -> pl.DataFrame:
    """Fill the ``household_id`` a source left out from its entity's household (itself if none).

    The batch's customers carry their household (the entity of its first
    member); every record of a customer's entity, in any source, lives there.
    Sources that copy customers' rows pass it on themselves (a look-up by text
    costs about 50 ns a row); the rest are looked up here.
    """
    missing = np.flatnonzero(truth["household_id"].is_null().to_numpy())
    if len(missing) == 0:
        return truth
    customers = batch.upstream.get("customers")
    filled = pl.col("household_id").fill_null(pl.col("entity_id"))
    if customers is None or "__household" not in customers.columns:
        return truth.with_columns(filled)
    # Only people who live with someone need a look-up; everybody else lives alone.
    homes = customers.filter(pl.col("__household") != pl.col("__entity")).unique(
        "__entity", keep="first", maintain_order=True
    )
    if homes.height == 0:
        return truth.with_columns(filled)
    found = truth["entity_id"][missing].replace(homes["__entity"], homes["__household"])
    return truth.with_columns(truth["household_id"].clone().scatter(missing, found))
