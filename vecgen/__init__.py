"""vecgen: a fast generator of realistic, related, deliberately messy customer data.

Whole columns at a time: keyed NumPy draws index into vocabularies built with
mimesis, vectorized kernels corrupt duplicates, Polars frames stream to CSV,
Parquet or JSON lines, and a ground-truth file says which records are the same
person.
"""

from __future__ import annotations

__version__ = "0.1.0"

from typing import TYPE_CHECKING, Any

from vecgen.errors import ConfigError, OutputError, VecgenError

if TYPE_CHECKING:
    import polars as pl

    from vecgen.config import Config, load_config


def __getattr__(name: str) -> Any:
    """Import ``Config`` and ``load_config`` on first use (they bring Polars and NumPy).

    Keeping ``import vecgen`` light lets the command install its Ctrl-C
    handling before the heavy imports start (:mod:`vecgen.__main__`).
    """
    if name in ("Config", "load_config"):
        from vecgen import config

        return getattr(config, name)
    raise AttributeError(f"module 'vecgen' has no attribute {name!r}")


__all__ = [
    "Config",
    "ConfigError",
    "OutputError",
    "VecgenError",
    "__version__",
    "generate",
    "load_config",
]


def generate(config: Config | None = None, /, **settings: Any) -> dict[str, pl.DataFrame]:
    """Generate a landscape in memory: source name -> Polars DataFrame.

    The frames hold exactly what the command writes for the same settings
    (same rows, same order, typed columns as in Parquet). No file is written
    and no state is kept.

    Examples
    --------
    >>> import datetime as dt
    >>> import vecgen
    >>> frames = vecgen.generate(customers=200, seed=1, date=dt.date(2026, 1, 1))
    >>> frames["customers"].height, sorted(frames)[:3]
    (230, ['clickstream', 'custom_object', 'customers'])
    >>> cfg = vecgen.Config(customers=50, fuzz_profile="febrl", date=dt.date(2026, 1, 1))
    >>> vecgen.generate(cfg, seed=2)["truth"].columns[:4]
    ['source', 'record_id', 'entity_id', 'household_id']

    """
    from vecgen.config import Config
    from vecgen.engine import generate_frames

    base = config or Config()
    # In memory: no files and no ID counters, whatever the config says about them.
    return generate_frames(
        base.replace(**{"state_dir": "", "state": False, "load_type": "new", **settings})
    )
