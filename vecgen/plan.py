"""The resolved plan of a run: rates, row counts, ID ranges, batches and file order.

Everything here is computed from the config alone, before any I/O. Customers are
laid out in logical blocks of :data:`BLOCK` clean records, each followed by its
duplicates (as the predecessor's batches were), so a record's position, and so
its customer_id, is a closed-form function of its index, whatever the batch size.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from vecgen.catalog import CHANGE_FEEDS, SOURCE_INFO, SOURCE_NAMES, SWITCHABLE, SourceInfo
from vecgen.config import Config
from vecgen.errors import ConfigError
from vecgen.fuzz_vectorized.profiles import Profile
from vecgen.rng import I64, U64, Stream, derive_key
from vecgen.state import State

BLOCK = 1000
CUSTOMER_ID_START = 1_000_000_000
TRANSACTION_ID_START = 100_000_000_000
EMAIL_EVENT_ID_START = 5_000_000_000
_PPM = 1_000_000
_COUNT_CHUNK = 4_000_000


@dataclass(frozen=True)
class Plan:
    """What a run will produce; derived from a :class:`Config` by :func:`resolve`.

    Examples
    --------
    >>> from vecgen.config import Config
    >>> import datetime as dt
    >>> p = resolve(Config(customers=2500, dupe_rate=10, date=dt.date(2026, 1, 2)))
    >>> p.n_clean, p.n_dupes, p.n_customer_rows
    (2500, 250, 2750)
    >>> p.clean_positions(np.array([0, 999, 1000], dtype=np.uint64)).tolist()
    [0, 999, 1100]

    """

    config: Config
    run_date: dt.date
    run_ts: dt.datetime
    key: int  # root of every stream: (seed, run date)
    dupe_rate: float  # this run's rate in percent, after the variance draw
    rate_ppm: int
    n_clean: int
    n_dupes: int
    batches: tuple[tuple[int, int], ...]  # clean-index ranges [start, stop)
    sources: tuple[str, ...]  # enabled, in generation order
    customer_id_start: int = CUSTOMER_ID_START
    transaction_id_start: int = TRANSACTION_ID_START
    email_event_id_start: int = EMAIL_EVENT_ID_START
    clickstream_start: int = 0
    # custom_object has no ID column: its truth record_id row-<n> counts on from the state.
    custom_object_row_start: int = 0

    @property
    def n_customer_rows(self) -> int:
        """Rows of the customers file: clean records plus duplicates."""
        return self.n_clean + self.n_dupes

    def stream(self, source: str, column: str) -> Stream:
        """Return the random stream of one column of one source."""
        return Stream(derive_key(self.key, source, column))

    def streams(self, source: str) -> Callable[[str], Stream]:
        """Return ``column -> stream`` for one source (a shorthand for generators)."""
        return functools.partial(self.stream, source)

    def dupes_before(self, clean_index: I64 | U64) -> I64:
        """How many duplicates belong to the clean records before ``clean_index``."""
        return (np.asarray(clean_index, dtype=np.int64) * self.rate_ppm) // _PPM

    def per_block_extra(self, clean_index: I64 | U64) -> I64:
        """Extras (a rate share) before ``clean_index``: the same rule as for duplicates."""
        return self.dupes_before(clean_index)

    def pos_rows_before(self, clean_index: I64 | U64) -> I64:
        """Rows of ``pos_customers`` before the block that starts at ``clean_index``.

        Per block: shared copies (the rate share), new people (the rest) and
        duplicates of those new people (the rate share of them).
        """
        c = np.asarray(clean_index, dtype=np.int64)
        new_before = c - self.dupes_before(c)
        return c + self.dupes_before(new_before)

    @property
    def n_pos_rows(self) -> int:
        """Rows of the ``pos_customers`` file."""
        return int(self.pos_rows_before(np.array([self.n_clean]))[0])

    @property
    def generated_customer_ids(self) -> int:
        """Customer IDs the generated files use: primary rows, and POS rows if POS is on."""
        return self.n_customer_rows + (self.n_pos_rows if "pos_customers" in self.sources else 0)

    @property
    def pos_customer_id_start(self) -> int:
        """POS customer_ids continue after the primary ones: one ID space per run."""
        return self.customer_id_start + self.n_customer_rows

    def fan_out_total(
        self, source: str, column: str, n_parents: int, low: int, high: int, first: int = 0
    ) -> int:
        """Sum of per-parent counts ``low..high`` keyed by parent row, for rows ``first..n_parents-1``."""
        stream = self.stream(source, column)
        total = 0
        for start in range(first, n_parents, _COUNT_CHUNK):
            rows = np.arange(start, min(start + _COUNT_CHUNK, n_parents), dtype=np.uint64)
            total += int(stream.integers(rows, low, high + 1).sum())
        return total

    @functools.cached_property
    def profile(self) -> Profile:
        """The fuzz profile of this run (preset plus ``[fuzz]`` overrides)."""
        return self.config.profile()

    @functools.cached_property
    def n_transactions(self) -> int:
        """Rows of the primary ``transactions`` file (computed from the plan, not from data)."""
        return self.fan_out_total(
            "transactions", "count", self.n_customer_rows, 1, self.config.max_trans_per_customer
        )

    def clean_positions(self, clean_index: U64) -> I64:
        """File position (0-based row) of clean records."""
        c = np.asarray(clean_index, dtype=np.int64)
        return c + self.dupes_before((c // BLOCK) * BLOCK)


def _draw_rate(config: Config, key: int) -> float:
    v = config.dupe_rate_variance / 100.0
    if v == 0:
        return config.dupe_rate
    u = float(Stream(derive_key(key, "plan", "dupe_rate")).uniform(np.zeros(1, dtype=np.uint64))[0])
    return float(min(100.0, max(0.0, config.dupe_rate * (1 - v + 2 * v * u))))


# Peak resident memory as a base plus a cost per customer of a batch, set with a
# margin of 20-30 % above measured peaks (ru_maxrss of 300k-customer runs with every
# source: 250 MiB at batch_size 5,000, 500 at 25,000, 1,207 at 100,000).
MEMORY_BASE_MIB = 250
ROW_KIB_ALL_SOURCES = 14.0
# Parquet holds each file's row group until it is full, whatever the batch size: per
# source, rows per customer and bytes per row in memory (from a 1M-customer run), and
# a fixed part for the writers' buffers. Set 25 % above measured peaks: 100k customers
# with --max-memory 450 held 358 MiB of row groups at 262,144 rows, 195 at 65,536.
PARQUET_MARGIN = 1.25
PARQUET_WRITERS_MIB = 100


def source_info(config: Config, name: str) -> SourceInfo:
    """Return the record of a built-in source, or work one out from a declared source's spec.

    A declared source's size comes from its rows per parent and its columns
    (about 24 bytes a value in CSV, 40 in memory), its parent's rows per customer
    and its duplicates.

    Examples
    --------
    >>> source_info(Config(), "wifi").stem
    'CustomersWifi'

    """
    if name in SOURCE_INFO:
        return SOURCE_INFO[name]
    for spec in config.declared:
        if spec.name != name:
            continue
        parent = source_info(config, spec.parent)
        per_parent = spec.share if spec.share is not None else (spec.low + spec.high) / 2
        rows = parent.parquet_rows * per_parent * (1.15 if spec.duplicates else 1.0)
        width = len(spec.columns)
        return SourceInfo(
            name,
            spec.file,
            (spec.parent,),
            (spec.key,) if spec.key else (),
            csv_bytes=round(rows * width * 24),
            parquet_rows=rows,
            parquet_row_bytes=width * 40,
        )
    msg = f"unknown source '{name}'"
    raise KeyError(msg)


def parquet_pending_mib(config: Config, sources: tuple[str, ...]) -> int:
    """Estimate the memory of the Parquet row groups being filled (0 without Parquet).

    Examples
    --------
    >>> parquet_pending_mib(Config(customers=100_000), SOURCE_NAMES)
    0
    >>> parquet_pending_mib(Config(customers=100_000, formats=("parquet",)), SOURCE_NAMES)
    188
    >>> parquet_pending_mib(
    ...     Config(customers=100_000, formats=("parquet",), parquet_row_group_rows=262_144),
    ...     SOURCE_NAMES,
    ... )
    520

    """
    if not {"parquet", "delta", "iceberg"} & set(config.formats):
        return 0
    customers = config.customers / config.parts
    held = 0.0
    for name in sources:
        info = source_info(config, name)
        rows = customers * info.parquet_rows
        held += min(config.parquet_row_group_rows, rows) * info.parquet_row_bytes
    return round(held * PARQUET_MARGIN / 2**20 + PARQUET_WRITERS_MIB)


def _batches(lo: int, hi: int, step: int) -> tuple[tuple[int, int], ...]:
    """Cut clean indices ``lo..hi`` into batches of at most ``step``, the last one shorter.

    The bytes do not depend on where batches are cut. An empty run still has
    one (empty) batch, so every file gets its header. (Runs of four or more
    batches used to start and end with a quarter batch, so that writing began
    sooner and less was left after the last batch; since each source's frame is
    written as soon as it is made, the two extra batches cost more than they
    saved: 1M customers 3-5% faster without them, benchmarks/RESULTS.md,
    session 15.)

    Examples
    --------
    >>> _batches(0, 10_000, 4_000)
    ((0, 4000), (4000, 8000), (8000, 10000))
    >>> [b - a for a, b in _batches(0, 20_500, 4_000)]
    [4000, 4000, 4000, 4000, 4000, 500]
    >>> _batches(0, 0, 4_000)
    ((0, 0),)

    """
    return tuple((s, min(s + step, hi)) for s in range(lo, hi, step)) or ((lo, lo),)


def memory_batch_size(config: Config, sources: tuple[str, ...]) -> int:
    """Return ``batch_size``, lowered so the estimated peak stays under ``max_memory``.

    The batch size never changes a byte of the output, so the cap is free to
    choose it. A cap too small for even one block is a configuration error.

    Examples
    --------
    >>> from vecgen.catalog import SOURCE_NAMES
    >>> memory_batch_size(Config(max_memory=400), SOURCE_NAMES)
    10000
    >>> memory_batch_size(Config(), SOURCE_NAMES)
    100000

    """
    if not config.max_memory:
        return config.batch_size
    # The change feeds hold no rows per batch: the generated sources count.
    generated = [s for s in sources if s not in CHANGE_FEEDS]
    per_row_kib = ROW_KIB_ALL_SOURCES * max(len(generated), 1) / len(SWITCHABLE)
    parquet = parquet_pending_mib(config, sources)
    base = MEMORY_BASE_MIB + parquet
    fit = int((config.max_memory - base) * 1024 / per_row_kib) // BLOCK * BLOCK
    if fit < BLOCK:
        need = base + int(BLOCK * per_row_kib / 1024) + 1
        msg = (
            f"max_memory = {config.max_memory} MiB is below the {need} MiB that one batch of "
            f"{BLOCK:,} customers needs with {len(sources)} sources"
        )
        if parquet:
            msg += (
                f" and the Parquet row groups being filled (about {parquet} MiB at "
                f"{config.parquet_row_group_rows:,} rows; lower parquet_row_group_rows to "
                "shrink them)"
            )
        msg += "; raise max_memory (or 0 for no cap) or turn sources off"
        raise ConfigError(msg)
    return min(config.batch_size, fit)


def resolve(config: Config, state: State | None = None) -> Plan:
    """Resolve ``config`` (and the ID counters of ``state``) into a :class:`Plan`.

    The first customer ID is part of the random key: a second run on the same
    day (``append``) continues the IDs and makes new people.
    """
    state = state or State()
    run_date = config.run_date
    key = derive_key(config.seed, run_date.isoformat(), state.last_customer_id)
    rate = _draw_rate(config, key)
    rate_ppm = round(rate * _PPM / 100)
    n = config.customers
    # Batches hold whole blocks, so every per-block extra (duplicates, copies,
    # anonymous visitors) and the truth file's order are the same for any batch size.
    builtin = [name for name in SOURCE_NAMES if config.enabled(name)]
    # Declared sources are generated after the built-in ones, before truth collects them all.
    at = builtin.index("truth") if "truth" in builtin else len(builtin)
    sources = tuple(builtin[:at] + list(config.declared_names()) + builtin[at:])
    step = -(-memory_batch_size(config, sources) // BLOCK) * BLOCK
    # A shard (--parts N --part K) holds whole blocks: the K-th N-th of them.
    blocks = -(-n // BLOCK)
    lo = min(n, (config.part * blocks // config.parts) * BLOCK)
    hi = min(n, ((config.part + 1) * blocks // config.parts) * BLOCK)
    batches = _batches(lo, hi, step)
    return Plan(
        config=config,
        run_date=run_date,
        run_ts=dt.datetime.combine(run_date, dt.time()),
        key=key,
        dupe_rate=rate,
        rate_ppm=rate_ppm,
        n_clean=n,
        n_dupes=(n * rate_ppm) // _PPM,
        batches=batches,
        sources=sources,
        customer_id_start=state.last_customer_id,
        transaction_id_start=state.last_transaction_id,
        email_event_id_start=state.last_email_event_id,
        clickstream_start=state.last_clickstream_id,
        custom_object_row_start=state.last_custom_object_row,
    )


def next_state(plan: Plan, state: State, rows: dict[str, int], extra_customers: int = 0) -> State:
    """Return the counters after a run that wrote ``rows`` per source (its IDs are used up)."""
    customers = plan.generated_customer_ids if "customers" in rows else 0
    last_order = plan.transaction_id_start + rows.get("transactions", 0)
    if "pos_transactions" in rows:  # POS orders are numbered after every primary order
        last_order = plan.transaction_id_start + plan.n_transactions + rows["pos_transactions"]
    return State(
        last_customer_id=plan.customer_id_start + customers + extra_customers,
        last_transaction_id=last_order,
        last_email_event_id=plan.email_event_id_start + rows.get("email_campaign", 0),
        last_clickstream_id=plan.clickstream_start + rows.get("clickstream", 0),
        last_custom_object_row=plan.custom_object_row_start + rows.get("custom_object", 0),
        runs=state.runs + 1,
    )
