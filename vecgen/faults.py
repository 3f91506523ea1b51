"""Fault injection for the crash-safety tests: kill the process at a named point.

Set ``VECGEN_FAULT=POINT[:N[:SIGNAL]]`` and the ``N``-th time (default 1) the
run passes :func:`checkpoint` with that name it sends itself ``SIGNAL``
(``KILL`` by default; ``TERM`` or ``INT`` take the handled abort path). With
the variable unset, a checkpoint is a dictionary lookup. The points are listed
in :data:`POINTS`; ``tests/test_faults.py`` kills a run at every one of them.
"""

from __future__ import annotations

import os
import signal
import threading

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
)

_SPEC = os.environ.get("VECGEN_FAULT", "")
_counts: dict[str, int] = {}
_lock = threading.Lock()


def checkpoint(point: str) -> None:
    """Kill this process here if ``VECGEN_FAULT`` names ``point`` and this is its N-th pass.

    Examples
    --------
    >>> checkpoint("publish.rename")  # VECGEN_FAULT is unset: nothing happens

    """
    if not _SPEC:
        return
    name, _, rest = _SPEC.partition(":")
    if name != point:
        return
    count, _, sig = rest.partition(":")
    with _lock:
        _counts[point] = _counts.get(point, 0) + 1
        hit = _counts[point] == int(count or 1)
    if hit:
        os.kill(os.getpid(), getattr(signal, f"SIG{sig or 'KILL'}"))
