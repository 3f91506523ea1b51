"""Run a plan: batches flow through the sources in dependency order into the sinks.

Memory is bounded by one batch; nothing is visible at the final paths until
every batch of every source is written (see :mod:`vecgen.sinks`).
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from typing import TextIO

import polars as pl

from vecgen.config import Config
from vecgen.plan import Plan, resolve
from vecgen.sinks import FileSink, Outputs
from vecgen.sources import SOURCES, TRUTH_PREFIX, Batch, public
from vecgen.vocab import load


@dataclass(frozen=True)
class RunResult:
    """What a run wrote, for the summary table and for tests."""

    plan: Plan
    files: tuple[FileSink, ...]
    seconds: float

    @property
    def rows(self) -> int:
        """Rows written per format (each format holds the same rows)."""
        first = self.plan.config.formats[0]
        return sum(f.rows for f in self.files if f.fmt == first)


class Progress:
    """A one-line progress bar on a terminal; silent when not a terminal or quiet."""

    def __init__(
        self, total: int, stream: TextIO | None = None, enabled: bool | None = None
    ) -> None:
        self.total = max(total, 1)
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self.start = time.perf_counter()
        self._last = 0.0

    def update(self, done: int) -> None:
        """Show ``done`` of ``total`` customers (at most ten times a second)."""
        now = time.perf_counter()
        if not self.enabled or (now - self._last < 0.1 and done < self.total):
            return
        self._last = now
        frac = done / self.total
        bar = "#" * int(frac * 30)
        self.stream.write(
            f"\r[{bar:<30}] {frac:6.1%}  {done:,}/{self.total:,} customers  {now - self.start:6.1f}s"
        )
        self.stream.flush()

    def close(self) -> None:
        """End the line."""
        if self.enabled:
            self.stream.write("\n")
            self.stream.flush()


def run(config: Config, progress: Progress | None = None) -> RunResult:
    """Generate every enabled source of ``config`` and write it to ``config.out``.

    Examples
    --------
    >>> import datetime as dt, tempfile
    >>> from vecgen.config import Config
    >>> out = tempfile.mkdtemp()
    >>> result = run(Config(customers=100, out=out, date=dt.date(2026, 1, 1)))
    >>> {f.source: f.rows for f in result.files}["customers"]
    115


    """
    started = time.perf_counter()
    plan = resolve(config)
    vocab = load()
    outputs = Outputs.open(plan, {name: SOURCES[name].write_options for name in plan.sources})
    try:
        offsets = dict.fromkeys(plan.sources, 0)
        for index, (start, stop) in enumerate(plan.batches):
            upstream: dict[str, pl.DataFrame] = {}
            batch_offsets = dict(offsets)
            for name in plan.sources:
                batch = Batch(index, start, stop, batch_offsets, upstream)
                result = SOURCES[name].generate(plan, vocab, batch)
                upstream[name] = result.frame
                if result.truth is not None:
                    upstream[TRUTH_PREFIX + name] = result.truth
                outputs.write(name, public(result.frame))
                offsets[name] += result.frame.height
            if progress is not None:
                progress.update(stop)
        files = outputs.commit()
    except BaseException:
        outputs.abort()
        raise
    finally:
        if progress is not None:
            progress.close()
    return RunResult(plan, tuple(files), time.perf_counter() - started)
