"""Declared sources: new files defined by a ``[sources.<name>]`` table, generated column-wise.

A declared source hangs off the clean customers (``per_parent`` rows each, or
a share of them), builds its columns from a small set of kinds, and can have
corrupted duplicates of its own records plus truth rows that tie every record
to the customer's entity::

    [sources.support_tickets]
    per_parent = "1..3"
    key = "ticket_id"
    duplicates = true
    [sources.support_tickets.fuzz]          # column = profile field whose corruptions apply
    contact_name = "name_last"
    contact_email = "email"
    [sources.support_tickets.columns]
    ticket_id = { kind = "sequence", start = 1 }
    customer_id = { kind = "copy", field = "customer_id" }
    contact_name = { kind = "expr", sql = "concat_ws(' ', name_first, name_last)" }
    contact_email = { kind = "copy", field = "email" }

Everything is a whole-column operation on keyed random streams, so the bytes
do not depend on batching, and the row count of any range of customers is
known from the plan (``rows_between``), which numbers sequences.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

import numpy as np
import polars as pl

from vecgen.config import Config
from vecgen.plan import Plan
from vecgen.rng import U64, Stream, cumulative
from vecgen.sources.base import Batch, SourceBatch, WriteOptions, null_strings, truth_rows
from vecgen.sources.columns import child_keys, hex_token, seconds_before, uuid4
from vecgen.spec import (
    FALLBACK_KERNEL,
    PATTERN,
    Choice,
    Column,
    Constant,
    Copy,
    Decimal,
    Expr,
    Int,
    Pattern,
    Sequence,
    Sha256,
    SourceSpec,
    Timestamp,
    Triangular,
    Uuid,
)
from vecgen.vocab import Vocab


class Declared:
    """A source made from a :class:`SourceSpec`.

    Its parent is the clean customers (children keyed by person, duplicates
    at the end of each block, as the built-in sources do) or a source whose
    row count the plan knows (children keyed by the parent's row number in
    its file, each duplicate right after its original).
    """

    parents: ClassVar[tuple[str, ...]] = ("customers",)  # set per declared source
    write_options: ClassVar[WriteOptions] = WriteOptions()

    name: ClassVar[str] = ""  # set per declared source by :func:`declared_source`
    spec: ClassVar[SourceSpec]

    def __init__(self, lookup: Callable[[Config, str], Any]) -> None:
        # The registry's lookup of the parent source (passed in: the registry builds us).
        self._lookup = lookup
        # Rows the parent gives the clean customers before a clean index, per plan (the
        # last plan only): batch offsets ask for consecutive ranges, so each is cheap.
        self._before: tuple[Plan | None, dict[int, int]] = (None, {0: 0})

    def describe(self, plan: Plan) -> str:
        """Rows per parent row."""
        s = self.spec
        whom = "clean customer" if s.parent == "customers" else f"{s.parent} row"
        per = f"1 for {s.share:.0%} of {whom}s" if s.share else f"{s.low}..{s.high} per {whom}"
        return f"{per} (declared)" + (" + duplicates" if s.duplicates else "")

    def _counts(self, plan: Plan, parents: U64) -> np.ndarray:
        stream = plan.stream(self.name, "__count")
        if self.spec.share is not None:
            return stream.bernoulli(parents, self.spec.share).astype(np.int64)
        return stream.integers(parents, self.spec.low, self.spec.high + 1)

    def _dupes(self, plan: Plan, keys: U64) -> np.ndarray:
        if not self.spec.duplicates:
            return np.zeros(len(keys), dtype=bool)
        return plan.stream(self.name, "__dupe").bernoulli(keys, plan.dupe_rate / 100)

    def rows_between(self, plan: Plan, lo: int, hi: int) -> int:
        """Rows (records and duplicates) of clean customers ``lo..hi-1``, from the plan."""
        if self.spec.parent != "customers":
            lo, hi = self._parent_rows_before(plan, lo), self._parent_rows_before(plan, hi)
        total = 0
        for start in range(lo, hi, 1_000_000):
            parents = np.arange(start, min(start + 1_000_000, hi), dtype=np.uint64)
            keys = child_keys(parents, self._counts(plan, parents))
            total += len(keys) + int(self._dupes(plan, keys).sum())
        return total

    def _parent_rows_before(self, plan: Plan, clean_index: int) -> int:
        """Rows of the parent file that the clean customers before ``clean_index`` give."""
        memo_plan, memo = self._before
        if memo_plan is not plan:
            memo = {0: 0}
            self._before = (plan, memo)
        if clean_index not in memo:
            known = max(k for k in memo if k <= clean_index)
            parent = self._lookup(plan.config, self.spec.parent)
            memo[clean_index] = memo[known] + parent.rows_between(plan, known, clean_index)
        return memo[clean_index]

    def generate(self, plan: Plan, vocab: Vocab, batch: Batch) -> SourceBatch:
        """Rows for the batch's parent rows, with their duplicates."""
        spec = self.spec
        if spec.parent == "customers":
            from vecgen.sources.customers import clean_rows

            parents = clean_rows(batch.upstream["customers"])
            persons = parents["__person"].to_numpy().astype(np.uint64)
            counts = self._counts(plan, persons)
            parent_of = np.repeat(np.arange(len(persons)), counts)
            keys = child_keys(persons, counts)
            dupe = self._dupes(plan, keys)
            idx = np.concatenate([np.arange(len(keys)), np.flatnonzero(dupe)])
            is_dup = np.concatenate([np.zeros(len(keys), bool), np.ones(int(dupe.sum()), bool)])
            # Order (block, records before duplicates, key): the same for any batching. The
            # order is found on the keys alone, then the parents' columns are gathered once.
            block = parents["__block"].to_numpy()[parent_of[idx]]
            order = np.lexsort((keys[idx], is_dup, block))
            idx, is_dup = idx[order], is_dup[order]
        else:
            parents = _with_lineage(batch, batch.upstream[spec.parent])
            rows = np.arange(parents.height, dtype=np.uint64)
            rows += np.uint64(batch.offsets[spec.parent])  # the parent's row number in its file
            counts = self._counts(plan, rows)
            parent_of = np.repeat(np.arange(len(rows)), counts)
            keys = child_keys(rows, counts)
            dupe = self._dupes(plan, keys)
            # Parent order, each duplicate right after its original.
            copies = 1 + dupe.astype(np.int64)
            idx = np.repeat(np.arange(len(keys)), copies)
            is_dup = np.ones(len(idx), dtype=bool)
            is_dup[np.cumsum(copies) - copies] = False
        keys = keys[idx]
        used = [c for c in spec.parent_fields if c in parents.columns] + ["__block", "__entity"]
        frame = parents.select(used)[parent_of[idx]]
        row_index = np.arange(frame.height, dtype=np.int64) + batch.offsets.get(self.name, 0)
        values = _columns(plan, spec, frame, keys, row_index, is_dup)
        corruptions = None
        if spec.duplicates and is_dup.any():
            values, corruptions = _fuzz(plan, vocab, spec, values, keys, is_dup)
        out = values.with_columns(
            frame["__block"], frame["__entity"], pl.Series("__is_dup", is_dup)
        )
        truth = None
        if spec.truth and spec.key is not None:
            record = out[spec.key].cast(pl.String)
            # A duplicate's original is the record with the same key that is not a duplicate.
            first = pl.DataFrame({"k": keys, "r": record, "d": is_dup})
            originals = first.filter(~pl.col("d")).select("k", pl.col("r").alias("o"))
            of = first.join(originals, on="k", how="left", maintain_order="left")["o"]
            truth = truth_rows(
                self.name,
                record_id=record,
                entity_id=out["__entity"],
                is_duplicate=is_dup,
                block=out["__block"].to_numpy(),
                duplicate_of=of.zip_with(pl.Series(is_dup), null_strings(len(of))),
                corruptions=corruptions,
            )
        # The hidden lineage stays for children of this source (sinks drop ``__`` columns).
        lineage = ["__block", "__entity"]
        return SourceBatch(out.select([c.name for c in spec.columns] + lineage), truth)


def _with_lineage(batch: Batch, parents: pl.DataFrame) -> pl.DataFrame:
    """Add the person (``__entity``) and block (``__block``) of each parent row.

    A declared parent carries them; a built-in one is joined on its customer id
    to the truth rows of this batch's customers and POS customers.
    """
    from vecgen.sources.truth import TRUTH_PREFIX

    if "__entity" in parents.columns and "__block" in parents.columns:
        return parents
    id_column = "customer_id" if "customer_id" in parents.columns else "CUSTOMER_ID"
    people = pl.concat(
        [
            batch.upstream[TRUTH_PREFIX + name].select(
                "record_id", pl.col("entity_id").alias("__entity"), "__block"
            )
            for name in ("customers", "pos_customers")
            if TRUTH_PREFIX + name in batch.upstream
        ]
    )
    return (
        parents.with_columns(pl.col(id_column).cast(pl.String).alias("__record_id"))
        .join(people.rename({"record_id": "__record_id"}), on="__record_id", how="left",
              maintain_order="left")
        .drop("__record_id")
    )  # fmt: skip


def _columns(
    plan: Plan,
    spec: SourceSpec,
    parents: pl.DataFrame,
    keys: U64,
    row_index: np.ndarray,
    is_dup: np.ndarray,
) -> pl.DataFrame:
    """Build the declared columns in order (later ones may use earlier ones)."""
    frame = parents.select([c for c in spec.parent_fields if c in parents.columns])
    built: dict[str, pl.Series] = {}
    for col in spec.columns:
        s = plan.stream(spec.name, col.name)
        built[col.name] = _one(col, s, keys, row_index, plan, frame, built).alias(col.name)
        if col.name == spec.key and col.kind in ("uuid", "sha256"):
            # A duplicate copies its original's values, but never its record id.
            dup = np.flatnonzero(is_dup)
            fresh = _one(col, s.child("dup"), keys[dup], row_index[dup], plan, frame, built)
            built[col.name] = built[col.name].scatter(dup, fresh)
        frame = frame.with_columns(built[col.name])
    return pl.DataFrame(list(built.values()))


def _one(
    col: Column,
    s: Stream,
    keys: U64,
    row_index: np.ndarray,
    plan: Plan,
    frame: pl.DataFrame,
    built: Mapping[str, pl.Series],
) -> pl.Series:
    """Build one declared column: one case per kind."""
    n = len(keys)
    match col:
        case Copy(field=field):
            return frame.get_column(field)
        case Choice(values=values, weights=weights):
            picked = s.choice(keys, cumulative(list(weights or [1] * len(values))))
            return pl.Series(list(values)).gather(picked)
        case Int(min=lo, max=hi):
            return pl.Series(s.integers(keys, int(lo), int(hi) + 1))
        case Decimal(min=lo, max=hi, places=places):
            span = float(hi) - float(lo)
            return pl.Series(np.round(float(lo) + span * s.uniform(keys), _places(places)))
        case Triangular(min=lo, mode=mode, max=hi, places=places):
            lo, mode, hi = float(lo), float(mode), float(hi)
            value = s.triangular(keys, lo, mode, hi) if hi > lo else np.full(n, lo)
            return pl.Series(np.round(value, _places(places)))
        case Timestamp(days=days):
            return seconds_before(s, keys, plan.run_ts, dt.timedelta(days=int(days)))
        case Sequence(start=start):
            return pl.Series(row_index + int(1 if start is None else start))
        case Uuid():
            return uuid4(s, keys)
        case Sha256():
            return hex_token(s, keys)
        case Constant(value=value):
            return pl.Series([value]).gather(np.zeros(n, dtype=np.int64))
        case Expr(sql=sql):
            return _per_row(frame, pl.sql_expr(sql))
        case Pattern(pattern=pattern):
            return _per_row(frame, pl.concat_str(_pattern_pieces(pattern) or [pl.lit("")]))
    raise AssertionError(f"no generator for {col!r}")  # pragma: no cover - a kind per class


def _per_row(frame: pl.DataFrame, expr: pl.Expr) -> pl.Series:
    """Evaluate ``expr`` once per row of ``frame`` (a literal is repeated, not one value)."""
    return frame.with_columns(expr.alias("__value")).get_column("__value")


def _places(places: int | None) -> int:
    return 2 if places is None else int(places)


def _pattern_pieces(pattern: str) -> list[pl.Expr]:
    """Literal text with ``{column}`` or ``{column[a:b]}`` pieces, as expressions."""
    parts: list[pl.Expr] = []
    pos = 0
    for m in PATTERN.finditer(pattern):
        if m.start() > pos:
            parts.append(pl.lit(pattern[pos : m.start()]))
        ref = pl.col(m.group(1)).cast(pl.String)
        if m.group(2) is not None or m.group(3) is not None:
            a = int(m.group(2) or 0)
            b = m.group(3)
            ref = ref.str.slice(a, None if not b else int(b) - a)
        parts.append(ref)
        pos = m.end()
    if pos < len(pattern):
        parts.append(pl.lit(pattern[pos:]))
    return parts


def _fuzz(
    plan: Plan, vocab: Vocab, spec: SourceSpec, values: pl.DataFrame, keys: U64, is_dup: np.ndarray
) -> tuple[pl.DataFrame, pl.Series]:
    """Corrupt the duplicates' fuzzed columns; every duplicate changes in at least one.

    Columns mapped to a profile field get the profile's mix for that field (with
    its pools, events and field budget); a column with its own kernel list gets
    one of those kernels per duplicate.
    """
    from vecgen.fuzz_vectorized import (
        KernelContext,
        force_change,
        fuzz_field,
        fuzz_frame,
        join_log,
    )
    from vecgen.fuzz_vectorized.profiles import FieldMix
    from vecgen.sources.people import replacement_pools

    idx = np.flatnonzero(is_dup)
    rows = keys[idx]
    stream = plan.stream(spec.name, "__fuzz")
    as_fields = {col: field for col, field in spec.fuzz if isinstance(field, str)}
    new: dict[str, pl.Series] = {}
    logs: list[pl.Series] = []
    if as_fields:
        sub = values[idx].select(list(as_fields)).rename(as_fields).cast(pl.String)
        fuzzed, log = fuzz_frame(sub, plan.profile, stream, rows, vocab, replacement_pools(vocab))
        for col, field in as_fields.items():
            new[col] = fuzzed[field]
            log = log.str.replace_all(f"(^|\\|){field}:", f"${{1}}{col}:")
        logs.append(log)
    own = [(col, mix) for col, mix in spec.fuzz if not isinstance(mix, str)]
    for col, mix in own:
        before = values[col].gather(idx).cast(pl.String)
        new[col], label = fuzz_field(before, FieldMix(col, mix), stream.child(col), rows, vocab)
        logs.append(label)
    log = join_log(logs, len(idx)).replace("", None)
    if not as_fields:  # own kernels may keep every value: then a text column gets a typo
        stay = np.flatnonzero(log.is_null().to_numpy())
        text = [c for c, _ in own if values[c].dtype == pl.String]
        col = (text or [own[0][0]])[0]
        ctx = KernelContext(stream.child("fallback"), rows[stay], vocab, None, col)
        new[col], log = force_change(new[col], log, stay, FALLBACK_KERNEL, ctx)
    updates = [
        values[col].clone().scatter(idx, series)
        if values[col].dtype == pl.String
        else values[col].cast(pl.String).scatter(idx, series).cast(values[col].dtype, strict=False)
        for col, series in new.items()
    ]
    corruptions = null_strings(values.height).scatter(idx, log)
    return values.with_columns(updates), corruptions


def declared_source(spec: SourceSpec, lookup: Callable[[Config, str], Any]) -> Declared:
    """Return the source object of one declaration (a subclass named after it).

    ``lookup(config, name)`` finds its parent source (the registry's ``source_for``).
    """
    attributes = {"name": spec.name, "spec": spec, "parents": (spec.parent,)}
    cls = type(f"Declared_{spec.name}", (Declared,), attributes)
    return cls(lookup)  # type: ignore[no-any-return]
