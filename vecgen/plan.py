"""The resolved plan of a run: rates, row counts, ID ranges, batches and file order.

Everything here is computed from the config alone, before any I/O. Customers are
laid out in logical blocks of :data:`BLOCK` clean records, each followed by its
duplicates (as the predecessor's batches were), so a record's position, and so
its customer_id, is a closed-form function of its index, whatever the batch size.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from vecgen.catalog import SOURCE_NAMES
from vecgen.config import Config
from vecgen.rng import I64, U64, Stream, derive_key

BLOCK = 1000
CUSTOMER_ID_START = 1_000_000_000
TRANSACTION_ID_START = 100_000_000_000
_PPM = 1_000_000


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

    @property
    def n_customer_rows(self) -> int:
        """Rows of the customers file: clean records plus duplicates."""
        return self.n_clean + self.n_dupes

    def stream(self, source: str, column: str) -> Stream:
        """Return the random stream of one column of one source."""
        return Stream(derive_key(self.key, source, column))

    def dupes_before(self, clean_index: I64 | U64) -> I64:
        """How many duplicates belong to the clean records before ``clean_index``."""
        return (np.asarray(clean_index, dtype=np.int64) * self.rate_ppm) // _PPM

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


def resolve(config: Config) -> Plan:
    """Resolve ``config`` into a :class:`Plan` (no I/O)."""
    run_date = config.run_date
    key = derive_key(config.seed, run_date.isoformat())
    rate = _draw_rate(config, key)
    rate_ppm = round(rate * _PPM / 100)
    n = config.customers
    step = config.batch_size
    # An empty run still has one (empty) batch, so every file gets its header.
    batches = tuple((s, min(s + step, n)) for s in range(0, n, step)) or ((0, 0),)
    sources = tuple(name for name in SOURCE_NAMES if config.enabled(name))
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
    )
