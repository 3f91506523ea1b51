"""Configuration: defaults < ``vecgen.toml`` < ``VECGEN_*`` environment < CLI flags.

Every setting is declared once in :data:`SETTINGS` (type, default, range, help);
that table drives validation, environment parsing, ``vecgen config`` and the
CLI's help. The result is a frozen :class:`Config`, validated before any I/O.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import difflib
import importlib.util
import json
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vecgen.catalog import (
    CHANGE_FEEDS,
    FORMATS,
    LOCALES,
    PARENTS,
    PERSON_FILE_COLUMNS,
    SOURCE_NAMES,
    SWITCHABLE,
    TABLE_FORMATS,
)
from vecgen.errors import ConfigError
from vecgen.fuzz_vectorized.profiles import Profile
from vecgen.spec import SourceSpec, parse_declared
from vecgen.state import STATE_FILE
from vecgen.untrusted import read_small_text

CONFIG_FILE = "vecgen.toml"
ENV_PREFIX = "VECGEN_"


@dataclass(frozen=True)
class Setting:
    """One configuration key: its kind, default, bounds and the help text shown to users."""

    name: str
    kind: str  # int | float | bool | str | choice | date | list
    default: Any
    help: str
    low: float | None = None
    high: float | None = None
    choices: tuple[str, ...] = ()


SETTINGS: tuple[Setting, ...] = (
    Setting("customers", "int", 1000, "number of clean (real) customers to generate", 0, 10**12),
    Setting(
        "dupe_rate", "float", 15.0, "duplicates as a percent of customers (extra records)", 0, 100
    ),
    Setting(
        "dupe_rate_variance",
        "float",
        0.0,
        "percent variance: this run's rate is drawn in rate*(1-v/100)..rate*(1+v/100)",
        0,
        100,
    ),
    Setting(
        "load_type",
        "choice",
        "new",
        "new: stop if today's files are already there; truncate (or --overwrite): replace "
        "today's files (earlier days stay); append: add a part to today's (keeps state)",
        choices=("new", "truncate", "append"),
    ),
    Setting(
        "trans_type",
        "choice",
        "full",
        "full: 5 years of transaction dates; daily: last 24 hours",
        choices=("full", "daily"),
    ),
    Setting("max_trans_per_customer", "int", 4, "each customer gets 1..N transactions", 1, 10_000),
    Setting(
        "points_earned",
        "float",
        2.0,
        "loyalty points as a percent of the transaction total",
        0,
        100,
    ),
    Setting(
        "alpha_key", "bool", False, "customer_id as '<n>-<8 chars [a-z0-9]>' instead of a number"
    ),
    Setting(
        "date_prefix", "bool", True, "layout flat: prefix file names with the run date YYYY_MM_DD"
    ),
    Setting(
        "date", "date", None, "run date YYYY-MM-DD (default: today, UTC); keys the data and paths"
    ),
    Setting(
        "batch_size",
        "int",
        100_000,
        "customers per batch, rounded up to a multiple of 1000 (bounds memory; never changes output)",
        1,
        10**8,
    ),
    Setting(
        "seed", "int", 0, "random seed: same seed + config (incl. date) = same bytes", 0, 2**63 - 1
    ),
    Setting(
        "formats",
        "list",
        ("csv",),
        "output formats, comma separated: " + ", ".join(FORMATS),
        choices=tuple(FORMATS),
    ),
    Setting("out", "str", "output", "output folder or fsspec URL (e.g. s3://bucket/prefix)"),
    Setting(
        "layout",
        "choice",
        "lake",
        "lake: OUT/<source>/dt=DATE/part-00000.EXT; flat: "
        "OUT/YYYY_MM_DDCustomers.csv (the predecessor's names)",
        choices=("lake", "flat"),
    ),
    Setting("quiet", "bool", False, "no progress bar and no summary table"),
    Setting(
        "fuzz_profile",
        "choice",
        "medium",
        "the population and how duplicates are corrupted: medium (realistic: households, "
        "per-system gaps), easy, hard, febrl, or gensampledata (the predecessor's harsh mix, "
        "everybody alone and complete, as its users know it); edit it in the [fuzz] table",
        choices=("gensampledata", "febrl", "easy", "medium", "hard"),
    ),
    Setting(
        "state",
        "bool",
        False,
        "keep ID counters across runs (daily operation) in OUT/_vecgen, so the next run into "
        "the same output continues after them; implied by load_type append. Without it a run "
        "is stateless: the same settings, seed and date give the same bytes",
    ),
    Setting(
        "state_dir",
        "path",
        "",
        "state folder (ID counters, lock, publish journal) instead of OUT/_vecgen; setting it "
        "turns state on; needed for an S3 output",
    ),
    Setting(
        "lock_wait",
        "float",
        0.0,
        "seconds to wait for another run in the same state folder",
        0,
        86400,
    ),
    Setting(
        "s3_endpoint_url",
        "path",
        "",
        "S3 endpoint for s3:// output (S3-compatible stores); empty: AWS",
    ),
    Setting(
        "s3_sse",
        "choice",
        "AES256",
        "server-side encryption of S3 objects",
        choices=("AES256", "aws:kms", "none"),
    ),
    Setting(
        "s3_kms_key_id", "path", "", "KMS key id for s3_sse = aws:kms (empty: the bucket's default)"
    ),
    Setting(
        "iceberg_catalog",
        "path",
        "",
        "format iceberg: the catalog, a URI: http(s)://... (a REST catalog) or a SQLAlchemy URI "
        "(sqlite:////abs/path.db, postgresql://user@host/db; a password goes in the environment, "
        "never the URI); empty: a SQLite file in the output, OUT/_iceberg/catalog.db",
    ),
    Setting("vault_addr", "path", "", "Vault address (default: $VAULT_ADDR)"),
    Setting("vault_token", "secret", "", "Vault token (default: $VAULT_TOKEN); never printed"),
    Setting(
        "vault_secret",
        "path",
        "",
        "KV v2 secret MOUNT/PATH holding aws_access_key_id, aws_secret_access_key",
    ),
    Setting(
        "vault_aws_role", "path", "", "or: role of Vault's AWS secrets engine (MOUNT/creds/ROLE)"
    ),
    Setting("vault_aws_mount", "str", "aws", "mount point of Vault's AWS secrets engine"),
    Setting(
        "publish_to",
        "path",
        "",
        "where 'vecgen publish' uploads today's files (s3://bucket/prefix)",
    ),
    Setting(
        "tracer", "bool", False, "add the QA records of TRACER_DIR/tracer.csv to today's customers"
    ),
    Setting(
        "tracer_dir",
        "path",
        "tracer",
        "folder of tracer.csv, beside vecgen.toml (or the working directory)",
    ),
    Setting(
        "changes",
        "float",
        0.0,
        "percent of earlier days' customers changed today (moves, marriages, new phone or "
        "e-mail, status, deletions): the customer_changes file; loyalty and POS follow on "
        "later days (loyalty_changes, pos_customer_changes)",
        0,
        100,
    ),
    Setting("archival", "bool", False, "re-add fuzzed people from earlier days' customer files"),
    Setting(
        "archival_count", "int", 5, "archival rounds, each about 1% of the run's customers", 0, 1000
    ),
    Setting(
        "csv_formula_guard",
        "bool",
        False,
        "prefix CSV text starting with = + - @ (or tab/CR) with ' so spreadsheets do not run it",
    ),
    Setting(
        "disk_check",
        "bool",
        True,
        "refuse to start when the output's disk has too little free space",
    ),
    Setting(
        "direct_io",
        "bool",
        True,
        "write local files past the page cache (O_DIRECT) where the file system allows: less "
        "CPU; off when the files are read back at once or the disk is slower than generation",
    ),
    Setting(
        "max_memory",
        "int",
        0,
        "cap the estimated peak memory (MiB) by lowering batch_size; 0: no cap",
        0,
        100_000_000,
    ),
    Setting(
        "workers",
        "int",
        1,
        "processes generating batches (never more than batches; output never depends on it); "
        "1: in-process, which on 2 cores already keeps both busy; 0: one per core but one",
        0,
        1024,
    ),
    Setting(
        "parts",
        "int",
        1,
        "split the run into this many independent shards (see --part)",
        1,
        100_000,
    ),
    Setting(
        "part",
        "int",
        0,
        "which shard to generate, 0..parts-1 (files are named part-0000K)",
        0,
        99_999,
    ),
    Setting(
        "locale",
        "choice",
        "en",
        "language and country of names, streets, cities, regions, postal codes and phone "
        "area codes: en (US), de, fr, es, pt-br, ja",
        choices=LOCALES,
    ),
    Setting(
        "engine",
        "choice",
        "local",
        "local: this machine; dask: the shards (--parts) as tasks on a Dask cluster "
        "(pip install 'vecgen[dask]')",
        choices=("local", "dask"),
    ),
    Setting(
        "scheduler",
        "path",
        "",
        "engine dask: the scheduler address (tcp://host:8786); empty: a local cluster",
    ),
    Setting(
        "parquet_compression",
        "choice",
        "snappy",
        "Parquet compression codec: snappy, zstd, lz4, gzip or none",
        choices=("snappy", "zstd", "lz4", "gzip", "none"),
    ),
    Setting(
        "parquet_row_group_rows",
        "int",
        32_768,
        "rows per Parquet row group (cut by rows, so never dependent on batching)",
        1_000,
        100_000_000,
    ),
    Setting(
        "parquet_file_rows",
        "int",
        4_194_304,
        "lake layout: a Parquet file holds at most about this many rows (whole row groups); "
        "more go to part-NNNNN_00001.parquet and on, so memory stays flat; 0: one file",
        0,
        10_000_000_000,
    ),
    Setting(
        "parquet_dictionary",
        "choice",
        "auto",
        "Parquet dictionary encoding: auto (columns with few distinct values in the first "
        "row group), all, or none",
        choices=("auto", "all", "none"),
    ),
    Setting(
        "parquet_statistics",
        "choice",
        "auto",
        "Parquet min/max statistics: auto (numbers, dates, times and text in order or of "
        "one value: the columns that can skip row groups), all, or none",
        choices=("auto", "all", "none"),
    ),
)
SETTINGS_BY_NAME = {s.name: s for s in SETTINGS}
# The state of a run that keeps one lives inside its output (every reader skips "_" folders).
STATE_SUBDIR = "_vecgen"
SOURCES_KEY = "sources"
FUZZ_KEY = "fuzz"
COMPLETENESS_KEY = "completeness"
ALL_KEYS = (*SETTINGS_BY_NAME, SOURCES_KEY, FUZZ_KEY, COMPLETENESS_KEY)
# Sources with per-system fill rates, and the person columns each holds (by their
# person-column names: loyalty's address1 is addr_ln_1_txt, wifi's fname name_first).
COMPLETENESS_COLUMNS: dict[str, tuple[str, ...]] = {
    source: tuple(columns) for source, columns in PERSON_FILE_COLUMNS.items()
}


class _CheckedFields(type):
    """Make ``Config(customer=10)`` a one-line error with a suggestion, not a TypeError."""

    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        valid = [f.name for f in dataclasses.fields(cls)]  # type: ignore[arg-type]
        for name in kwargs:
            if name not in valid:
                raise ConfigError(f"unknown setting '{name}'; " + _suggest(name, valid))
        return super().__call__(*args, **kwargs)


@dataclass(frozen=True)
class TomlTable:
    """A TOML table, frozen so a :class:`Config` holding it stays hashable.

    Keys are sorted, lists become tuples and inner tables ``TomlTable`` too;
    :meth:`to_dict` gives the plain table back.

    Examples
    --------
    >>> t = TomlTable.of({"fields": {"state": {"rate": 10}}, "cluster_max": 8})
    >>> t.to_dict()
    {'cluster_max': 8, 'fields': {'state': {'rate': 10}}}
    >>> hash(t) == hash(TomlTable.of(t.to_dict())), bool(TomlTable())
    (True, False)

    """

    items: tuple[tuple[str, Any], ...] = ()

    @classmethod
    def of(cls, table: Mapping[str, Any]) -> TomlTable:
        """Freeze ``table`` (its keys sorted)."""
        return cls(tuple((str(k), _freeze(table[k])) for k in sorted(table, key=str)))

    def to_dict(self) -> dict[str, Any]:
        """Return the table as plain dicts and lists."""
        return {k: _thaw(v) for k, v in self.items}

    def __bool__(self) -> bool:
        return bool(self.items)


def _freeze(value: Any) -> Any:
    if isinstance(value, Mapping):
        return TomlTable.of(value)
    if isinstance(value, list | tuple):
        return tuple(_freeze(v) for v in value)
    return value


def _thaw(value: Any) -> Any:
    if isinstance(value, TomlTable):
        return value.to_dict()
    if isinstance(value, tuple):
        return [_thaw(v) for v in value]
    return value


def _default(name: str) -> Any:
    """Return a setting's default from :data:`SETTINGS` (the one place it is written)."""
    return SETTINGS_BY_NAME[name].default


@dataclass(frozen=True)
class Config(metaclass=_CheckedFields):
    """A validated, immutable run configuration.

    Build it with :func:`load_config` (file, environment, flags) or directly:

    Examples
    --------
    >>> cfg = Config(customers=10, seed=7)
    >>> cfg.dupe_rate, cfg.enabled("transactions")
    (15.0, True)
    >>> Config(customers=-1)
    Traceback (most recent call last):
    ...
    vecgen.errors.ConfigError: 'customers' must be an integer from 0 to 1000000000000, got -1 (from Python)

    """

    customers: int = _default("customers")
    dupe_rate: float = _default("dupe_rate")
    dupe_rate_variance: float = _default("dupe_rate_variance")
    load_type: str = _default("load_type")
    trans_type: str = _default("trans_type")
    max_trans_per_customer: int = _default("max_trans_per_customer")
    points_earned: float = _default("points_earned")
    alpha_key: bool = _default("alpha_key")
    date_prefix: bool = _default("date_prefix")
    date: dt.date | None = _default("date")
    batch_size: int = _default("batch_size")
    seed: int = _default("seed")
    formats: tuple[str, ...] = _default("formats")
    out: str = _default("out")
    layout: str = _default("layout")
    quiet: bool = _default("quiet")
    fuzz_profile: str = _default("fuzz_profile")
    state: bool = _default("state")
    state_dir: str = _default("state_dir")
    lock_wait: float = _default("lock_wait")
    s3_endpoint_url: str = _default("s3_endpoint_url")
    s3_sse: str = _default("s3_sse")
    s3_kms_key_id: str = _default("s3_kms_key_id")
    iceberg_catalog: str = _default("iceberg_catalog")
    vault_addr: str = _default("vault_addr")
    vault_token: str = dataclasses.field(default=_default("vault_token"), repr=False)
    vault_secret: str = _default("vault_secret")
    vault_aws_role: str = _default("vault_aws_role")
    vault_aws_mount: str = _default("vault_aws_mount")
    publish_to: str = _default("publish_to")
    tracer: bool = _default("tracer")
    tracer_dir: str = _default("tracer_dir")
    changes: float = _default("changes")
    archival: bool = _default("archival")
    archival_count: int = _default("archival_count")
    csv_formula_guard: bool = _default("csv_formula_guard")
    disk_check: bool = _default("disk_check")
    direct_io: bool = _default("direct_io")
    max_memory: int = _default("max_memory")
    workers: int = _default("workers")
    parts: int = _default("parts")
    part: int = _default("part")
    locale: str = _default("locale")
    engine: str = _default("engine")
    scheduler: str = _default("scheduler")
    parquet_compression: str = _default("parquet_compression")
    parquet_row_group_rows: int = _default("parquet_row_group_rows")
    parquet_file_rows: int = _default("parquet_file_rows")
    parquet_dictionary: str = _default("parquet_dictionary")
    parquet_statistics: str = _default("parquet_statistics")
    fuzz: TomlTable = field(default_factory=lambda: TomlTable())  # the [fuzz] table, frozen
    declared: tuple[SourceSpec, ...] = ()  # the [sources.<name>] tables, parsed and checked
    # The [completeness.<source>] tables: ((source, ((column, percent), ...)), ...), sorted.
    completeness: tuple[tuple[str, tuple[tuple[str, float], ...]], ...] = ()
    sources: tuple[tuple[str, bool], ...] = field(
        default_factory=lambda: tuple((name, True) for name in SWITCHABLE)
    )

    def __post_init__(self) -> None:
        for s in SETTINGS:
            value = _coerce(s, getattr(self, s.name), "Python")
            object.__setattr__(self, s.name, value)
        object.__setattr__(self, SOURCES_KEY, _coerce_sources(dict(self.sources), "Python"))
        object.__setattr__(self, FUZZ_KEY, _canonical_fuzz(self.fuzz))
        profile = self.profile()  # validate the [fuzz] table now, before anything is written
        object.__setattr__(self, COMPLETENESS_KEY, _canonical_completeness(self.completeness))
        fields = tuple(m.field for m in profile.fields)
        specs = parse_declared(_canonical_declared(self.declared), fields)
        object.__setattr__(self, "declared", specs)
        if specs:
            clash = [s.name for s in specs if s.name in SOURCE_NAMES]
            if clash:
                raise ConfigError(f"[sources.{clash[0]}] is a built-in source; rename yours")
            for spec in specs:
                if spec.parent in SOURCE_NAMES and not self.enabled(spec.parent):
                    msg = (
                        f"[sources.{spec.name}] parent: {spec.parent} is switched off; turn it "
                        f"on ([sources] {spec.parent} = true) or choose another parent"
                    )
                    raise ConfigError(msg)
        for key in ("out", "state_dir", "tracer_dir", "publish_to"):
            _no_tilde(key, str(getattr(self, key) or ""))
        _check_catalog_uri(self.iceberg_catalog)
        if self.part >= self.parts:
            raise ConfigError(f"'part' must be below 'parts' ({self.parts}), got {self.part}")
        if self.parts > 1:
            clash = [
                k
                for k, on in (
                    ("state", self.state or bool(self.state_dir)),
                    ("tracer", self.tracer),
                    ("archival", self.archival),
                    ("changes", self.changes > 0),
                    ("load_type", self.load_type == "append"),
                )
                if on
            ]
            if clash:
                msg = (
                    f"'parts' = {self.parts} shards are independent runs: '{clash[0]}' is not available "
                    "with them (run the parts with --no-state and load_type truncate)"
                )
                raise ConfigError(msg)
        for table_format in [f for f in self.formats if f in TABLE_FORMATS]:
            others = [
                f for f in self.formats if f in ("parquet", *TABLE_FORMATS) and f != table_format
            ]
            conflict = (
                f"--format {others[0]} (the tables' data files are Parquet in the same folders); "
                "write each in a run of its own (another --out)"
                if others
                else "--layout flat (a table is partitioned by date); use --layout lake"
                if self.layout == "flat"
                else f"parts = {self.parts} (a table takes one commit per run, not one per shard); "
                "write the tables with parts = 1"
                if self.parts > 1
                else f"the remote output '{self.out}' without a catalog (the default one is a "
                "SQLite file in the output); set iceberg_catalog (a REST or SQL catalog) or "
                "write to a local --out"
                if "://" in self.out and table_format == "iceberg" and not self.iceberg_catalog
                else f"the output '{self.out}' (Delta tables are written to local folders or "
                "S3); use a local --out or s3://bucket/prefix"
                if "://" in self.out and not self.out.startswith(("s3://", "s3a://"))
                else ""
            )
            if conflict:
                raise ConfigError(f"--format {table_format} cannot be combined with {conflict}")
            package = {"delta": "deltalake", "iceberg": "pyiceberg"}[table_format]
            if importlib.util.find_spec(package) is None:
                msg = (
                    f"--format {table_format} needs {package}: pip install 'vecgen[{table_format}]'"
                )
                raise ConfigError(msg)
        reread = [k for k, on in (("archival", self.archival), ("changes", self.changes > 0)) if on]
        if reread and "://" in self.out and not self.out.startswith("s3://"):
            msg = (
                f"'{reread[0]}' reads the earlier days of a local or S3 output, and "
                f"'{self.out}' is neither; run it on a local --out (then vecgen publish)"
            )
            raise ConfigError(msg)
        if self.load_type == "append" and not (self.state or self.state_dir):
            # Appending needs IDs that continue across runs: without state they would repeat.
            msg = "'load_type' = 'append' needs state (IDs would repeat); drop --no-state"
            raise ConfigError(msg)

    def state_folder(self) -> Path | None:
        """Return the folder of the ID counters, or None for a stateless run.

        ``state_dir`` if set, else ``OUT/_vecgen`` when state is on. An S3 output
        needs ``state_dir``: a local folder per machine could be missed by the next run.

        Examples
        --------
        >>> Config().state_folder() is None
        True
        >>> Config(state=True, out="lake").state_folder().as_posix()
        'lake/_vecgen'

        """
        if self.state_dir:
            return Path(self.state_dir)
        if not self.state:
            return None
        if "://" in self.out:
            msg = (
                f"keeping ID counters for the remote output '{self.out}' needs a state folder: "
                "set state_dir (a folder every run into this output uses) or use --no-state"
            )
            raise ConfigError(msg)
        return Path(self.out) / STATE_SUBDIR

    def control_folder(self) -> Path | None:
        """Return the folder of the publish journal (counters or not).

        The state folder when state is kept, else ``OUT/_vecgen`` for a local
        output: a stateless run still journals its renames (and removes the
        folder after them), so a kill never leaves a day half old, half new.
        None for a stateless remote output.

        Examples
        --------
        >>> Config(out="lake").control_folder().as_posix()
        'lake/_vecgen'

        """
        folder = self.state_folder()
        if folder is None and "://" not in self.out:
            return Path(self.out) / STATE_SUBDIR
        return folder

    def fuzz_table(self) -> dict[str, Any]:
        """Return the ``[fuzz]`` overrides as a table."""
        return self.fuzz.to_dict()

    def profile(self) -> Profile:
        """Return the fuzz profile: the preset with the ``[fuzz]`` overrides applied."""
        from vecgen.fuzz_vectorized import KERNELS
        from vecgen.fuzz_vectorized.overrides import OverrideError, build_profile

        try:
            return build_profile(self.fuzz_profile, self.fuzz_table(), tuple(KERNELS))
        except OverrideError as exc:
            raise ConfigError(f"{exc} (fix the [fuzz] table of vecgen.toml)") from None

    def completeness_rates(self, source: str) -> dict[str, float]:
        """Percent of ``source``'s records holding each person column (profile, then overrides).

        Examples
        --------
        >>> Config(fuzz_profile="medium").completeness_rates("pos_customers")["birth_dt"]
        15.0
        >>> Config(fuzz_profile="gensampledata", completeness={"wifi": {"postal_code": 50}}
        ...        ).completeness_rates("wifi")
        {'postal_code': 50.0}

        """
        rates = {c: float(f) for c, f in dict(self.profile().completeness).get(source, ())}
        rates.update(dict(self.completeness).get(source, ()))
        return rates

    def enabled(self, source: str) -> bool:
        """Return whether ``source`` is switched on (a declared source always is).

        A change feed (``customer_changes``, ``loyalty_changes``,
        ``pos_customer_changes``) is on when ``changes`` > 0 and customers and
        its system are.
        """
        if source in CHANGE_FEEDS:
            system = CHANGE_FEEDS[source]
            return self.changes > 0 and self.enabled("customers") and self.enabled(system)
        return dict(self.sources).get(source, source in self.declared_names())

    def declared_names(self) -> tuple[str, ...]:
        """Return the names of the declared sources, in file order."""
        return tuple(spec.name for spec in self.declared)

    @property
    def run_date(self) -> dt.date:
        """The run date: the configured one, or today (UTC)."""
        return self.date or dt.datetime.now(dt.UTC).date()

    def replace(self, **changes: Any) -> Config:
        """Return a copy with ``changes`` applied (and validated)."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """Return the settings as plain TOML-friendly values (sources as a table)."""
        d: dict[str, Any] = {}
        for s in SETTINGS:
            v = getattr(self, s.name)
            d[s.name] = list(v) if isinstance(v, tuple) else v
        d[SOURCES_KEY] = {
            **dict(self.sources),
            **{spec.name: spec.table() for spec in self.declared},
        }
        if self.fuzz:
            d[FUZZ_KEY] = self.fuzz_table()
        if self.completeness:
            d[COMPLETENESS_KEY] = {source: dict(rates) for source, rates in self.completeness}
        return d


def _check_catalog_uri(uri: str) -> None:
    """Refuse an ``iceberg_catalog`` that is not a URI, or that holds a password.

    Examples
    --------
    >>> _check_catalog_uri("http://127.0.0.1:8181")
    >>> _check_catalog_uri("postgresql://me:pw@db/lake")
    Traceback (most recent call last):
    ...
    vecgen.errors.ConfigError: 'iceberg_catalog' holds a password; give it through the environment (PGPASSWORD for PostgreSQL) and write postgresql://me@db/lake

    """
    import urllib.parse

    if not uri:
        return
    scheme, _, rest = uri.partition("://")
    bad = (
        "'iceberg_catalog' must be a URI: http(s)://host:port for a REST catalog, "
        "sqlite:////abs/path.db or postgresql://user@host/db for a SQL catalog"
    )
    if not rest or not re.fullmatch(r"[a-z][a-z0-9+.-]*", scheme):
        raise ConfigError(bad)
    try:
        parts = urllib.parse.urlsplit(uri)
        password, port = parts.password, parts.port
    except ValueError:  # a malformed host or port
        raise ConfigError(bad) from None
    if password is not None:
        netloc = f"{parts.username}@{parts.hostname or ''}" + (f":{port}" if port else "")
        msg = (
            "'iceberg_catalog' holds a password; give it through the environment (PGPASSWORD "
            f"for PostgreSQL) and write {parts._replace(netloc=netloc).geturl()}"
        )
        raise ConfigError(msg)


def _no_tilde(key: str, value: str) -> None:
    """Refuse a path setting that starts with '~' (fsspec would take it for the home folder)."""
    if value.startswith("~"):
        msg = (
            f"'{key}' starts with '~', which vecgen does not expand (the shell does, "
            f"unquoted); write the full path, or ./{value} for a folder named so"
        )
        raise ConfigError(msg)


def _suggest(name: str, valid: tuple[str, ...] | list[str]) -> str:
    close = difflib.get_close_matches(name, valid, n=1)
    hint = f"did you mean '{close[0]}'? " if close else ""
    return f"{hint}valid keys: {', '.join(valid)}"


def _parse_bool(value: str) -> bool:
    v = value.strip().lower()
    if v in ("1", "true", "yes", "on"):
        return True
    if v in ("0", "false", "no", "off"):
        return False
    raise ValueError(value)


def _coerce(s: Setting, value: Any, origin: str) -> Any:
    """Check (and, for strings from the environment or flags, parse) one value."""
    given = value

    def bad(expected: str) -> ConfigError:
        return ConfigError(f"'{s.name}' must be {expected}, got {given!r} (from {origin})")

    if value is None and s.default is None:
        return None
    if isinstance(value, str) and "\x00" in value:  # no file name or URL can hold one
        raise bad("text without NUL characters")
    if s.kind in ("int", "float"):
        if isinstance(value, str):
            try:
                value = int(value) if s.kind == "int" else float(value)
            except ValueError:
                raise bad("an integer" if s.kind == "int" else "a number") from None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise bad("an integer" if s.kind == "int" else "a number")
        if s.kind == "int" and isinstance(value, float):
            if not value.is_integer():
                raise bad("an integer")
            value = int(value)
        if value != value or not (
            s.low is not None and s.high is not None and s.low <= value <= s.high
        ):
            kind = "an integer" if s.kind == "int" else "a number"
            low = int(s.low) if s.low is not None and float(s.low).is_integer() else s.low
            high = int(s.high) if s.high is not None and float(s.high).is_integer() else s.high
            raise bad(f"{kind} from {low} to {high}")
        return float(value) if s.kind == "float" else int(value)
    if s.kind == "bool":
        if isinstance(value, str):
            try:
                return _parse_bool(value)
            except ValueError:
                raise bad("true or false") from None
        if not isinstance(value, bool):
            raise bad("true or false")
        return value
    if s.kind == "str":
        if not isinstance(value, str) or not value.strip():
            raise bad("a non-empty string")
        return value
    if s.kind in ("path", "secret"):
        if not isinstance(value, str):
            raise bad("a folder path (empty for none)")
        return value
    if s.kind == "choice":
        if value not in s.choices:
            raise bad("one of " + ", ".join(s.choices))
        return value
    if s.kind == "date":
        if isinstance(value, dt.datetime):
            return value.date()
        if isinstance(value, dt.date):
            return value
        if isinstance(value, str):
            try:
                return dt.date.fromisoformat(value.strip())
            except ValueError:
                pass
        raise bad("a date YYYY-MM-DD")
    if s.kind == "list":
        items = value.split(",") if isinstance(value, str) else value
        if not isinstance(items, (list, tuple)) or not items:
            raise bad("a non-empty list of " + ", ".join(s.choices))
        out = []
        for item in items:
            item = item.strip().lower() if isinstance(item, str) else item
            if item not in s.choices:
                raise bad("a list of " + ", ".join(s.choices))
            if item not in out:
                out.append(item)
        return tuple(out)
    raise AssertionError(s.kind)  # pragma: no cover


def _coerce_sources(table: Mapping[str, Any], origin: str) -> tuple[tuple[str, bool], ...]:
    on = {name: True for name in SWITCHABLE}
    for name, value in table.items():
        if name in CHANGE_FEEDS:
            msg = f"'{SOURCES_KEY}.{name}' is not a switch ({origin}); set changes = P (a percent) instead"
            raise ConfigError(msg)
        if name not in on:
            msg = f"'{SOURCES_KEY}.{name}' is not a source ({origin}); " + _suggest(
                name, SWITCHABLE
            )
            raise ConfigError(msg.replace("valid keys", "valid sources"))
        if isinstance(value, str):
            try:
                value = _parse_bool(value)
            except ValueError:
                pass
        if not isinstance(value, bool):
            msg = f"'{SOURCES_KEY}.{name}' must be true or false, got {value!r} (from {origin})"
            raise ConfigError(msg)
        on[name] = value
    for child, parents in PARENTS.items():
        missing = [p for p in parents if on.get(child) and not on[p]]
        if missing:
            msg = (
                f"'{SOURCES_KEY}.{child}' is on but needs {', '.join(missing)}, which is off "
                f"({origin}); switch {child} off too or turn {', '.join(missing)} on"
            )
            raise ConfigError(msg)
    return tuple(on.items())


def _canonical_declared(value: Any) -> str:
    """Return the declared sources' tables as JSON, in their order (the columns' order counts).

    Accepts the tables, their JSON text or parsed specs (``Config.replace``).
    """
    if isinstance(value, tuple) and all(isinstance(v, SourceSpec) for v in value):
        value = {spec.name: spec.table() for spec in value}
    if isinstance(value, str):
        return json.dumps(json.loads(value)) if value else ""
    if not isinstance(value, Mapping):
        raise ConfigError(f"'declared' must be a table of [sources.<name>] tables, got {value!r}")
    return json.dumps(value, default=str) if value else ""


def _canonical_fuzz(value: Any) -> TomlTable:
    """Freeze the ``[fuzz]`` table; accept a table, a frozen one or its JSON text."""
    if isinstance(value, TomlTable):
        return value
    if isinstance(value, str):
        if not value:
            return TomlTable()
        try:
            value = json.loads(value)
        except ValueError as exc:
            raise ConfigError(f"'{FUZZ_KEY}' must be a table, got {value!r}") from exc
    if not isinstance(value, Mapping):
        raise ConfigError(f"'{FUZZ_KEY}' must be a table (the [fuzz] section), got {value!r}")
    return TomlTable.of(value)


def _canonical_completeness(value: Any) -> tuple[tuple[str, tuple[tuple[str, float], ...]], ...]:
    """Validate the ``[completeness.<source>]`` tables; return them frozen and sorted.

    Accepts the tables, their JSON text or the frozen form (``Config.replace``).

    Examples
    --------
    >>> _canonical_completeness({"pos_customers": {"birth_dt": 10}})
    (('pos_customers', (('birth_dt', 10.0),)),)
    >>> _canonical_completeness({"pos": {}})
    Traceback (most recent call last):
    ...
    vecgen.errors.ConfigError: [completeness.pos] is not a source with fill rates; valid keys: customers, pos_customers, loyalty, wifi

    """
    if isinstance(value, tuple):
        value = {source: dict(rates) for source, rates in value}
    if isinstance(value, str):
        if not value:
            return ()
        try:
            value = json.loads(value)
        except ValueError:
            raise ConfigError(f"'{COMPLETENESS_KEY}' must be a table, got {value!r}") from None
    if not isinstance(value, Mapping):
        msg = f"'{COMPLETENESS_KEY}' must be tables [completeness.<source>] of column = percent"
        raise ConfigError(msg)
    out: dict[str, dict[str, float]] = {}
    for source, table in value.items():
        valid = COMPLETENESS_COLUMNS.get(source)
        if valid is None:
            msg = f"[completeness.{source}] is not a source with fill rates; " + _suggest(
                str(source), list(COMPLETENESS_COLUMNS)
            )
            raise ConfigError(msg)
        if not isinstance(table, Mapping):
            msg = f"[completeness.{source}] must be a table of column = percent (0-100), got {table!r}"
            raise ConfigError(msg)
        rates: dict[str, float] = {}
        for column, fill in table.items():
            if column not in valid:
                raise ConfigError(
                    f"[completeness.{source}] has no column '{column}'; "
                    + _suggest(str(column), list(valid))
                )
            if isinstance(fill, bool) or not isinstance(fill, int | float) or not 0 <= fill <= 100:
                msg = f"[completeness.{source}] {column} must be a percent from 0 to 100, got {fill!r}"
                raise ConfigError(msg)
            rates[column] = float(fill)
        out[source] = dict(sorted(rates.items()))
    return tuple((source, tuple(out[source].items())) for source in sorted(out))


def _merge(target: dict[str, Any], raw: Mapping[str, Any], origin: str) -> None:
    for key, value in raw.items():
        if key == COMPLETENESS_KEY:
            if not isinstance(value, Mapping):
                msg = f"'{COMPLETENESS_KEY}' must be tables [completeness.<source>] ({origin})"
                raise ConfigError(msg)
            merged = dict(target.get(COMPLETENESS_KEY, {}))
            for source, table in value.items():
                old = merged.get(source, {})
                merged[source] = {**old, **table} if isinstance(table, Mapping) else table
            target[COMPLETENESS_KEY] = merged
            continue
        if key == FUZZ_KEY:
            if not isinstance(value, Mapping):
                raise ConfigError(f"'{FUZZ_KEY}' must be a table (the [fuzz] section) ({origin})")
            target[FUZZ_KEY] = {**target.get(FUZZ_KEY, {}), **value}
            continue

        if key == SOURCES_KEY:
            if not isinstance(value, Mapping):
                raise ConfigError(
                    f"'{SOURCES_KEY}' must be a table of source = true/false ({origin})"
                )
            target[SOURCES_KEY] = {**target.get(SOURCES_KEY, {}), **value}
            target.setdefault("__origin__", {})[SOURCES_KEY] = origin
            continue
        if key not in SETTINGS_BY_NAME:
            raise ConfigError(f"unknown key '{key}' in {origin}; " + _suggest(key, list(ALL_KEYS)))
        target[key] = _coerce(SETTINGS_BY_NAME[key], value, origin)


def read_config_file(path: Path) -> dict[str, Any]:
    """Parse a ``vecgen.toml`` file into a raw table (errors name the file and line).

    The file is untrusted: only a regular file (a FIFO would block), at most
    1 MiB, strict UTF-8, tables and arrays nested at most 16 deep.
    """
    try:
        text = read_small_text(path)
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist") from None
    except OSError as exc:
        raise ConfigError(f"config file {path} cannot be read: {exc.strerror}") from None
    except ValueError as exc:
        raise ConfigError(f"config file {path} {exc}; give a UTF-8 TOML file") from None
    raw: dict[str, Any]
    try:
        if path.suffix.lower() == ".json":  # the same tables, written as JSON
            try:
                raw = json.loads(text)
            except ValueError as exc:
                raise ConfigError(f"{path} is not valid JSON: {exc}") from None
            if not isinstance(raw, dict):
                raise ConfigError(f"{path} must hold a JSON object (the settings table)")
        else:
            raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}") from None
    except RecursionError:
        raise ConfigError(f"{path} nests tables or arrays too deep") from None
    if _depth(raw) > MAX_DEPTH:
        raise ConfigError(f"{path} nests tables or arrays more than {MAX_DEPTH} deep")
    return raw


MAX_DEPTH = 16


def _depth(value: Any, level: int = 0) -> int:
    """How deep tables and arrays nest (stops counting past the limit)."""
    if level > MAX_DEPTH:
        return level
    if isinstance(value, dict):
        return max((_depth(v, level + 1) for v in value.values()), default=level + 1)
    if isinstance(value, list):
        return max((_depth(v, level + 1) for v in value), default=level + 1)
    return level


def env_settings(environ: Mapping[str, str]) -> dict[str, str | dict[str, str]]:
    """Collect ``VECGEN_*`` variables as raw settings (``VECGEN_SOURCES_<NAME>`` for switches)."""
    raw: dict[str, Any] = {}
    for var, value in sorted(environ.items()):
        if not var.startswith(ENV_PREFIX) or var in (
            "VECGEN_CONFIG",
            "VECGEN_DEBUG",
            "VECGEN_FAULT",
            "VECGEN_TEST_FAULTS",
        ):
            continue
        key = var[len(ENV_PREFIX) :].lower()
        if key.startswith(SOURCES_KEY + "_"):
            raw.setdefault(SOURCES_KEY, {})[key[len(SOURCES_KEY) + 1 :]] = value
        elif key in SETTINGS_BY_NAME:
            raw[key] = value
        else:
            valid = [ENV_PREFIX + k.upper() for k in SETTINGS_BY_NAME]
            raise ConfigError(
                f"unknown environment variable {var}; "
                + _suggest(var, valid).replace("valid keys", "valid variables")
                + f", {ENV_PREFIX}SOURCES_<NAME>"
            )
    return raw


def load_config(
    flags: Mapping[str, Any] | None = None,
    *,
    config_path: Path | None = None,
    cwd: Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> Config:
    """Resolve the configuration: defaults < file < environment < flags.

    ``config_path`` defaults to ``$VECGEN_CONFIG`` or ``vecgen.toml`` in ``cwd``
    (used only if it exists). ``flags`` holds values given on the command line
    (``None`` means not given).
    """
    environ = os.environ if environ is None else environ
    cwd = cwd or Path.cwd()
    merged: dict[str, Any] = {}
    explicit = config_path or (
        Path(environ["VECGEN_CONFIG"]) if environ.get("VECGEN_CONFIG") else None
    )
    path = explicit or cwd / CONFIG_FILE
    if explicit is not None or path.exists():
        _merge(merged, read_config_file(path), str(path))
    _merge(merged, env_settings(environ), "environment")
    given = {k: v for k, v in (flags or {}).items() if v is not None}
    _merge(merged, given, "command line")
    origin = merged.pop("__origin__", {}).get(SOURCES_KEY, "command line")
    if SOURCES_KEY in merged:
        table = merged[SOURCES_KEY]
        declared = {k: v for k, v in table.items() if isinstance(v, Mapping)}
        switches = {k: v for k, v in table.items() if k not in declared}
        merged[SOURCES_KEY] = _coerce_sources(switches, origin)
        if declared:
            merged["declared"] = declared
    # Paths in vecgen.toml are relative to it (else to the working directory).
    base = path.parent if (explicit is not None or path.exists()) else cwd
    # State only when asked for: state = true, a state_dir, or appending; --no-state wins.
    # An output that already keeps counters goes on keeping them (a job that forgot --state).
    out = str(merged.get("out", SETTINGS_BY_NAME["out"].default))
    kept = "://" not in out and (cwd / out / STATE_SUBDIR / STATE_FILE).exists()
    if merged.get("state") is False:
        merged["state_dir"] = ""
    elif merged.get("load_type") == "append" or merged.get("state_dir") or kept:
        merged["state"] = True
    for key in ("state_dir", "tracer_dir"):  # the same rule as Config's before they resolve
        _no_tilde(key, str(merged.get(key, "")))
    state_dir = merged.get("state_dir", "")
    merged["state_dir"] = str((base / state_dir).resolve()) if state_dir else ""
    merged["tracer_dir"] = str((base / merged.get("tracer_dir", "tracer")).resolve())
    return Config(**merged)


def describe_setting(s: Setting) -> str:
    """Help text with the default, for ``--help``."""
    text = s.help.replace("%", "%%")  # argparse %-formats help strings
    if s.default is None or s.default == "":
        return text
    default = ",".join(s.default) if isinstance(s.default, tuple) else s.default
    return f"{text} (default: {default})"


# A password inside a URL (scheme://user:password@host): never written by `vecgen config`.
_URL_PASSWORD = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^/@\s:]*:[^/@\s]+@")


def config_toml(config: Config) -> str:
    """Render a config as TOML (``vecgen config``), ready to save as ``vecgen.toml``.

    Only what differs from the defaults is written (by ``tomli_w``), so a daily
    job built from it neither pins today's date nor this machine's default
    folders; a secret that is set is named in a comment, never written.

    Examples
    --------
    >>> import tomllib
    >>> from vecgen.config import Config
    >>> tomllib.loads(config_toml(Config(customers=7, sources=(("truth", False),))))
    {'customers': 7, 'sources': {'truth': False}}

    """
    import tomli_w

    d = config.to_dict()
    base = Config().to_dict()
    secrets = {s.name for s in SETTINGS if s.kind == "secret"}
    folder_defaults = {"tracer_dir": {"tracer", str((Path.cwd() / "tracer").resolve())}}
    table: dict[str, Any] = {}
    notes = ["# vecgen.toml (vecgen config): the settings that differ from the defaults;"]
    notes.append("# vecgen --help lists every setting with its default.")
    for key, value in d.items():
        if key in (SOURCES_KEY, "fuzz", "completeness") or value is None or value == base[key]:
            continue
        if key in folder_defaults and value in folder_defaults[key]:
            continue
        if key in secrets:
            notes.append(f"# {key} is set (not shown): keep it in the environment or Vault")
            continue
        if isinstance(value, str) and _URL_PASSWORD.search(value):
            env = f"VECGEN_{key.upper()}"
            notes.append(f"# {key} holds a password (not shown): set it in {env} instead")
            continue
        table[key] = value
    if config.date is None:
        notes.append("# date is not set: each run uses its own day (UTC)")
    sources = {
        k: v for k, v in d[SOURCES_KEY].items() if isinstance(v, dict) or v != base[SOURCES_KEY][k]
    }
    if sources:
        table[SOURCES_KEY] = sources
    for key in ("fuzz", "completeness"):
        if d.get(key):
            table[key] = d[key]
    return "\n".join(notes) + "\n" + (("\n" + tomli_w.dumps(table)) if table else "")
