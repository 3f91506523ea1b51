"""The progress bar of the command: customers done, rate and time left (tqdm).

The engine reports progress through a callback (customers done so far); this
display belongs to the command line, above the engine.
"""

from __future__ import annotations

import shutil
import sys
import threading
from typing import TextIO


class Progress:
    """A progress bar (tqdm) on a terminal: customers done, rate and time left.

    Redrawn at least twice a second (elapsed time and time left move between
    batches too); silent when the output is not a terminal, or with ``--quiet``.
    """

    def __init__(
        self, total: int, stream: TextIO | None = None, enabled: bool | None = None
    ) -> None:
        from tqdm import tqdm

        self.total = max(total, 1)
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self.bar = tqdm(
            total=self.total,
            file=self.stream,
            disable=not self.enabled,
            unit=" customers",
            unit_scale=True,  # the rate as 76.1k customers/s (counts are printed with commas)
            mininterval=0.1,
            # A terminal that reports no size (a bare pty, some CI logs) still gets a bar:
            # tqdm hides bars below the last row, and a height of 0 hides them all.
            ncols=shutil.get_terminal_size((100, 20)).columns or 100,
            nrows=shutil.get_terminal_size((100, 20)).lines or 20,
            bar_format="{l_bar}{bar}| {n:,}/{total:,} customers [{elapsed}<{remaining}, "
            "{rate_noinv_fmt}]",
        )
        self._done = 0
        self._stop = threading.Event()
        if self.enabled:
            threading.Thread(target=self._tick, daemon=True, name="vecgen-progress").start()

    def _tick(self) -> None:
        while not self._stop.wait(0.5):
            self.bar.refresh()

    def update(self, done: int) -> None:
        """Show ``done`` of ``total`` customers.

        Examples
        --------
        >>> import io
        >>> p = Progress(4000, io.StringIO(), enabled=True)
        >>> p.bar.start_t -= 2.0  # two seconds ago
        >>> p.update(1000)
        >>> p.close()
        >>> line = p.stream.getvalue()
        >>> "1,000/4,000 customers" in line, "customers/s" in line, "00:02<" in line
        (True, True, True)

        """
        done = min(done, self.total)
        if done > self._done:
            self.bar.update(done - self._done)
            self._done = done

    def close(self) -> None:
        """Stop redrawing and end the line."""
        self._stop.set()
        self.bar.close()
