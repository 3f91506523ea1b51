"""A custom CRM object (``CustomerscustomObject``): one per clean customer.

The file has no ID column; its truth ``record_id`` is ``row-<n>``: the 1-based
data row number of a first run's file. With state, ``n`` counts on across runs
(``last_custom_object_row``), so a lake's days and appended parts never repeat
a truth key.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import polars as pl

from vecgen.plan import Plan
from vecgen.sources.base import Batch, SourceBatch, WriteOptions, truth_rows
from vecgen.sources.customers import clean_rows
from vecgen.vocab import Vocab

COLUMNS = (
    "Email",
    "FirstName",
    "LastName",
    "StreetAddress",
    "City",
    "State",
    "PostalCode",
    "Country",
)


class CustomObject:
    """Contact records of a CRM custom object."""

    name: ClassVar[str] = "custom_object"
    parents: ClassVar[tuple[str, ...]] = ("customers",)
    write_options: ClassVar[WriteOptions] = WriteOptions()

    def describe(self, plan: Plan) -> str:
        """Rows per customer."""
        return "1 per clean customer"

    def generate(self, plan: Plan, vocab: Vocab, batch: Batch) -> SourceBatch:
        """One record per clean customer of the batch."""
        clean = clean_rows(batch.upstream["customers"])
        frame = clean.select(
            pl.col("email").alias("Email"),
            pl.col("name_first").alias("FirstName"),
            pl.col("name_last").alias("LastName"),
            pl.col("addr_ln_1_txt").alias("StreetAddress"),
            pl.col("city").alias("City"),
            pl.col("state").alias("State"),
            pl.col("postal_code").alias("PostalCode"),
            pl.lit("USA").alias("Country"),
        )
        row = "row-" + (clean["__person"] + 1 + plan.custom_object_row_start).cast(pl.String)
        truth = truth_rows(
            self.name,
            record_id=row,
            entity_id=clean["__entity"],
            household_id=clean["__household"],
            is_duplicate=np.zeros(clean.height, dtype=bool),
            block=clean["__block"].to_numpy(),
        )
        return SourceBatch(frame, truth)
