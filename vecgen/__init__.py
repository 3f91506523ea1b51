"""vecgen: a fast generator of realistic, related, deliberately messy customer data.

Whole columns at a time: keyed NumPy draws index into vocabularies built with
mimesis, vectorized kernels corrupt duplicates, Polars frames stream to CSV,
Parquet or JSON lines, and a ground-truth file says which records are the same
person.
"""

from __future__ import annotations

import signal as _signal
import sys as _sys

# The command (``python -m vecgen`` or the ``vecgen`` script) imports this package before
# its entry point runs: a Ctrl-C from here on is only recorded, and the entry point ends
# the run with one line (:mod:`vecgen.__main__`). A program importing vecgen keeps its own
# handler (this runs only for the command, on the main thread, under Python's default).
STARTUP_INTERRUPTS: list[int] = []


def record_interrupt(signum: int, frame: object) -> None:
    """Remember a Ctrl-C that came while the command was starting (the SIGINT handler)."""
    STARTUP_INTERRUPTS.append(signum)


if (_sys.argv[:1] == ["-m"] or _sys.argv[0].rsplit("/", 1)[-1] == "vecgen") and _signal.getsignal(
    _signal.SIGINT
) is _signal.default_int_handler:
    _signal.signal(_signal.SIGINT, record_interrupt)

__version__ = "0.1.0"

from typing import TYPE_CHECKING, Any  # noqa: E402  (after the Ctrl-C guard)

from vecgen.errors import ConfigError, OutputError, VecgenError  # noqa: E402

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
