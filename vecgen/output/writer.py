"""The writer lanes: batches written on background threads while the next ones are generated."""

from __future__ import annotations

import collections
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import polars as pl

from vecgen.output.commit import Outputs
from vecgen.output.formats import Encoded, rows_of


class Writer:
    """Writes batches on background threads so encoding and I/O overlap generation.

    Every file gets its batches in order: one lane per source, worked one
    batch at a time. Lanes of different sources run at once on
    ``outputs.threads`` threads (Polars and pyarrow release the GIL while they
    encode), and a lane moves on to the next batch without waiting for the
    other files of this one, so no thread idles at the end of a batch. At most
    ``depth + 1`` batches are held (memory stays bounded): :meth:`put` blocks
    until the oldest one is written. With a ``budget`` (bytes), a file waits to
    be queued while the files queued and not yet written hold that much: when
    the disk is slower than generation, the frames waiting for it no longer
    pile up to two whole batches. The first error is re-raised in the
    generating thread; the writes queued after it are dropped.
    """

    def __init__(self, outputs: Outputs, depth: int = 1, budget: int = 0) -> None:
        self.outputs = outputs
        self.depth = depth
        self.budget = budget
        self.queued = 0  # bytes of the files queued and not yet written
        self.row_bytes: dict[str, float] = {}  # a source's bytes per row, from its first frame
        self.slots = threading.Semaphore(depth + 1)
        self.lock = threading.Lock()
        self.room = threading.Condition(self.lock)  # notified when a queued file is written
        self.lanes: dict[str, collections.deque[tuple[pl.DataFrame | Encoded, list[int], int]]] = {}
        self.busy: set[str] = set()
        self.error: BaseException | None = None
        self.pool = ThreadPoolExecutor(outputs.threads, thread_name_prefix="vecgen-write")

    def put(self, items: Sequence[tuple[str, pl.DataFrame | Encoded]]) -> None:
        """Queue one batch (blocks while ``depth + 1`` are unwritten); raise a writer error."""
        if not items:
            self.check()
            return
        batch = self.begin(len(items))
        # Largest first, so the threads finish the batch together.
        for source, frame in sorted(items, key=lambda item: -rows_of(item[1])):
            self.put_one(batch, source, frame)

    def begin(self, files: int) -> list[int]:
        """Start a batch of ``files`` files (blocks while ``depth + 1`` are unwritten).

        Returns the batch's handle for :meth:`put_one`, which queues its files one
        by one as they are made; raises a writer error.
        """
        self.check()
        if files:  # (a batch of no files is never written: it takes no slot, or none comes back)
            self.slots.acquire()
        return [files]  # files of this batch not written yet

    def put_one(self, batch: list[int], source: str, frame: pl.DataFrame | Encoded) -> None:
        """Queue one file of a batch that :meth:`begin` started; raise a writer error."""
        self.check()
        size = self._size(source, frame) if self.budget else 0
        with self.lock:
            while (
                self.budget and self.queued and self.queued + size > self.budget and not self.error
            ):
                self.room.wait()
            self.check()
            self.queued += size
            self.lanes.setdefault(source, collections.deque()).append((frame, batch, size))
            if source in self.busy:
                return
            self.busy.add(source)
        self.pool.submit(self._step, source)

    def _size(self, source: str, frame: pl.DataFrame | Encoded) -> int:
        """Bytes ``frame`` holds: measured on a source's first frame, scaled by rows after.

        Measuring a frame of text walks every value (Polars' ``estimated_size``, ~8 ms
        for a batch's truth, holding the GIL); a source's rows weigh about the same
        from one batch to the next.
        """
        if not isinstance(frame, pl.DataFrame):
            return size_of(frame)
        if source not in self.row_bytes:
            if not frame.height:
                return size_of(frame)
            self.row_bytes[source] = size_of(frame) / frame.height
        return int(frame.height * self.row_bytes[source])

    def _step(self, source: str) -> None:
        """Write the oldest queued batch of ``source``; queue the lane again if it has more."""
        with self.lock:
            frame, left, size = self.lanes[source].popleft()
        try:
            if self.error is None:
                self.outputs.write(source, frame)
        except BaseException as exc:  # handed to the generating thread
            with self.lock:
                self.error = self.error or exc
        del frame
        with self.lock:
            self.queued -= size
            self.room.notify_all()
            left[0] -= 1
            if left[0] == 0:
                self.slots.release()
            more = bool(self.lanes[source])
            if not more:
                self.busy.discard(source)
        if more:
            try:
                self.pool.submit(self._step, source)
            except RuntimeError:  # shut down by abort(): nothing more is written
                pass

    def check(self) -> None:
        """Raise the writer's error, if any."""
        if self.error is not None:
            raise self.error

    def close(self) -> None:
        """Wait for every queued batch to be written; raise a writer error."""
        for _ in range(self.depth + 1):
            self.slots.acquire()
        self.pool.shutdown(wait=True)
        self.check()

    def abort(self) -> None:
        """Drop the queued writes and wait for the running ones (after a failure)."""
        with self.lock:
            self.error = self.error or RuntimeError("run aborted")
            self.room.notify_all()
        # Queued steps now return at once; a lane that would queue itself again
        # after this finds the pool shut down and is dropped (see _step).
        self.pool.shutdown(wait=True)


def size_of(item: pl.DataFrame | Encoded) -> int:
    """Bytes a queued file holds: a frame's buffers, or a worker's encoded payloads.

    Examples
    --------
    >>> size_of(pl.DataFrame({"n": [1, 2, 3]}))
    24

    """
    if isinstance(item, pl.DataFrame):
        return int(item.estimated_size())
    total = 0
    for payload in item.payloads.values():
        parts = payload if isinstance(payload, tuple) else (payload,)
        total += sum(
            len(p) if isinstance(p, bytes) else int(getattr(p, "nbytes", 0)) for p in parts
        )
    return total
