"""The point-of-sale system: a second customer file (``CustomersPos``) and its transactions.

Per block of 1,000 primary customers, ``pos_customers`` holds: fuzzed copies of
the rate share of the block's primary people (people both systems know), new
people only this system knows (the rest of the block), and fuzzed copies of the
rate share of those new people. Its customer_ids continue after the primary
file's, so one ID names one record across the landscape.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import polars as pl

from vecgen.catalog import PERSON_COLUMNS
from vecgen.fuzz_vectorized import fuzz_frame
from vecgen.plan import BLOCK, Plan
from vecgen.rng import I64, Stream, tagged
from vecgen.sources.base import Batch, SourceBatch, WriteOptions, in_order, null_strings, truth_rows
from vecgen.sources.completeness import apply_completeness
from vecgen.sources.customers import (
    COLUMNS,
    block_copy_sources,
    clean_people,
    clean_rows,
    customer_ids,
    ranges,
    rows_of_people,
)
from vecgen.sources.people import person_frame, replacement_pools
from vecgen.sources.transactions import transaction_frame
from vecgen.vocab import Vocab


@dataclass(frozen=True)
class PosBlocks:
    """Per-block counts and offsets of the POS file for the blocks of one batch."""

    blocks: I64
    row0: I64  # file position of each block's first row
    shared_lo: I64  # global index of the block's first shared copy
    n_shared: I64
    new_lo: I64  # global index of the block's first new person
    n_new: I64
    dupe_lo: I64  # global index of the block's first duplicate of a new person
    n_dupes: I64


def pos_blocks(plan: Plan, start: int, stop: int) -> PosBlocks:
    """Lay out the POS rows of the (whole) blocks in ``[start, stop)``."""
    blocks = np.arange(start // BLOCK, -(-stop // BLOCK), dtype=np.int64)
    lo = blocks * BLOCK
    hi = np.minimum(lo + BLOCK, plan.n_clean)
    shared_lo, shared_hi = plan.per_block_extra(lo), plan.per_block_extra(hi)
    new_lo, new_hi = lo - shared_lo, hi - shared_hi
    dupe_lo, dupe_hi = plan.per_block_extra(new_lo), plan.per_block_extra(new_hi)
    return PosBlocks(
        blocks=blocks,
        row0=plan.pos_rows_before(lo),
        shared_lo=shared_lo,
        n_shared=shared_hi - shared_lo,
        new_lo=new_lo,
        n_new=new_hi - new_lo,
        dupe_lo=dupe_lo,
        n_dupes=dupe_hi - dupe_lo,
    )


def pos_ids(plan: Plan, positions: I64) -> pl.Series:
    """customer_id of POS rows: numbered after every primary customer row."""
    return customer_ids(plan, positions + plan.n_customer_rows, namespace="pos_customers")


class PosCustomers:
    """A second customer system sharing some people with the primary one."""

    name: ClassVar[str] = "pos_customers"
    parents: ClassVar[tuple[str, ...]] = ("customers",)
    write_options: ClassVar[WriteOptions] = WriteOptions(date_format="%m/%d/%Y")

    def describe(self, plan: Plan) -> str:
        """Rows per customer."""
        rate = plan.dupe_rate
        return f"1 + {rate * (100 - rate) / 100:g}% (shared copies, POS-only people, their dupes)"

    def generate(self, plan: Plan, vocab: Vocab, batch: Batch) -> SourceBatch:
        """POS rows of the batch's blocks: shared copies, new people, new people's dupes."""
        b = pos_blocks(plan, batch.start, batch.stop)
        rep = np.repeat

        shared = ranges(b.shared_lo, b.shared_lo + b.n_shared)
        shared_block = rep(b.blocks, b.n_shared)
        shared_pos = rep(b.row0 - b.shared_lo, b.n_shared) + shared
        new = ranges(b.new_lo, b.new_lo + b.n_new)
        new_pos = rep(b.row0 + b.n_shared - b.new_lo, b.n_new) + new
        dupes = ranges(b.dupe_lo, b.dupe_lo + b.n_dupes)
        dupe_pos = rep(b.row0 + b.n_shared + b.n_new - b.dupe_lo, b.n_dupes) + dupes

        # Who each copy copies: a primary person of the block, or a new person of the block.
        shared_orig = block_copy_sources(plan, self.name, shared, shared_block)
        n_new_of_dupe = rep(b.n_new, b.n_dupes)
        dupe_orig = rep(b.new_lo, b.n_dupes) + plan.stream(self.name, "dupe_of").integers(
            dupes.astype(np.uint64), 0, np.maximum(n_new_of_dupe, 1)
        )
        dupe_orig_pos = rep(b.row0 + b.n_shared - b.new_lo, b.n_dupes) + dupe_orig

        pools = replacement_pools(vocab)
        u = np.uint64
        # Shared copies copy primary customers of this batch, dupes new POS people of
        # it: both are gathered from the people already made, not made again.
        primary = clean_people(
            clean_rows(batch.upstream["customers"]), shared_orig, [*PERSON_COLUMNS, "__household"]
        )
        new_frame = person_frame(plan, vocab, self.name, new.astype(u))
        # Shared copies and dupes are fuzzed from streams of their own, in one call (a
        # joined stream: each row draws what its own stream gives it; the call's fixed
        # cost, ~35 ms, once).
        fuzzed, log = fuzz_frame(
            pl.concat([primary.select(PERSON_COLUMNS), new_frame[rows_of_people(new, dupe_orig)]]),
            plan.profile,
            Stream.joined(
                plan.stream(self.name, "fuzz_shared"), plan.stream(self.name, "fuzz_dupes")
            ),
            np.concatenate([tagged(shared.astype(u), 0), tagged(dupes.astype(u), 1)]),
            vocab,
            pools,
        )
        n = len(shared)
        shared_frame, dupe_frame = fuzzed.slice(0, n), fuzzed.slice(n)
        shared_log, dupe_log = log.slice(0, n), log.slice(n)

        positions = np.concatenate([shared_pos, new_pos, dupe_pos])
        ids = pos_ids(plan, positions)
        primary_ids = customer_ids(plan, plan.clean_positions(shared_orig.astype(u))).cast(
            pl.String
        )
        new_ids = ids.slice(len(shared), len(new)).cast(pl.String)
        dupe_of_new = pos_ids(plan, dupe_orig_pos).cast(pl.String)
        entity = pl.concat([primary_ids, new_ids, dupe_of_new])
        kinds = np.concatenate([np.zeros(len(shared)), np.ones(len(new)), np.full(len(dupes), 2)])
        block = np.concatenate([shared_block, rep(b.blocks, b.n_new), rep(b.blocks, b.n_dupes)])
        order = np.argsort(positions, kind="stable")
        no_log = null_strings(len(new))
        people, log = apply_completeness(
            plan,
            self.name,
            pl.concat([shared_frame, new_frame, dupe_frame]),
            positions.astype(u),
            pl.concat([shared_log, no_log, dupe_log]),
        )
        frame = (
            people.select(PERSON_COLUMNS)
            .with_columns(
                ids,
                pl.lit(plan.run_ts).alias("dtUpdateDate"),
                pl.Series("__pos", positions),
                pl.Series("__new", kinds == 1),
            )
            .select([*COLUMNS, "__pos", "__new"])
            .pipe(in_order, order)
        )
        truth = in_order(
            truth_rows(
                self.name,
                record_id=ids.cast(pl.String),
                entity_id=entity,
                # (POS-only people live alone: no customer shares their home.)
                household_id=pl.concat([primary["__household"], new_ids, dupe_of_new]),
                is_duplicate=kinds != 1,
                block=block,
                duplicate_of=pl.concat([primary_ids, no_log, dupe_of_new]),
                corruptions=log,
            ),
            order,
        )
        return SourceBatch(frame, truth)


class PosTransactions:
    """Transactions of the people only the POS system knows."""

    name: ClassVar[str] = "pos_transactions"
    parents: ClassVar[tuple[str, ...]] = ("pos_customers",)
    write_options: ClassVar[WriteOptions] = WriteOptions(
        float_precision=2, money=("transactiontotal", "avgitemprice")
    )

    def describe(self, plan: Plan) -> str:
        """Rows per customer."""
        return f"1..{plan.config.max_trans_per_customer} per POS-only person"

    def rows_between(self, plan: Plan, lo: int, hi: int) -> int:
        """Transactions of the POS-only people of the blocks from ``lo`` to ``hi`` (from the plan)."""
        stream = plan.stream(self.name, "count")
        total = 0
        step = 1_000 * BLOCK  # a thousand blocks at a time: bounded memory
        for start in range(lo, hi, step):
            b = pos_blocks(plan, start, min(start + step, hi))
            new = ranges(b.new_lo, b.new_lo + b.n_new)
            positions = np.repeat(b.row0 + b.n_shared - b.new_lo, b.n_new) + new
            counts = stream.integers(
                positions.astype(np.uint64), 1, plan.config.max_trans_per_customer + 1
            )
            total += int(counts.sum())
        return total

    def generate(self, plan: Plan, vocab: Vocab, batch: Batch) -> SourceBatch:
        """Transactions numbered after every primary transaction."""
        own = batch.upstream["pos_customers"].filter(pl.col("__new"))
        frame = transaction_frame(
            plan,
            self.name,
            own["customer_id"],
            own["__pos"].to_numpy(),
            batch.offsets[self.name],
            plan.transaction_id_start + plan.n_transactions,
        )
        return SourceBatch(frame)
