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
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import polars as pl

from vecgen.errors import ConfigError
from vecgen.plan import Plan
from vecgen.rng import U64, Stream, cumulative
from vecgen.sources.base import Batch, SourceBatch, WriteOptions, null_strings, truth_rows
from vecgen.sources.columns import SLOTS, child_keys, hex_token, seconds_before, uuid4
from vecgen.sources.email_campaign import COLUMNS as EMAIL_COLUMNS
from vecgen.sources.transactions import COLUMNS as TRANSACTION_COLUMNS
from vecgen.vocab import Vocab

KINDS: dict[str, tuple[set[str], set[str]]] = {  # kind -> (required keys, optional keys)
    "copy": ({"field"}, set()),
    "choice": ({"values"}, {"weights"}),
    "int": ({"min", "max"}, set()),
    "decimal": ({"min", "max"}, {"places"}),
    "triangular": ({"min", "mode", "max"}, {"places"}),
    "timestamp": ({"days"}, set()),
    "sequence": (set(), {"start"}),
    "uuid": (set(), set()),
    "sha256": (set(), set()),
    "pattern": ({"pattern"}, set()),
    "constant": ({"value"}, set()),
    "expr": ({"sql"}, set()),
}
POOLED_KERNELS = ("replace",)  # need a profile field's pool of values
FALLBACK_KERNEL = "fat_finger"  # changes any non-empty text: a duplicate must differ
KEY_KINDS = ("sequence", "uuid", "sha256")  # unique per record: usable as a record id
TABLE_KEYS = {"parent", "per_parent", "file", "key", "duplicates", "truth", "fuzz", "columns"}
PARENT_FIELDS = (
    "customer_id", "name_prefix", "name_first", "name_last", "gender", "email",
    "account_status", "addr_ln_1_txt", "city", "state", "postal_code", "birth_dt",
    "employment", "job_title", "phone",
)  # fmt: skip
# Built-in sources that can be a parent besides customers: their row counts are known
# from the plan (``rows_between``), so a child's keys and numbers do not depend on batching.
ROW_PARENTS: dict[str, tuple[str, ...]] = {
    "transactions": TRANSACTION_COLUMNS,
    "pos_transactions": TRANSACTION_COLUMNS,
    "email_campaign": EMAIL_COLUMNS,
}
_PATTERN = re.compile(r"\{(\w+)(?:\[(\d*):(\d*)\])?\}")
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True)
class ColumnSpec:
    """One declared column: its name, kind and the kind's parameters."""

    name: str
    kind: str
    params: tuple[tuple[str, Any], ...]

    def get(self, key: str, default: Any = None) -> Any:
        """Return the parameter ``key``."""
        return dict(self.params).get(key, default)


@dataclass(frozen=True)
class SourceSpec:
    """A validated ``[sources.<name>]`` table."""

    name: str
    file: str
    parent: str  # "customers", a built-in of ROW_PARENTS or an earlier declared source
    parent_fields: tuple[str, ...]  # what ``copy``, ``expr`` and ``pattern`` can read
    low: int  # rows per parent, low..high; or a share of parents
    high: int
    share: float | None
    key: str | None
    duplicates: bool
    truth: bool
    # column -> the profile field whose mix it gets, or its own kernel mix ((kernel, weight), ...)
    fuzz: tuple[tuple[str, str | tuple[tuple[str, float], ...]], ...]
    columns: tuple[ColumnSpec, ...]


def _fail(source: str, where: str, problem: str, fix: str) -> ConfigError:
    return ConfigError(f"[sources.{source}]{where}: {problem}; {fix}")


def parse_spec(
    name: str,
    table: Mapping[str, Any],
    profile_fields: tuple[str, ...],
    earlier: Mapping[str, tuple[str, ...]] | None = None,
) -> SourceSpec:
    """Validate one ``[sources.<name>]`` table (errors name the source, the column and the fix).

    ``earlier`` maps the declared sources before this one to their columns
    (they can be its parent).

    Examples
    --------
    >>> spec = parse_spec("tickets", {"per_parent": "1..3", "columns": {
    ...     "id": {"kind": "sequence"}, "who": {"kind": "copy", "field": "email"}}}, ())
    >>> spec.low, spec.high, [c.kind for c in spec.columns]
    (1, 3, ['sequence', 'copy'])
    >>> parse_spec("tickets", {"columns": {"id": {"kind": "serial"}}}, ())
    Traceback (most recent call last):
    ...
    vecgen.errors.ConfigError: [sources.tickets] column 'id': unknown kind 'serial'; use one of copy, choice, int, decimal, triangular, timestamp, sequence, uuid, sha256, pattern, constant, expr

    """
    if not _NAME.match(name):
        raise _fail(name, "", "a source name must be lower-case letters, digits and _", "rename it")
    unknown = sorted(set(table) - TABLE_KEYS)
    if unknown:
        raise _fail(name, "", f"unknown key '{unknown[0]}'", "use " + ", ".join(sorted(TABLE_KEYS)))
    parent = str(table.get("parent", "customers"))
    parent_fields = _parent_fields(name, parent, earlier or {})
    low, high, share = _per_parent(name, table.get("per_parent", 1))
    columns_table = table.get("columns")
    if not isinstance(columns_table, Mapping) or not columns_table:
        raise _fail(name, "", "no columns", f"add a [sources.{name}.columns] table")
    columns: list[ColumnSpec] = []
    for col, raw in columns_table.items():
        columns.append(_column(name, col, raw, [c.name for c in columns], parent, parent_fields))
    names = [c.name for c in columns]
    key = table.get("key")
    if key is not None and key not in names:
        raise _fail(name, " key", f"'{key}' is not a column", "name one of " + ", ".join(names))
    if key is not None and next(c for c in columns if c.name == key).kind not in KEY_KINDS:
        raise _fail(name, " key", f"'{key}' is not unique", "make it a sequence, uuid or sha256")
    truth = bool(table.get("truth", key is not None))
    duplicates = bool(table.get("duplicates", False))
    if (truth or duplicates) and key is None:
        raise _fail(name, "", "truth rows and duplicates need a record id", "set key = <column>")
    fuzz_table = table.get("fuzz", {})
    if not isinstance(fuzz_table, Mapping):
        raise _fail(name, " fuzz", "must be a table of column = profile field", "fix it")
    fuzz: dict[str, str | tuple[tuple[str, float], ...]] = {}
    for col, field in fuzz_table.items():
        if col not in names:
            raise _fail(name, f" fuzz.{col}", "not a column", "name one of " + ", ".join(names))
        if not isinstance(field, str):
            fuzz[col] = _kernel_mix(name, col, field)
            continue
        if profile_fields and field not in profile_fields:
            raise _fail(
                name, f" fuzz.{col}", f"'{field}' is not a field of the fuzz profile",
                "use one of " + ", ".join(profile_fields)
                + ", or a list of kernels such as [\"fat_finger\", \"swap_adjacent\"]",
            )  # fmt: skip
        if field in fuzz.values():
            raise _fail(
                name, f" fuzz.{col}", f"'{field}' is already the field of another column",
                "map each column to its own field, or give it a list of kernels",
            )  # fmt: skip
        fuzz[col] = field
    if duplicates and not fuzz:
        raise _fail(name, "", "duplicates need fuzzed columns", "add a fuzz table")
    default_file = "Customers" + "".join(p.title() for p in name.split("_"))
    return SourceSpec(
        name, str(table.get("file", default_file)), parent, parent_fields, low, high, share, key,
        duplicates, truth, tuple(sorted(fuzz.items())), tuple(columns),
    )  # fmt: skip


def _parent_fields(
    name: str, parent: str, earlier: Mapping[str, tuple[str, ...]]
) -> tuple[str, ...]:
    if parent == "customers":
        return PARENT_FIELDS
    if parent in ROW_PARENTS:
        return ROW_PARENTS[parent]
    if parent in earlier:
        return earlier[parent]
    options = ", ".join(["customers", *ROW_PARENTS, *earlier])
    where = "declared later" if parent == name else "not a source that can be a parent"
    raise _fail(
        name, " parent", f"'{parent}' is {where}",
        f"use one of {options} (a declared parent must come before its children)",
    )  # fmt: skip


def _kernel_mix(source: str, col: str, value: Any) -> tuple[tuple[str, float], ...]:
    """Validate a column's own kernel mix: a list of kernels or a table of kernel = weight."""
    from vecgen.fuzz_vectorized import KERNELS
    from vecgen.fuzz_vectorized.profiles import KEEP

    where = f" fuzz.{col}"
    items = [(k, 1.0) for k in value] if isinstance(value, list) else None
    if isinstance(value, Mapping):
        items = list(value.items())
    usable = [k for k in KERNELS if k not in POOLED_KERNELS]
    if not items or any(not isinstance(k, str) for k, _ in items):
        raise _fail(
            source, where, "must name a profile field or list kernels",
            'write "email", ["fat_finger", "swap_adjacent"] or { fat_finger = 3, keep = 1 }',
        )  # fmt: skip
    for kernel, weight in items:
        if kernel in POOLED_KERNELS:
            raise _fail(
                source, where, f"kernel '{kernel}' draws from a profile field's values",
                "map the column to that profile field instead (e.g. \"name_last\")",
            )  # fmt: skip
        if kernel not in KERNELS and kernel != KEEP:
            raise _fail(
                source, where, f"unknown kernel '{kernel}'", "use one of " + ", ".join(usable)
            )  # fmt: skip
        if isinstance(weight, bool) or not isinstance(weight, (int, float)) or weight < 0:
            raise _fail(source, where, f"weight of {kernel} must be a number >= 0", "fix it")
    if sum(w for k, w in items if k != KEEP) <= 0:
        raise _fail(source, where, "no kernel with a positive weight", "give one a weight > 0")
    return tuple((k, float(w)) for k, w in items)


def _per_parent(name: str, value: Any) -> tuple[int, int, float | None]:
    text = str(value).strip()
    if text.endswith("%"):
        try:
            share = float(text[:-1])
        except ValueError:
            share = -1.0
        if not 0 < share <= 100:
            raise _fail(name, " per_parent", f"bad share {value!r}", 'use e.g. "30%"')
        return 1, 1, share / 100
    low_text, _, high_text = text.partition("..")
    try:
        low, high = int(low_text), int(high_text or low_text)
    except ValueError:
        raise _fail(name, " per_parent", f"bad count {value!r}", 'use 2, "1..3" or "30%"') from None
    if not 0 <= low <= high < SLOTS or high == 0:
        raise _fail(
            name, " per_parent", f"{value!r} out of range", f"use counts from 0 up to {SLOTS - 1}"
        )  # fmt: skip
    return low, high, None


def _column(
    source: str, col: str, raw: Any, earlier: list[str], parent: str, parent_fields: tuple[str, ...]
) -> ColumnSpec:
    where = f" column '{col}'"
    if not _NAME.match(col) and not re.match(r"^[A-Za-z][A-Za-z0-9_]*$", col):
        raise _fail(source, where, "not a valid column name", "use letters, digits and _")
    if not isinstance(raw, Mapping) or "kind" not in raw:
        raise _fail(source, where, "needs a kind", 'write { kind = "..." , ... }')
    kind = raw["kind"]
    if kind not in KINDS:
        raise _fail(source, where, f"unknown kind '{kind}'", "use one of " + ", ".join(KINDS))
    required, optional = KINDS[kind]
    params = {k: v for k, v in raw.items() if k != "kind"}
    missing = sorted(required - set(params))
    if missing:
        raise _fail(source, where, f"kind {kind} needs '{missing[0]}'", "add it")
    extra = sorted(set(params) - required - optional)
    if extra:
        raise _fail(source, where, f"kind {kind} takes no '{extra[0]}'", "remove it")
    if kind == "copy" and params["field"] not in parent_fields:
        raise _fail(
            source, where, f"'{params['field']}' is not a field of the parent {parent}",
            "use one of " + ", ".join(parent_fields),
        )  # fmt: skip
    if kind == "choice":
        values, weights = params["values"], params.get("weights")
        if not isinstance(values, list) or not values:
            raise _fail(source, where, "values must be a non-empty list", "fix it")
        if weights is not None and (
            not isinstance(weights, list)
            or len(weights) != len(values)
            or any(not isinstance(w, (int, float)) or w < 0 for w in weights)
            or sum(weights) <= 0
        ):
            raise _fail(source, where, "weights must be one number >= 0 per value", "fix it")
    if kind in ("int", "decimal", "triangular"):
        lo, hi = params["min"], params["max"]
        mode = params.get("mode", lo)
        if not all(isinstance(v, (int, float)) for v in (lo, hi, mode)) or not lo <= mode <= hi:
            raise _fail(
                source, where, "needs numbers min <= max (and min <= mode <= max)", "fix it"
            )
    if kind == "timestamp" and not (isinstance(params["days"], int) and params["days"] > 0):
        raise _fail(source, where, "days must be a positive integer", "fix it")
    if kind == "pattern":
        for ref, _, _ in _PATTERN.findall(params["pattern"]):
            if ref not in earlier and ref not in parent_fields:
                raise _fail(
                    source, where,
                    f"pattern refers to '{ref}', not an earlier column or a field of {parent}",
                    "reorder the columns or fix the name",
                )  # fmt: skip
    if kind == "expr":
        try:
            pl.sql_expr(params["sql"])
        except Exception as exc:  # polars' SQL parser: any failure is the user's expression
            raise _fail(source, where, f"cannot parse sql ({exc})", "fix the expression") from None
    return ColumnSpec(col, kind, tuple(sorted(params.items(), key=lambda kv: kv[0])))


def parse_declared(text: str, profile_fields: tuple[str, ...] = ()) -> tuple[SourceSpec, ...]:
    """Parse the canonical JSON of every declared source (``Config.declared``)."""
    if not text:
        return ()
    specs: list[SourceSpec] = []
    for name, table in json.loads(text).items():
        earlier = {s.name: tuple(c.name for c in s.columns) for s in specs}
        specs.append(parse_spec(name, table, profile_fields, earlier))
    return tuple(specs)


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

    def __init__(self) -> None:
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
        from vecgen.sources import source_for

        memo_plan, memo = self._before
        if memo_plan is not plan:
            memo = {0: 0}
            self._before = (plan, memo)
        if clean_index not in memo:
            known = max(k for k in memo if k <= clean_index)
            parent = source_for(plan.config, self.spec.parent)
            memo[clean_index] = memo[known] + parent.rows_between(  # type: ignore[attr-defined]
                plan, known, clean_index
            )
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
    col: ColumnSpec,
    s: Stream,
    keys: U64,
    row_index: np.ndarray,
    plan: Plan,
    frame: pl.DataFrame,
    built: Mapping[str, pl.Series],
) -> pl.Series:
    n = len(keys)
    kind = col.kind
    if kind == "copy":
        return frame.get_column(str(col.get("field")))
    if kind == "choice":
        values = pl.Series(col.get("values"))
        weights = col.get("weights") or [1] * len(values)
        return values.gather(s.choice(keys, cumulative(weights)))
    if kind == "int":
        return pl.Series(s.integers(keys, int(col.get("min")), int(col.get("max")) + 1))
    if kind == "decimal":
        lo, hi = float(col.get("min")), float(col.get("max"))
        return pl.Series(np.round(lo + (hi - lo) * s.uniform(keys), int(col.get("places", 2))))
    if kind == "triangular":
        lo, mode, hi = (float(col.get(k)) for k in ("min", "mode", "max"))
        value = s.triangular(keys, lo, mode, hi) if hi > lo else np.full(n, lo)
        return pl.Series(np.round(value, int(col.get("places", 2))))
    if kind == "timestamp":
        return seconds_before(s, keys, plan.run_ts, dt.timedelta(days=int(col.get("days"))))
    if kind == "sequence":
        return pl.Series(row_index + int(col.get("start", 1)))
    if kind == "uuid":
        return uuid4(s, keys)
    if kind == "sha256":
        return hex_token(s, keys)
    if kind == "constant":
        return pl.Series([col.get("value")]).gather(np.zeros(n, dtype=np.int64))
    if kind == "expr":
        return frame.select(pl.sql_expr(col.get("sql"))).to_series()
    # pattern: literal text with {column} or {column[a:b]} pieces
    pattern: str = col.get("pattern")
    parts: list[pl.Expr] = []
    pos = 0
    for m in _PATTERN.finditer(pattern):
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
    result: pl.Series = frame.select(pl.concat_str(parts)).to_series()
    return result


def _fuzz(
    plan: Plan, vocab: Vocab, spec: SourceSpec, values: pl.DataFrame, keys: U64, is_dup: np.ndarray
) -> tuple[pl.DataFrame, pl.Series]:
    """Corrupt the duplicates' fuzzed columns; every duplicate changes in at least one.

    Columns mapped to a profile field get the profile's mix for that field (with
    its pools, events and field budget); a column with its own kernel list gets
    one of those kernels per duplicate.
    """
    from vecgen.fuzz_vectorized import KernelContext, force_change, fuzz_field, fuzz_frame
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
    log = (
        pl.DataFrame(logs)
        .select(pl.concat_str(pl.all(), separator="|", ignore_nulls=True).replace("", None))
        .to_series()
    )
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


def declared_source(spec: SourceSpec) -> Declared:
    """Return the source object of one declaration (a subclass named after it)."""
    attributes = {"name": spec.name, "spec": spec, "parents": (spec.parent,)}
    cls = type(f"Declared_{spec.name}", (Declared,), attributes)
    return cls()  # type: ignore[no-any-return]
