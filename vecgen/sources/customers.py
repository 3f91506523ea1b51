"""The primary customer file (``Customers``): clean people plus fuzzed duplicates.

Layout: logical blocks of :data:`~vecgen.plan.BLOCK` clean records, each
followed by the duplicates of that block; a duplicate copies a random clean
record of its block (recomputed, not stored) and is fuzzed with the profile.
"""

from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import polars as pl

from vecgen.catalog import PERSON_COLUMNS
from vecgen.fuzz_vectorized import fuzz_frame
from vecgen.fuzz_vectorized.profiles import cluster_pmf
from vecgen.plan import BLOCK, Plan
from vecgen.rng import I64, cumulative
from vecgen.sources.base import Batch, SourceBatch, WriteOptions, in_order, null_strings, truth_rows
from vecgen.sources.columns import slots_in_blocks
from vecgen.sources.completeness import apply_completeness, complete
from vecgen.sources.people import households, person_frame, replacement_pools
from vecgen.vocab import Vocab

COLUMNS = ("customer_id", *PERSON_COLUMNS, "dtUpdateDate")
_ALPHABET = np.frombuffer(b"abcdefghijklmnopqrstuvwxyz0123456789", dtype=np.uint8)


def customer_ids(plan: Plan, positions: I64, namespace: str = "customers") -> pl.Series:
    """customer_id for file positions: ``start + pos + 1``, or ``<n>-<8 chars>`` with alpha_key."""
    numbers = plan.customer_id_start + positions + 1
    if not plan.config.alpha_key:
        return pl.Series("customer_id", numbers, dtype=pl.Int64)
    rows = positions.astype(np.uint64)
    stream = plan.stream(namespace, "alpha_key")
    chars = np.stack([_ALPHABET[stream.child(k).integers(rows, 0, 36)] for k in range(8)], axis=1)
    suffix = pl.Series(np.ascontiguousarray(chars).view("S8").ravel()).cast(pl.String)
    return (
        pl.DataFrame({"n": numbers, "s": suffix})
        .select(
            pl.concat_str([pl.col("n").cast(pl.String), pl.col("s")], separator="-").alias(
                "customer_id"
            )
        )
        .to_series()
    )


def ranges(starts: I64, stops: I64) -> I64:
    """Concatenate ``arange(start, stop)`` for each pair, without a Python loop."""
    counts = stops - starts
    total = int(counts.sum())
    offsets = np.repeat(np.cumsum(counts) - counts, counts)
    out: I64 = np.repeat(starts, counts) + (np.arange(total, dtype=np.int64) - offsets)
    return out


@dataclass(frozen=True)
class Layout:
    """Which records one batch holds and where they go in the file."""

    clean: I64  # clean person indices
    clean_pos: I64  # their file positions
    dupes: I64  # duplicate indices
    dupe_pos: I64  # their file positions
    dupe_block: I64  # the block each duplicate belongs to


def batch_layout(plan: Plan, start: int, stop: int) -> Layout:
    """Lay out the clean records ``[start, stop)`` and the duplicates they complete.

    A block's duplicates are written in the batch that completes the block.

    Examples
    --------
    >>> import datetime as dt
    >>> from vecgen.config import Config
    >>> from vecgen.plan import resolve
    >>> plan = resolve(Config(customers=1500, dupe_rate=10, date=dt.date(2026, 1, 1)))
    >>> lay = batch_layout(plan, 900, 1500)
    >>> lay.clean_pos[:2].tolist(), lay.dupes[[0, -1]].tolist(), lay.dupe_pos[[0, -1]].tolist()
    ([900, 901], [0, 149], [1000, 1649])

    """
    clean = np.arange(start, stop, dtype=np.int64)
    if stop <= start:
        empty = np.zeros(0, dtype=np.int64)
        return Layout(clean, empty, empty, empty, empty)
    blocks = np.arange(start // BLOCK, (stop - 1) // BLOCK + 1, dtype=np.int64)
    ends = np.minimum((blocks + 1) * BLOCK, plan.n_clean)
    done = ends <= stop
    blocks, ends = blocks[done], ends[done]
    first_dupe = plan.dupes_before(blocks * BLOCK)
    last_dupe = plan.dupes_before(ends)
    counts = last_dupe - first_dupe
    dupes = ranges(first_dupe, last_dupe)
    return Layout(
        clean=clean,
        clean_pos=plan.clean_positions(clean.astype(np.uint64)),
        dupes=dupes,
        dupe_pos=np.repeat(ends, counts) + dupes,
        dupe_block=np.repeat(blocks, counts),
    )


class Customers:
    """Clean customers and their duplicates, with ground truth."""

    name: ClassVar[str] = "customers"
    parents: ClassVar[tuple[str, ...]] = ()
    write_options: ClassVar[WriteOptions] = WriteOptions(date_format="%m/%d/%Y")

    def describe(self, plan: Plan) -> str:
        """Rows per customer."""
        return f"1 + {plan.dupe_rate:g}% duplicates"

    def generate(self, plan: Plan, vocab: Vocab, batch: Batch) -> SourceBatch:
        """Generate one batch: clean rows of its blocks, then each completed block's dupes."""
        lay = batch_layout(plan, batch.start, batch.stop)
        groups = duplicate_clusters(plan, lay)
        originals = groups.original
        hh = households(plan, self.name, lay.clean.astype(np.uint64))
        clean_frame = person_frame(plan, vocab, self.name, lay.clean.astype(np.uint64), hh)
        # The originals are clean people of this batch's blocks: gathered, not made again.
        copies = clean_frame[rows_of_people(lay.clean, originals)]
        pools = replacement_pools(vocab)
        dupe_rows = lay.dupes.astype(np.uint64)
        fuzzed, log = fuzz_frame(
            copies, plan.profile, plan.stream(self.name, "fuzz"), dupe_rows, vocab, pools
        )
        # Duplicates of duplicates: fuzz the cluster's first copy again.
        again = np.flatnonzero(groups.parent >= 0)
        if len(again):
            source = fuzzed[groups.parent[again]]
            refuzzed, relog = fuzz_frame(
                source,
                plan.profile,
                plan.stream(self.name, "fuzz_again"),
                dupe_rows[again],
                vocab,
                pools,
            )
            take = np.arange(len(fuzzed))
            take[again] = len(fuzzed) + np.arange(len(again))
            fuzzed = pl.concat([fuzzed, refuzzed], rechunk=True)[take]
            log = log.clone().scatter(again, relog)

        n_clean, n_dupes = len(lay.clean), len(lay.dupes)
        positions = np.concatenate([lay.clean_pos, lay.dupe_pos])
        order = np.argsort(positions, kind="stable")
        ids = customer_ids(plan, positions)
        original_ids = customer_ids(plan, plan.clean_positions(originals.astype(np.uint64)))
        entity = pl.concat([ids.slice(0, n_clean), original_ids]).cast(pl.String)
        # duplicate_of: the original, or for a copy of a copy, the copy it was made from.
        parent_ids = customer_ids(plan, lay.dupe_pos[np.maximum(groups.parent, 0)])
        copied_from = original_ids.zip_with(pl.Series(groups.parent < 0), parent_ids)
        is_dupe = np.arange(n_clean + n_dupes) >= n_clean
        block = np.concatenate([lay.clean // BLOCK, lay.dupe_block])
        # Household: the entity of its first member; a duplicate lives where its original does.
        heads = np.concatenate([hh.head, hh.head[rows_of_people(lay.clean, originals)]])
        home = customer_ids(plan, plan.clean_positions(heads.astype(np.uint64))).cast(pl.String)
        people, full_log = apply_completeness(
            plan,
            self.name,
            pl.concat([clean_frame, fuzzed]),
            positions.astype(np.uint64),
            pl.concat([null_strings(n_clean), log]),
        )
        full = [c for c in people.columns if c.startswith("__full_")]
        frame = (
            people.with_columns(
                ids,
                pl.lit(plan.run_ts).alias("dtUpdateDate"),
                pl.Series("__pos", positions),
                pl.Series("__person", np.concatenate([lay.clean, originals])),
                pl.Series("__dupe", is_dupe),
                pl.Series("__extra", np.concatenate([np.full(n_clean, -1), lay.dupes])),
                pl.Series("__block", block),
                entity.alias("__entity"),
                home.alias("__household"),
            )
            .select(
                [
                    *COLUMNS,
                    *("__pos", "__person", "__dupe", "__extra", "__block", "__entity"),
                    "__household",
                    *full,
                ]
            )
            .pipe(in_order, order)
        )
        nulls = null_strings(n_clean)
        truth = in_order(
            truth_rows(
                self.name,
                record_id=ids.cast(pl.String),
                entity_id=entity,
                is_duplicate=is_dupe,
                block=block,
                duplicate_of=pl.concat([nulls, copied_from.cast(pl.String)]),
                corruptions=full_log,
                household_id=home,
            ),
            order,
        )
        return SourceBatch(frame, truth)


@dataclass(frozen=True)
class Clusters:
    """Which clean record each duplicate copies, and which copy it was made from."""

    original: I64  # clean index of the person
    parent: I64  # index (into the batch's duplicates) of the duplicate it copies, or -1
    member: I64  # rank within its cluster (0: copied from the original)


def duplicate_clusters(plan: Plan, lay: Layout) -> Clusters:
    """Group each block's duplicates into clusters of the profile's sizes.

    Cluster sizes are drawn per slot (keyed by the global duplicate index), so the
    grouping does not depend on batching; cluster ``q`` of a block copies the
    ``q``-th clean record of the block in a keyed random order (distinct people);
    later members copy the cluster's first duplicate with ``dupe_of_dupe`` percent.
    """
    dupes, block = lay.dupes, lay.dupe_block
    n = len(dupes)
    if n == 0:
        empty = np.zeros(0, dtype=np.int64)
        return Clusters(empty, empty, empty)
    prof = plan.profile
    rows = dupes.astype(np.uint64)
    sizes = 1 + plan.stream("customers", "cluster_size").choice(
        rows, cumulative(cluster_pmf(prof.clusters))
    )
    offset = dupes - plan.dupes_before(block * BLOCK)
    slot, member = slots_in_blocks(block, sizes, offset)
    first_row = np.flatnonzero(np.r_[True, block[1:] != block[:-1]])
    cluster = slot - np.repeat(first_row, np.diff(np.r_[first_row, n]))
    # Distinct people per block: clean records ranked by a keyed random key.
    clean = lay.clean
    rank_key = plan.stream("customers", "cluster_pick").uniform(clean.astype(np.uint64))
    ranked = clean[np.lexsort((rank_key, clean // BLOCK))]
    block_start_in_ranked = np.searchsorted(ranked // BLOCK, block)
    original = ranked[block_start_in_ranked + cluster]
    copy_of_copy = (member > 0) & plan.stream("customers", "dupe_of_dupe").bernoulli(
        rows, prof.dupe_of_dupe / 100.0
    )
    parent = np.where(copy_of_copy, np.arange(n) - member, -1)
    return Clusters(original.astype(np.int64), parent.astype(np.int64), member.astype(np.int64))


def block_copy_sources(plan: Plan, source: str, extras: I64, block: I64) -> I64:
    """Return the clean index each per-block extra copies: a random record of its own block."""
    start = block * BLOCK
    size = np.minimum(start + BLOCK, plan.n_clean) - start
    stream = plan.stream(source, "copy_of")
    return start + stream.integers(extras.astype(np.uint64), 0, size)


def clean_rows(customers: pl.DataFrame) -> pl.DataFrame:
    """Return the clean records of a customers batch (children are built from these).

    Values the web shop did not capture are put back: other systems hold the
    person as they captured them. Nine sources ask for the same batch's clean
    rows: the answer is kept while the batch's customers frame lives (a weak
    reference: the memo never keeps a finished batch in memory).
    """
    key = id(customers)
    with _CLEAN_LOCK:
        held = _CLEAN_MEMO.get(key)
    if held is not None and held[0]() is customers:
        return held[1]
    clean = complete(customers.filter(~pl.col("__dupe")))

    def forget(ref: weakref.ref[pl.DataFrame]) -> None:
        with _CLEAN_LOCK:
            if key in _CLEAN_MEMO and _CLEAN_MEMO[key][0] is ref:
                del _CLEAN_MEMO[key]

    with _CLEAN_LOCK:
        _CLEAN_MEMO[key] = (weakref.ref(customers, forget), clean)
    return clean


# The clean rows of each customers batch alive (its frame, weakly, and the rows).
_CLEAN_MEMO: dict[int, tuple[weakref.ref[pl.DataFrame], pl.DataFrame]] = {}
_CLEAN_LOCK = threading.RLock()  # (a frame may die, and its callback run, in the lock)


def rows_of_people(batch_people: np.ndarray, people: np.ndarray) -> np.ndarray:
    """Return where each of ``people`` is in ``batch_people`` (sorted person indices).

    Copies are made of people of the same batch (batches hold whole blocks), so
    a copy's person is gathered from the batch rather than generated again.

    Examples
    --------
    >>> rows_of_people(np.array([3, 5, 8]), np.array([8, 3, 8]))
    array([2, 0, 2])

    """
    at = np.searchsorted(batch_people, people)
    found = at < len(batch_people)
    if not (found.all() and np.array_equal(batch_people[at], people)):
        raise AssertionError("a copy's person is not in its batch (batches hold whole blocks)")
    return at


def clean_people(clean: pl.DataFrame, people: np.ndarray, columns: list[str]) -> pl.DataFrame:
    """Return ``columns`` of the people ``people`` from this batch's :func:`clean_rows`.

    A clean customer row holds its person as :func:`~vecgen.sources.people.person_frame`
    made it, so children copy people from it instead of making them again.
    """
    return clean.select(columns)[rows_of_people(clean["__person"].to_numpy(), people)]
