"""Fault injection for the crash-safety tests: kill the process at a named point.

Set ``VECGEN_TEST_FAULTS=1`` (a test-only switch: nothing happens without it)
and ``VECGEN_FAULT=POINT[:N[:SIGNAL]]``, and the ``N``-th time (default 1) the
run passes :func:`checkpoint` with that name it sends itself ``SIGNAL``
(``KILL`` by default; ``TERM`` or ``INT`` take the handled abort path). A
malformed value is a one-line error at the first checkpoint, never a crash.
Unarmed, a checkpoint is one comparison. The points are listed in
:data:`POINTS`; ``tests/test_faults.py`` kills a run at every one of them.
"""

from __future__ import annotations

import os
import signal
import threading

from vecgen.errors import VecgenError

POINTS = (
    "lock.acquired",  # the state lock is held, nothing read yet
    "outputs.opened",  # every temporary file exists
    "batch.generated",  # one batch handed to the writer thread (N-th batch)
    "sink.write",  # one frame written to one temporary file (N-th write, any format)
    "s3.part",  # an S3 temporary's N-th multipart part uploaded, the upload not completed
    "outputs.finished",  # every temporary file closed, nothing visible
    "state.written",  # counters saved, publish journal not yet written
    "journal.written",  # the run is committed: the journal lists its renames
    "publish.rename",  # before the N-th rename into place
    "publish.stale",  # every file renamed, today's stale parts not yet removed
    "publish.done",  # every file in place, journal not yet removed
    "table.committed",  # the N-th Delta table committed (--format delta)
)

SIGNALS = ("KILL", "TERM", "INT")
ARMED = os.environ.get("VECGEN_TEST_FAULTS") == "1"
_SPEC = os.environ.get("VECGEN_FAULT", "") if ARMED else ""
_counts: dict[str, int] = {}
_lock = threading.Lock()


class FaultSpecError(VecgenError, ValueError):
    """``VECGEN_FAULT`` is not ``POINT[:N[:SIGNAL]]``."""


def _parse(spec: str) -> tuple[str, int, str]:
    """Split ``POINT[:N[:SIGNAL]]``; junk is a one-line error.

    Examples
    --------
    >>> _parse("publish.rename:14:TERM")
    ('publish.rename', 14, 'TERM')
    >>> _parse("sink.write:x")
    Traceback (most recent call last):
    ...
    vecgen.faults.FaultSpecError: VECGEN_FAULT='sink.write:x' is not POINT[:N[:SIGNAL]] (points: lock.acquired, outputs.opened, batch.generated, sink.write, s3.part, outputs.finished, state.written, journal.written, publish.rename, publish.stale, publish.done, table.committed; N >= 1; SIGNAL KILL, TERM or INT)

    """
    name, _, rest = spec.partition(":")
    count, _, sig = rest.partition(":")
    ok = name in POINTS and (count == "" or (count.isdigit() and int(count) >= 1))
    if not ok or sig not in ("", *SIGNALS):
        msg = (
            f"VECGEN_FAULT={spec[:60]!r} is not POINT[:N[:SIGNAL]] (points: "
            f"{', '.join(POINTS)}; N >= 1; SIGNAL KILL, TERM or INT)"
        )
        raise FaultSpecError(msg)
    return name, int(count or 1), sig or "KILL"


def checkpoint(point: str) -> None:
    """Kill this process here if ``VECGEN_FAULT`` names ``point`` and this is its N-th pass.

    Examples
    --------
    >>> checkpoint("publish.rename")  # VECGEN_FAULT is unset: nothing happens

    """
    if not _SPEC:
        return
    name, count, sig = _parse(_SPEC)
    if name != point:
        return
    with _lock:
        _counts[point] = _counts.get(point, 0) + 1
        hit = _counts[point] == count
    if hit:
        os.kill(os.getpid(), getattr(signal, f"SIG{sig}"))
