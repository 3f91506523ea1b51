"""Declared sources' specification: ``[sources.<name>]`` tables parsed and checked.

The layer below the configuration: :func:`parse_declared` turns the tables into
frozen :class:`SourceSpec` values (one :class:`ColumnSpec` per column) with
one-line errors naming the table, the key and the fix. Generation lives in
:mod:`vecgen.sources.declared`; this module never imports it.
"""

from __future__ import annotations

import functools
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import polars as pl

from vecgen.catalog import EMAIL_COLUMNS, SLOTS, TRANSACTION_COLUMNS
from vecgen.errors import ConfigError

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
PATTERN = re.compile(r"\{(\w+)(?:\[(\d*):(\d*)\])?\}")
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


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
    columns: tuple[Column, ...]
    raw: str = ""  # the table as given (canonical JSON): `vecgen config` prints it back

    def table(self) -> dict[str, Any]:
        """Return the ``[sources.<name>]`` table as it was given."""
        table: dict[str, Any] = json.loads(self.raw) if self.raw else {}
        return table


_FILE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")


def _file_name(source: str, value: Any) -> str:
    """Check a declared source's flat file stem: a plain name, so it stays inside --out.

    Examples
    --------
    >>> _file_name("t", "CustomersTickets")
    'CustomersTickets'
    >>> _file_name("t", "../x")
    Traceback (most recent call last):
    ...
    vecgen.errors.ConfigError: [sources.t] file: '../x' is not a plain file name; use letters, digits, _ . - (the file is written inside --out)

    """
    if not isinstance(value, str) or not _FILE.match(value) or ".." in value:
        raise _fail(
            source, " file", f"{value!r} is not a plain file name",
            "use letters, digits, _ . - (the file is written inside --out)",
        )  # fmt: skip
    return value


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
    columns: list[Column] = []
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
        name, _file_name(name, table.get("file", default_file)), parent, parent_fields, low, high,
        share, key,
        duplicates, truth, tuple(sorted(fuzz.items())), tuple(columns),
        json.dumps(dict(table), default=str),
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


# Numbers a declared column can hold: within int64 (Arrow, Parquet) and finite.
INT_LIMIT = 2**53  # exact in a float too, so decimals and ints share the bound
MAX_DAYS = 100_000  # a timestamp column's span: far inside what dates and Arrow can hold


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and abs(value) <= INT_LIMIT


def _is_number(value: Any) -> bool:
    return (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and math.isfinite(value)
        and abs(value) <= INT_LIMIT
    )


@dataclass(frozen=True)
class _Where:
    """Where a column is declared, for its checks' messages and references."""

    source: str
    column: str
    earlier: tuple[str, ...]  # the columns declared before it
    parent: str
    parent_fields: tuple[str, ...]

    def fail(self, problem: str, fix: str) -> ConfigError:
        return _fail(self.source, f" column '{self.column}'", problem, fix)


@dataclass(frozen=True)
class Column:
    """A declared column: its name; one subclass per kind holds the kind's parameters.

    ``parse`` checks a column table (``{ kind = "...", ... }`` without ``kind``)
    and returns the typed column; generation matches on the class
    (:mod:`vecgen.sources.declared`).
    """

    name: str
    kind: ClassVar[str] = ""
    required: ClassVar[tuple[str, ...]] = ()
    optional: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def parse(cls, where: _Where, params: Mapping[str, Any]) -> Column:
        """Check ``params`` and return the column (the subclasses check their values)."""
        return cls(where.column, **params)


@dataclass(frozen=True)
class Copy(Column):
    """The parent's value of ``field``."""

    field: str = ""
    kind: ClassVar[str] = "copy"
    required: ClassVar[tuple[str, ...]] = ("field",)

    @classmethod
    def parse(cls, where: _Where, params: Mapping[str, Any]) -> Column:
        """Check that ``field`` is a field of the parent."""
        field = params["field"]
        if field not in where.parent_fields:
            raise where.fail(
                f"'{field}' is not a field of the parent {where.parent}",
                "use one of " + ", ".join(where.parent_fields),
            )
        return cls(where.column, field)


@dataclass(frozen=True)
class Choice(Column):
    """One of ``values`` per row, with ``weights`` (equal if not given)."""

    values: tuple[Any, ...] = ()
    weights: tuple[float, ...] | None = None
    kind: ClassVar[str] = "choice"
    required: ClassVar[tuple[str, ...]] = ("values",)
    optional: ClassVar[tuple[str, ...]] = ("weights",)

    @classmethod
    def parse(cls, where: _Where, params: Mapping[str, Any]) -> Column:
        """Check the values (one type, finite) and their weights."""
        values, weights = params["values"], params.get("weights")
        if not isinstance(values, list) or not values:
            raise where.fail("values must be a non-empty list", "fix it")
        if not (
            all(isinstance(v, str) for v in values)
            or all(_is_int(v) for v in values)
            or all(_is_number(v) for v in values)
            or all(isinstance(v, bool) for v in values)
        ):
            raise where.fail(
                "values must all be text, all integers, all numbers or all booleans (finite, "
                "within int64)", "fix them",
            )  # fmt: skip
        if weights is not None and (
            not isinstance(weights, list)
            or len(weights) != len(values)
            or any(not isinstance(w, (int, float)) for w in weights)
            or any(w < 0 for w in weights)
            or sum(weights) <= 0
        ):
            raise where.fail("weights must be one number >= 0 per value", "fix it")
        return cls(where.column, tuple(values), None if weights is None else tuple(weights))


def _bounds(where: _Where, kind: str, lo: Any, hi: Any, mode: Any = None) -> None:
    number = _is_int if kind == "int" else _is_number
    mode = lo if mode is None else mode
    if not all(number(v) for v in (lo, hi, mode)) or not lo <= mode <= hi:
        what = "integers" if kind == "int" else "finite numbers"
        raise where.fail(
            f"needs {what} min <= max (and min <= mode <= max) within +-{INT_LIMIT:,}", "fix it"
        )


def _places(where: _Where, places: Any) -> Any:
    if places is not None and not (_is_int(places) and 0 <= places <= 9):
        raise where.fail("places must be an integer from 0 to 9", "fix it")
    return places


@dataclass(frozen=True)
class Int(Column):
    """A whole number from ``min`` to ``max`` (both included)."""

    min: int = 0
    max: int = 0
    kind: ClassVar[str] = "int"
    required: ClassVar[tuple[str, ...]] = ("min", "max")

    @classmethod
    def parse(cls, where: _Where, params: Mapping[str, Any]) -> Column:
        """Check the bounds: integers, min <= max."""
        _bounds(where, cls.kind, params["min"], params["max"])
        return cls(where.column, params["min"], params["max"])


@dataclass(frozen=True)
class Decimal(Column):
    """A number from ``min`` to ``max``, rounded to ``places`` (2)."""

    min: float = 0.0
    max: float = 0.0
    places: int | None = None
    kind: ClassVar[str] = "decimal"
    required: ClassVar[tuple[str, ...]] = ("min", "max")
    optional: ClassVar[tuple[str, ...]] = ("places",)

    @classmethod
    def parse(cls, where: _Where, params: Mapping[str, Any]) -> Column:
        """Check the bounds and the places."""
        _bounds(where, cls.kind, params["min"], params["max"])
        places = _places(where, params.get("places"))
        return cls(where.column, params["min"], params["max"], places)


@dataclass(frozen=True)
class Triangular(Column):
    """A number from ``min`` to ``max``, most often near ``mode``, rounded to ``places`` (2)."""

    min: float = 0.0
    mode: float = 0.0
    max: float = 0.0
    places: int | None = None
    kind: ClassVar[str] = "triangular"
    required: ClassVar[tuple[str, ...]] = ("min", "mode", "max")
    optional: ClassVar[tuple[str, ...]] = ("places",)

    @classmethod
    def parse(cls, where: _Where, params: Mapping[str, Any]) -> Column:
        """Check min <= mode <= max and the places."""
        _bounds(where, cls.kind, params["min"], params["max"], params["mode"])
        places = _places(where, params.get("places"))
        return cls(where.column, params["min"], params["mode"], params["max"], places)


@dataclass(frozen=True)
class Timestamp(Column):
    """A moment within the ``days`` before the run."""

    days: int = 1
    kind: ClassVar[str] = "timestamp"
    required: ClassVar[tuple[str, ...]] = ("days",)

    @classmethod
    def parse(cls, where: _Where, params: Mapping[str, Any]) -> Column:
        """Check that ``days`` is a positive integer."""
        days = params["days"]
        if not (isinstance(days, int) and not isinstance(days, bool) and 0 < days <= MAX_DAYS):
            raise where.fail(
                f"days must be a whole number from 1 to {MAX_DAYS:,} (about 270 years)", "fix it"
            )
        return cls(where.column, days)


@dataclass(frozen=True)
class Sequence(Column):
    """The row's number in the file, from ``start`` (1)."""

    start: int | None = None
    kind: ClassVar[str] = "sequence"
    optional: ClassVar[tuple[str, ...]] = ("start",)

    @classmethod
    def parse(cls, where: _Where, params: Mapping[str, Any]) -> Column:
        """Check that ``start`` is an integer."""
        start = params.get("start")
        if start is not None and not _is_int(start):
            raise where.fail(f"start must be an integer within +-{INT_LIMIT:,}", "fix it")
        return cls(where.column, start)


@dataclass(frozen=True)
class Uuid(Column):
    """A random version-4 UUID."""

    kind: ClassVar[str] = "uuid"


@dataclass(frozen=True)
class Sha256(Column):
    """A random 64-digit hex token (shaped like a SHA-256)."""

    kind: ClassVar[str] = "sha256"


@dataclass(frozen=True)
class Pattern(Column):
    """Text with ``{column}`` or ``{column[a:b]}`` pieces of earlier columns or parent fields."""

    pattern: str = ""
    kind: ClassVar[str] = "pattern"
    required: ClassVar[tuple[str, ...]] = ("pattern",)

    @classmethod
    def parse(cls, where: _Where, params: Mapping[str, Any]) -> Column:
        """Check that the pattern names earlier columns or parent fields only."""
        pattern = params["pattern"]
        if not isinstance(pattern, str):
            raise where.fail("pattern must be text", 'e.g. "T-{customer_id}"')
        for ref, _, _ in PATTERN.findall(pattern):
            if ref not in where.earlier and ref not in where.parent_fields:
                raise where.fail(
                    f"pattern refers to '{ref}', not an earlier column or a field of "
                    f"{where.parent}", "reorder the columns or fix the name",
                )  # fmt: skip
        return cls(where.column, pattern)


@dataclass(frozen=True)
class Constant(Column):
    """The same ``value`` in every row."""

    value: Any = None
    kind: ClassVar[str] = "constant"
    required: ClassVar[tuple[str, ...]] = ("value",)

    @classmethod
    def parse(cls, where: _Where, params: Mapping[str, Any]) -> Column:
        """Check that the value is text, a boolean or a finite number."""
        value = params["value"]
        if not (isinstance(value, (str, bool)) or _is_int(value) or _is_number(value)):
            raise where.fail(
                f"value must be text, a boolean or a finite number within +-{INT_LIMIT:,}",
                "fix it",
            )
        return cls(where.column, value)


@dataclass(frozen=True)
class Expr(Column):
    """A Polars SQL expression over earlier columns and parent fields."""

    sql: str = ""
    kind: ClassVar[str] = "expr"
    required: ClassVar[tuple[str, ...]] = ("sql",)

    @classmethod
    def parse(cls, where: _Where, params: Mapping[str, Any]) -> Column:
        """Check that the SQL parses and names earlier columns or parent fields only."""
        sql = params["sql"]
        if not isinstance(sql, str):
            raise where.fail("sql must be text", "fix it")
        try:
            expr = pl.sql_expr(sql)
        except Exception as exc:  # polars' SQL parser: any failure is the user's expression
            raise where.fail(f"cannot parse sql ({exc})", "fix the expression") from None
        known = {*where.earlier, *where.parent_fields}
        unknown = sorted(set(expr.meta.root_names()) - known)
        if unknown:
            raise where.fail(
                f"sql names '{unknown[0]}', not an earlier column or a field of {where.parent}",
                "use one of " + ", ".join(sorted(known)),
            )
        return cls(where.column, sql)


COLUMN_KINDS: dict[str, type[Column]] = {
    c.kind: c
    for c in (Copy, Choice, Int, Decimal, Triangular, Timestamp, Sequence, Uuid, Sha256,
              Pattern, Constant, Expr)
}  # fmt: skip
KINDS: dict[str, tuple[set[str], set[str]]] = {  # kind -> (required keys, optional keys)
    k: (set(c.required), set(c.optional)) for k, c in COLUMN_KINDS.items()
}


def _column(
    source: str, col: str, raw: Any, earlier: list[str], parent: str, parent_fields: tuple[str, ...]
) -> Column:
    """Check one column table and return its typed :class:`Column` (the kind checks its values)."""
    where = _Where(source, col, tuple(earlier), parent, parent_fields)
    if not _NAME.match(col) and not re.match(r"^[A-Za-z][A-Za-z0-9_]*$", col):
        raise where.fail("not a valid column name", "use letters, digits and _")
    if not isinstance(raw, Mapping) or "kind" not in raw:
        raise where.fail("needs a kind", 'write { kind = "..." , ... }')
    kind = raw["kind"]
    if not isinstance(kind, str) or kind not in COLUMN_KINDS:
        raise where.fail(f"unknown kind {kind!r}", "use one of " + ", ".join(COLUMN_KINDS))
    cls = COLUMN_KINDS[kind]
    params = {k: v for k, v in raw.items() if k != "kind"}
    missing = sorted(set(cls.required) - set(params))
    if missing:
        raise where.fail(f"kind {kind} needs '{missing[0]}'", "add it")
    extra = sorted(set(params) - set(cls.required) - set(cls.optional))
    if extra:
        raise where.fail(f"kind {kind} takes no '{extra[0]}'", "remove it")
    return cls.parse(where, params)


@functools.lru_cache(maxsize=16)
def parse_declared(text: str, profile_fields: tuple[str, ...] = ()) -> tuple[SourceSpec, ...]:
    """Parse the canonical JSON of every declared source into the specs ``Config.declared`` holds.

    Cached: the config, the registry, the size estimates and the database keys
    all ask for the same frozen specs.
    """
    if not text:
        return ()
    specs: list[SourceSpec] = []
    for name, table in json.loads(text).items():
        earlier = {s.name: tuple(c.name for c in s.columns) for s in specs}
        specs.append(parse_spec(name, table, profile_fields, earlier))
    return tuple(specs)
