"""The loyalty system (``CustomersLms``): one member per customer record.

Clean customers appear as they are; for each duplicate customer record the
loyalty system holds a separately fuzzed copy of the same person, whose lm_id is
``LM`` + that duplicate's customer_id. So lm_id is unique and always joins to
the customers file (the predecessor reused the clean record's lm_id, which made
its copies indistinguishable).
"""

from __future__ import annotations

import datetime as dt
from typing import ClassVar

import numpy as np
import polars as pl

from vecgen.catalog import PERSON_FILE_COLUMNS
from vecgen.fuzz_vectorized import fuzz_frame
from vecgen.plan import Plan
from vecgen.sources.base import Batch, SourceBatch, WriteOptions, in_order, null_strings, truth_rows
from vecgen.sources.columns import seconds_before, weighted
from vecgen.sources.completeness import apply_completeness
from vecgen.sources.customers import clean_people, clean_rows
from vecgen.sources.people import replacement_pools
from vecgen.vocab import Vocab
from vecgen.vocab.static import (
    LOYALTY_PROGRAM_WEIGHTS,
    LOYALTY_PROGRAMS,
    LOYALTY_TIER_WEIGHTS,
    LOYALTY_TIERS,
)

COLUMNS = (
    "lm_id",
    "name_first",
    "name_last",
    "email",
    "gender",
    "address1",
    "city",
    "state",
    "postal_code",
    "birthdate",
    "created",
    "phone",
    "points",
    "current_tier",
    "lmProgramName",
    "dtUpdateDate",
)
PERSON_FIELDS = tuple(PERSON_FILE_COLUMNS["loyalty"])  # by person-column name
MEMBER_YEARS = 10


class Loyalty:
    """Loyalty members: the customers, each duplicate a fresh corrupted copy."""

    name: ClassVar[str] = "loyalty"
    parents: ClassVar[tuple[str, ...]] = ("customers",)
    write_options: ClassVar[WriteOptions] = WriteOptions(date_format="%m/%d/%Y")

    def describe(self, plan: Plan) -> str:
        """Rows per customer."""
        return f"1 per customer record (1 + {plan.dupe_rate:g}% fuzzed copies)"

    def generate(self, plan: Plan, vocab: Vocab, batch: Batch) -> SourceBatch:
        """One member row per customer row of the batch, in the same order."""
        customers = batch.upstream["customers"]
        clean, dupes = clean_rows(customers), customers.filter(pl.col("__dupe"))
        fuzzed, log = fuzz_frame(
            clean_people(clean, dupes["__person"].to_numpy(), list(PERSON_FIELDS)),
            plan.profile,
            plan.stream(self.name, "fuzz"),
            dupes["__extra"].to_numpy().astype(np.uint64),
            vocab,
            replacement_pools(vocab),
        )
        people = pl.concat([clean.select(PERSON_FIELDS), fuzzed])
        meta = pl.concat([clean, dupes]).select(
            "customer_id", "__pos", "__dupe", "__block", "__entity", "__household"
        )
        keys = meta["__pos"].to_numpy().astype(np.uint64)
        n_clean = len(people) - len(fuzzed)
        people, full_log = apply_completeness(
            plan, self.name, people, keys, pl.concat([null_strings(n_clean), log])
        )
        people = people.select(PERSON_FIELDS)
        s = plan.streams(self.name)
        created = seconds_before(
            s("created"), keys, plan.run_ts, dt.timedelta(days=365 * MEMBER_YEARS)
        )
        lm_id = ("LM" + meta["customer_id"].cast(pl.String)).alias("lm_id")
        order = np.argsort(meta["__pos"].to_numpy(), kind="stable")  # file order (unique)
        frame = (
            pl.concat([people, meta], how="horizontal")
            .with_columns(
                lm_id,
                created.dt.date().alias("created"),
                pl.Series("points", s("points").integers(keys, 1, 121) * 1000),
                weighted(LOYALTY_TIERS, LOYALTY_TIER_WEIGHTS, s("tier"), keys).alias(
                    "current_tier"
                ),
                weighted(LOYALTY_PROGRAMS, LOYALTY_PROGRAM_WEIGHTS, s("program"), keys).alias(
                    "lmProgramName"
                ),
                pl.lit(plan.run_ts).alias("dtUpdateDate"),
            )
            .rename({k: v for k, v in PERSON_FILE_COLUMNS["loyalty"].items() if k != v})
            .pipe(in_order, order)
        )
        nulls = null_strings(n_clean)
        original_lm = ("LM" + dupes["__entity"]).alias("duplicate_of")
        truth = in_order(
            truth_rows(
                self.name,
                record_id=lm_id,
                entity_id=meta["__entity"],
                household_id=meta["__household"],
                is_duplicate=meta["__dupe"],
                block=meta["__block"].to_numpy(),
                duplicate_of=pl.concat([nulls, original_lm]),
                corruptions=full_log,
            ),
            order,
        )
        return SourceBatch(frame.select([*COLUMNS, "__pos"]), truth)
